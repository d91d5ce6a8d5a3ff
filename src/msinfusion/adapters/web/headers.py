"""Security headers on every answer (pure ASGI middleware), and the local API docs page.

* ``Content-Security-Policy``: scripts and styles only from this server, no inline script
  (the templates have none: ``base.html`` loads ``/static`` files), inline ``style``
  *attributes* only (the progress bars' widths), no plugins, no framing
  (``frame-ancestors 'none'``), forms post only here.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options:
  DENY`` (older browsers), ``Permissions-Policy`` denying camera, microphone and location,
  ``Cross-Origin-Opener-Policy: same-origin``; ``Strict-Transport-Security`` over HTTPS.
* ``Cache-Control: no-store`` on everything but ``/static`` and the docs' assets: pages and API
  answers carry patient data and must not stay in a shared or browser cache.
"""

from __future__ import annotations

import html

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
"""Swagger UI sets inline styles; its scripts still come from this server only."""

DOCS_ASSETS = "/api/docs-assets"
STATIC_PREFIXES = ("/static/", DOCS_ASSETS + "/")

_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def security_headers(path: str, scheme: str) -> list[tuple[bytes, bytes]]:
    """The headers added to the answer for ``path``.

    >>> dict(security_headers("/api/patients", "https"))[b"cache-control"]
    b'no-store'
    >>> b"cache-control" in dict(security_headers("/static/app.css", "https"))
    False
    """
    csp = DOCS_CSP if path == "/api/docs" or path.startswith(DOCS_ASSETS) else CSP
    headers = [(b"content-security-policy", csp.encode()), *_COMMON]
    if not path.startswith(STATIC_PREFIXES):
        headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
    if scheme == "https":
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeaders:
    """Adds ``security_headers`` to every HTTP answer, replacing any of the same name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope.get("path", ""), scope.get("scheme", "http"))
        names = {name for name, _ in extra}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def docs_page(title: str) -> str:
    """Swagger UI on the local ``swagger-ui-bundle`` assets, started by ``/static/api-docs.js``
    (no inline script, nothing loaded from outside)."""
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)} · API docs</title>
  <link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
  <script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""
