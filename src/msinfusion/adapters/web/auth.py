"""Who is calling: an API bearer token, or a browser session cookie plus CSRF header.

Bearer tokens (``Authorization: Bearer msi_...``) are for integrations and need no CSRF token:
a browser never attaches them by itself. Cookie sessions must send the ``X-CSRF-Token`` header
(returned by login and set in the readable ``msinfusion_csrf`` cookie) with every unsafe method
(double-submit, checked against the stored session). No credentials: 401. A user whose
password an administrator reset may only change it, read ``/api/auth/me`` and sign out until
they do (``PasswordChangeRequired``, 403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from msinfusion.adapters.web.browser_sessions import CSRF_HEADER, SESSION_COOKIE, csrf_matches
from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.application.accounts import Principal
from msinfusion.application.audit import Actor
from msinfusion.errors import AuthenticationFailed, CsrfFailed, PasswordChangeRequired

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WHILE_PASSWORD_RESET = frozenset({"/api/auth/me", "/api/auth/password", "/api/auth/logout"})
"""What a user whose password was reset may still reach."""


def _principal(request: Request) -> Principal:
    context = web_context(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        return context.centre.accounts.authenticate_token(token.strip())
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise AuthenticationFailed("sign in (POST /api/auth/login) or send a bearer token")
    session = context.browser_sessions.get(session_id, context.clock())
    if session is None:
        raise AuthenticationFailed("the session has ended; sign in again")
    if request.method not in SAFE_METHODS and not csrf_matches(
        session.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed()
    return context.centre.accounts.get_principal(session.user_id)


def current_actor(request: Request) -> Actor:
    """The authenticated caller, stamped with the request time and address."""
    principal = _principal(request)
    if principal.must_change_password and request.url.path not in WHILE_PASSWORD_RESET:
        raise PasswordChangeRequired()
    return principal.acting(web_context(request).clock(), client_address(request))


ActorDep = Annotated[Actor, Depends(current_actor)]
