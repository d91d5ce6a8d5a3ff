"""Browser-session cookies and the CSRF double-submit check.

The sessions themselves are stored through the service layer
(``application.browser_sessions.BrowserSessions``, on the ``BrowserSessionRepository`` port:
the ``browser_sessions`` table of migration 0005), so a restart signs nobody out. This module
holds what is HTTP: the cookie names, setting the cookies, and the CSRF comparison.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from msinfusion.application.browser_sessions import BrowserSessions
from msinfusion.application.records import BrowserSession

SESSION_COOKIE = "msinfusion_session"
CSRF_COOKIE = "msinfusion_csrf"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_CSRF_COOKIE = "msinfusion_login_csrf"
"""A pre-session double-submit token for the sign-in form (login CSRF)."""

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "BrowserSession",
    "BrowserSessions",
    "csrf_matches",
    "is_cross_site",
    "new_login_csrf",
    "set_session_cookies",
]


def csrf_matches(expected: str, presented: object) -> bool:
    """Whether ``presented`` (a header or form value, or None) is the session's CSRF token.

    The one decision for the JSON API (``auth.py``) and the form pages (``ui/access.py``);
    anything but a string is refused, and the comparison takes constant time.
    """
    if not isinstance(presented, str) or not expected:
        return False
    try:
        return hmac.compare_digest(expected.encode(), presented.encode())
    except UnicodeEncodeError:
        return False


def is_cross_site(request: Request) -> bool:
    """Whether the browser says this request comes from another site (``Sec-Fetch-Site``), or
    its ``Origin`` is not this server's. Requests without either (curl, integrations) pass."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:  # what a modern browser says of itself decides
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") != own


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookies(
    response: Response,
    session_id: str,
    session: BrowserSession,
    *,
    max_age: int,
    secure: bool,
) -> None:
    """The HttpOnly session cookie and the readable CSRF cookie, SameSite=Strict."""
    for name, value, http_only in (
        (SESSION_COOKIE, session_id, True),
        (CSRF_COOKIE, session.csrf_token, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=http_only,
            secure=secure,
            samesite="strict",
            path="/",
        )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
