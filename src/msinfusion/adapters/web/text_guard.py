"""Free text must be valid Unicode: refuse a JSON body holding a lone surrogate, with 422.

JSON lets a client write ``"\\udc00"`` — a UTF-16 surrogate with no partner, which is no
character at all and cannot be encoded as UTF-8. Such a string was stored on SQLite (as the
escape) and then broke every read of the record (500), and PostgreSQL refused it (500). This
pure ASGI middleware reads JSON request bodies (already bounded by ``BodySizeLimit``), and
answers 422 ``invalid-input`` naming the field (``notes.0.text``) before any route sees one.
Form posts cannot carry one: their bytes are decoded as UTF-8. Session command text is also
checked in the core (``session.interchange._guard_text``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from msinfusion.adapters.web.errors import error_body

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAY_HOLD_ONE = re.compile(rb"\\u[dD][89a-fA-F]", re.IGNORECASE)


def surrogate_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a lone surrogate, or None.

    >>> surrogate_field({"notes": [{"text": "ok"}, {"text": "\\udc00"}]})
    'notes.1.text'
    >>> surrogate_field({"text": "\\U0001f600 emoji is fine"}) is None
    True
    """
    if isinstance(value, str):
        return (path or "body") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _SURROGATE.search(str(key)):
                return path or "body"
            found = surrogate_field(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = surrogate_field(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class ValidUnicode:
    """Refuse JSON bodies with lone surrogates (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        field = _field_with_surrogate(body)
        if field is not None:
            await _refuse(send, field)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _field_with_surrogate(body: bytes) -> str | None:
    if not _MAY_HOLD_ONE.search(body):  # the cheap test first: no \\uD8xx-\\uDFxx escape
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's own parsing answers
    return surrogate_field(document)


async def _refuse(send: Send, field: str) -> None:
    message = f"{field}: text must be valid Unicode (a lone surrogate is not a character)"
    payload = json.dumps(error_body("invalid-input", message, field)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
