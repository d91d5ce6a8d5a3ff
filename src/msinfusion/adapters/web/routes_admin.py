"""Sign-in and sign-out, users and API tokens, the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.browser_sessions import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    is_cross_site,
    set_session_cookies,
)
from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import (
    AuditOut,
    LoginIn,
    MeOut,
    Moment,
    NewTokenOut,
    PasswordChangeIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.application.accounts import Principal
from msinfusion.errors import CsrfFailed

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


def _me(principal: Principal, csrf_token: str | None = None) -> MeOut:
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role,
        csrf_token=csrf_token,
        must_change_password=principal.must_change_password,
        password_reset_at=principal.password_reset_at,
    )


@router.post("/auth/login", tags=["auth"])
def login(request: Request, response: Response, body: LoginIn) -> MeOut:
    """Check the password; set the HttpOnly session cookie and the readable CSRF cookie.

    Send the returned ``csrf_token`` as ``X-CSRF-Token`` with every POST/PATCH/DELETE. A post
    from another site (``Origin`` or ``Sec-Fetch-Site``) is refused (login CSRF). When
    ``must_change_password`` is true, an administrator reset the password (at
    ``password_reset_at``): only ``POST /api/auth/password`` is allowed until it is changed.
    """
    if is_cross_site(request):
        raise CsrfFailed()
    context = web_context(request)
    now = context.clock()
    principal = context.centre.accounts.login(
        body.username, body.password, at=now, remote_addr=client_address(request)
    )
    session_id, session = context.browser_sessions.open(principal.user_id, now)
    set_session_cookies(
        response,
        session_id,
        session,
        max_age=int(context.settings.session_lifetime.total_seconds()),
        secure=context.settings.cookie_secure,
    )
    return _me(principal, session.csrf_token)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, response: Response, actor: ActorDep) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        web_context(request).browser_sessions.close(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/auth/me", tags=["auth"])
def me(request: Request, actor: ActorDep) -> MeOut:
    return _me(web_context(request).centre.accounts.get_principal(actor.user_id))


@router.post("/auth/password", status_code=204, tags=["auth"])
def change_password(request: Request, actor: ActorDep, body: PasswordChangeIn) -> None:
    """Change your own password. Every other browser session of yours ends and every API
    token of yours is revoked; this browser stays signed in."""
    web_context(request).centre.accounts.change_password(
        actor,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session=request.cookies.get(SESSION_COOKIE),
    )


@router.get("/users", tags=["admin"])
def list_users(request: Request, actor: ActorDep) -> list[UserOut]:
    return [UserOut.of(u) for u in web_context(request).centre.accounts.list_users(actor)]


@router.post("/users", status_code=201, tags=["admin"])
def create_user(request: Request, actor: ActorDep, body: UserIn) -> UserOut:
    user = web_context(request).centre.accounts.create_user(
        actor,
        username=body.username,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
    )
    return UserOut.of(user)


@router.patch("/users/{user_id}", tags=["admin"])
def update_user(request: Request, actor: ActorDep, user_id: PathId, body: UserPatch) -> UserOut:
    """Change a role, activity, display name or password. A password set here is a reset: the
    user must change it at the next sign-in, and their sessions and tokens end. The last active
    admin cannot be demoted or deactivated (422)."""
    user = web_context(request).centre.accounts.update_user(
        actor,
        user_id,
        role=body.role,
        active=body.active,
        display_name=body.display_name,
        password=body.password,
    )
    return UserOut.of(user)


@router.get("/tokens", tags=["admin"])
def list_tokens(request: Request, actor: ActorDep) -> list[TokenOut]:
    return [TokenOut.of(t) for t in web_context(request).centre.accounts.list_tokens(actor)]


@router.post("/users/{user_id}/tokens", status_code=201, tags=["admin"])
def issue_token(request: Request, actor: ActorDep, user_id: PathId, body: TokenIn) -> NewTokenOut:
    """A new API token for yourself, or (admin) for a device account; the raw token is in this
    response only. A token for another person is refused (403): it would let its holder act
    in their name."""
    token, raw = web_context(request).centre.accounts.issue_token(actor, user_id, label=body.label)
    return NewTokenOut(**TokenOut.of(token).model_dump(), token=raw)


@router.post("/tokens/{token_id}/revoke", tags=["admin"])
def revoke_token(request: Request, actor: ActorDep, token_id: PathId) -> TokenOut:
    return TokenOut.of(web_context(request).centre.accounts.revoke_token(actor, token_id))


@router.get("/audit", tags=["admin"])
def list_audit(
    request: Request,
    actor: ActorDep,
    *,
    user_id: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] = None,
    resource_type: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_.-]+$")] = None,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditOut]:
    """The audit trail (admin): who read or changed what, when, from where."""
    entries = web_context(request).centre.queries.list_audit(
        actor, user_id=user_id, resource_type=resource_type, since=since, limit=limit
    )
    return [AuditOut.of(e) for e in entries]
