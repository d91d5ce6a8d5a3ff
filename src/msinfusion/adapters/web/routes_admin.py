"""Sign-in and sign-out, users and API tokens, the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.browser_sessions import CSRF_COOKIE, SESSION_COOKIE
from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import (
    AuditOut,
    LoginIn,
    MeOut,
    Moment,
    NewTokenOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from msinfusion.adapters.web.routes_records import PathId

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


@router.post("/auth/login", tags=["auth"])
def login(request: Request, response: Response, body: LoginIn) -> MeOut:
    """Check the password; set the HttpOnly session cookie and the readable CSRF cookie.

    Send the returned ``csrf_token`` as ``X-CSRF-Token`` with every POST/PATCH/DELETE.
    """
    context = web_context(request)
    now = context.clock()
    principal = context.centre.accounts.login(
        body.username, body.password, at=now, remote_addr=client_address(request)
    )
    session_id, session = context.browser_sessions.open(principal.user_id, now)
    max_age = int(context.settings.session_lifetime.total_seconds())
    secure = context.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        session.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role,
        csrf_token=session.csrf_token,
    )


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, response: Response, actor: ActorDep) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        web_context(request).browser_sessions.close(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/auth/me", tags=["auth"])
def me(actor: ActorDep) -> MeOut:
    return MeOut(user_id=actor.user_id, username=actor.username, role=actor.role)


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
    """A new API token for the user; the raw token is in this response only."""
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
