"""Who is looking at a page: the browser session cookie (the same one the JSON API uses).

Pages (GET) need a live session; without one the browser is sent to ``/login``. Every form
post must carry the session's CSRF token, as the ``X-CSRF-Token`` header (HTMX adds it to every
request from the page's ``hx-headers``) or as the ``csrf_token`` form field (plain forms) —
the same double-submit check as the API, against the server-side session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.browser_sessions import CSRF_HEADER, SESSION_COOKIE, csrf_matches
from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.adapters.web.ui import globals_for, templates
from msinfusion.application.accounts import principal_of
from msinfusion.application.audit import Actor
from msinfusion.application.permissions import Action, is_allowed
from msinfusion.errors import CsrfFailed

CSRF_FIELD = "csrf_token"

NAVIGATION = (
    ("board", "/", "Chair board", Action.READ_BOARD),
    ("schedule", "/schedule", "Day plan", Action.PLAN_SCHEDULE),
    ("patients", "/patients", "Patients", Action.READ_PATIENT),
    ("worklist", "/worklist", "Worklist", Action.READ_WORKLIST),
    ("protocols", "/protocols", "Protocols", Action.READ_CATALOG),
    ("register", "/patients/new", "Register", Action.WRITE_PATIENT),
    ("order", "/orders/new", "New order", Action.WRITE_ORDER),
    ("book", "/appointments/new", "Book", Action.BOOK_APPOINTMENT),
    ("pharmacy", "/pharmacy", "Pharmacy", Action.VERIFY_DOSE),
    ("users", "/admin/users", "Users", Action.MANAGE_USERS),
    ("audit", "/admin/audit", "Audit", Action.READ_AUDIT),
)
"""Navigation entries; each is shown only to roles that may take its action."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Viewer:
    """The signed-in user of a page and the session's CSRF token (rendered into the page)."""

    actor: Actor
    csrf_token: str

    def may(self, action: Action) -> bool:
        return is_allowed(self.actor.role, action)


def current_viewer(request: Request, *, pending_password: bool = False) -> Viewer | None:
    """The signed-in user, or None when there is no live browser session — or when an
    administrator reset the user's password and it is not changed yet (only the ``/password``
    page passes ``pending_password=True``)."""
    context = web_context(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        return None
    now = context.clock()
    found = context.browser_sessions.signed_in(session_id, now)
    if found is None:
        return None
    session, user = found
    principal = principal_of(user)
    if principal.must_change_password and not pending_password:
        return None
    actor = principal.acting(now, client_address(request))
    return Viewer(actor=actor, csrf_token=session.csrf_token)


def require_csrf(request: Request, viewer: Viewer, form: dict[str, Any]) -> None:
    """Refuse a change whose CSRF token (header or form field) does not match the session."""
    token = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not csrf_matches(viewer.csrf_token, token):
        raise CsrfFailed()


def to_login(request: Request) -> Response:
    """Send the browser to the sign-in page (HTMX requests get ``HX-Redirect``)."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def render(
    request: Request,
    name: str,
    viewer: Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` with what every page needs: user, navigation, CSRF token, clock, zone."""
    web = web_context(request)
    zone = web.settings.zone
    nav = [] if viewer is None else [n for n in NAVIGATION if viewer.may(n[3])]
    base: dict[str, Any] = {
        "viewer": viewer,
        "page": "",
        "nav": nav,
        "zone_name": web.settings.centre_timezone,
        "now": web.clock(),
        "csrf_token": "" if viewer is None else viewer.csrf_token,
        "Action": Action,
        **globals_for(zone),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
