"""Administration pages: users (create, role, deactivate, reset password) and the audit viewer.

Both call ``Accounts`` and ``RecordQueries.search_audit``; the rules stay there (the last active
administrator cannot be demoted or deactivated, a reset forces a new password and ends the
user's sessions and tokens, tokens are issued only as ``Accounts.issue_token`` allows). A new or
reset password is typed by the administrator or, left empty, generated and shown once.
The audit viewer exports the same search as CSV (``?format=csv``).
"""

from __future__ import annotations

import csv
import io
from datetime import time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.page_forms import (
    Fields,
    Refusal,
    day,
    error_page,
    local_moment,
    posted_fields,
    refusal,
    required_text,
    text,
)
from msinfusion.application.accounts import generate_password
from msinfusion.application.permissions import Action
from msinfusion.application.queries import AuditSearch
from msinfusion.application.records import Role, User
from msinfusion.errors import InvalidCommand, MsinfusionError, PermissionDenied

router = APIRouter(include_in_schema=False)

ROLES = tuple(r for r in Role)


def _users_page(
    request: Request,
    viewer: Viewer,
    *,
    form_error: Refusal | None = None,
    shown_password: tuple[str, str] | None = None,
    values: Fields | None = None,
) -> Response:
    try:
        users = web_context(request).centre.accounts.list_users(viewer.actor)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return render(
        request,
        "admin_users.html",
        viewer,
        status_code=200 if form_error is None else form_error.status,
        users=sorted(users, key=lambda u: u.username),
        roles=ROLES,
        form_error=form_error,
        shown_password=shown_password,
        v=values or {},
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _users_page(request, viewer)


def _role(fields: Fields) -> Role:
    raw = fields.get("role", "")
    if raw not in {r.value for r in Role}:
        raise InvalidCommand(
            f"role must be one of {', '.join(r.value for r in Role)}", field="role"
        )
    return Role(raw)


@router.post("/admin/users", response_class=HTMLResponse)
async def create_user(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    password = fields.get("password", "") or generate_password()
    try:
        user = web_context(request).centre.accounts.create_user(
            viewer.actor,
            username=required_text(fields, "username", "the user name"),
            role=_role(fields),
            password=password,
            display_name=text(fields, "display_name"),
        )
    except MsinfusionError as error:
        shown = refusal("create", error)
        if shown.status == 403:
            return error_page(request, viewer, error)
        kept = {k: v for k, v in fields.items() if k not in ("csrf_token", "password")}
        return _users_page(request, viewer, form_error=shown, values=kept)
    shown_password = None if fields.get("password") else (user.username, password)
    return _users_page(request, viewer, shown_password=shown_password)


@router.post("/admin/users/{user_id}/{change}", response_class=HTMLResponse)
async def change_user(request: Request, user_id: str, change: str) -> Response:
    """``role`` (assign a role), ``active`` (activate or deactivate), ``reset`` (password)."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    accounts = web_context(request).centre.accounts
    shown_password = None
    try:
        if change == "role":
            accounts.update_user(viewer.actor, user_id, role=_role(fields))
        elif change == "active":
            accounts.update_user(viewer.actor, user_id, active=fields.get("active") == "yes")
        elif change == "reset":
            password = fields.get("password", "") or generate_password()
            user = accounts.update_user(viewer.actor, user_id, password=password)
            shown_password = None if fields.get("password") else (user.username, password)
        else:
            raise InvalidCommand(f"no such change: {change!r}", field="change")
    except MsinfusionError as error:
        shown = refusal(f"user-{user_id}", error)
        if shown.status == 403:
            return error_page(request, viewer, error)
        return _users_page(request, viewer, form_error=shown)
    if shown_password is not None:
        return _users_page(request, viewer, shown_password=shown_password)
    return RedirectResponse("/admin/users", status_code=303)


def _search(
    request: Request, viewer: Viewer, fields: Fields
) -> tuple[AuditSearch, dict[str, User]]:
    """The audit search of the query string; the user is given by user name."""
    zone = web_context(request).settings.zone
    if not viewer.may(Action.READ_AUDIT):
        raise PermissionDenied(role=viewer.actor.role.value, action="read the audit trail")
    users = {u.id: u for u in web_context(request).centre.accounts.list_users(viewer.actor)}
    user_id = None
    username = text(fields, "user")
    if username is not None:
        match = [u for u in users.values() if username in (u.username, u.id)]
        if not match:
            raise InvalidCommand(f"user: no user named {username!r}", field="user")
        user_id = match[0].id
    since, until = day(fields, "from"), day(fields, "to")
    if since and until and until < since:
        raise InvalidCommand("to must not be before from", field="to")
    search = AuditSearch(
        user_id=user_id,
        patient_id=text(fields, "patient"),
        action=text(fields, "action"),
        since=None if since is None else local_moment(since, _MIDNIGHT, zone),
        until=None if until is None else local_moment(until, _MIDNIGHT, zone) + timedelta(days=1),
    )
    return search, users


_MIDNIGHT = time(0, 0)


def _csv(entries: list[Any], names: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "sequence",
            "at",
            "user_id",
            "user",
            "action",
            "resource_type",
            "resource_id",
            "outcome",
            "remote_addr",
        ]
    )
    for e in entries:
        writer.writerow(
            [
                e.sequence,
                e.at.isoformat(),
                e.user_id or "",
                names.get(e.user_id or "", ""),
                e.action,
                e.resource_type,
                e.resource_id or "",
                e.outcome,
                e.remote_addr or "",
            ]
        )
    return out.getvalue()


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    fields = {k: v[:200] for k, v in request.query_params.items()}
    centre = web_context(request).centre
    form_error = None
    entries: list[Any] = []
    users: dict[str, User] = {}
    try:
        search, users = _search(request, viewer, fields)
        entries = centre.queries.search_audit(viewer.actor, search)
    except MsinfusionError as error:
        shown = refusal("audit", error)
        if shown.status in (401, 403):
            return error_page(request, viewer, error)
        form_error = shown
    names = {uid: u.display_name or u.username for uid, u in users.items()}
    names["system"] = "system"
    if fields.get("format") == "csv" and form_error is None:
        return Response(
            _csv(entries, names),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    query = urlencode([(k, v) for k, v in request.query_params.items() if k != "format"])
    return render(
        request,
        "admin_audit.html",
        viewer,
        status_code=200 if form_error is None else form_error.status,
        entries=entries,
        names=names,
        v=fields,
        form_error=form_error,
        csv_query=query,
    )
