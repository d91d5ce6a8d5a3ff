"""The nurse UI's HTML routes under ``/``: sign-in, the chair board, patients, protocols.

Same cookie session and CSRF check as the JSON API (``ui/access.py``); every page reads through
the service layer (``Centre``), which checks permissions and writes the audit trail. Actions a
role may not take are not shown, and are refused by the service layer if posted anyway. The
chairside routes live in ``ui/session_routes.py``, the patient page and its clinical forms in
``routes_ui_patient.py``; both are included here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web import routes_ui_patient, routes_ui_tdm
from msinfusion.adapters.web.browser_sessions import (
    CSRF_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    is_cross_site,
    new_login_csrf,
    set_session_cookies,
)
from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.ui import pharmacy_routes, record_routes, session_routes
from msinfusion.adapters.web.ui.access import (
    Viewer,
    current_viewer,
    render,
    require_csrf,
    to_login,
)
from msinfusion.adapters.web.ui.board import board_rows
from msinfusion.adapters.web.ui.day_plan import day_plan_page, read_query, solver_choice
from msinfusion.adapters.web.ui.pages import protocol_page
from msinfusion.application.centre import Centre
from msinfusion.application.permissions import Action
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import AccessError, CsrfFailed, MsinfusionError

router = APIRouter(include_in_schema=False)
router.include_router(session_routes.router)
router.include_router(routes_ui_patient.router)
router.include_router(routes_ui_tdm.router)
router.include_router(pharmacy_routes.router)
router.include_router(record_routes.router)


def error_page(request: Request, viewer: Viewer | None, error: MsinfusionError) -> HTMLResponse:
    """The error tree's own status and message, as a page (or fragment for HTMX)."""
    status, code = classify(error)
    return render(request, "error.html", viewer, status_code=status, code=code, error=error)


def _safe_next(target: str | None) -> str:
    """Only local paths: a login form must not redirect off-site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_form(
    request: Request, *, next_path: str, message: str | None, status_code: int = 200
) -> Response:
    """The sign-in form with a fresh pre-session CSRF token (cookie + hidden field)."""
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        next=_safe_next(next_path),
        message=message,
        login_csrf=token,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=web_context(request).settings.cookie_secure,
        samesite="strict",
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if current_viewer(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next_path=_safe_next(next), message=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "/",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign in. Refused without the form's own CSRF token, or from another site (login CSRF:
    a forged post would sign the victim's browser in to the attacker's account)."""
    context = web_context(request)
    now = context.clock()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    try:
        if is_cross_site(request) or not csrf_matches(expected, csrf_token):
            raise CsrfFailed()
        principal = context.centre.accounts.login(
            username, password, at=now, remote_addr=client_address(request)
        )
    except AccessError as error:
        status, _ = classify(error)
        message = (
            "the sign-in form expired; please try again"
            if isinstance(error, CsrfFailed)
            else error.message
        )
        return _login_form(request, next_path=next, message=message, status_code=status)
    session_id, session = context.browser_sessions.open(principal.user_id, now)
    target = "/password" if principal.must_change_password else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(
        response,
        session_id,
        session,
        max_age=int(context.settings.session_lifetime.total_seconds()),
        secure=context.settings.cookie_secure,
    )
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    viewer = current_viewer(request, pending_password=True)
    if viewer is None:
        return to_login(request)
    return render(
        request, "password.html", viewer, message=None, **_password_context(request, viewer)
    )


def _password_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    principal = web_context(request).centre.accounts.get_principal(viewer.actor.user_id)
    return {"reset_at": principal.password_reset_at, "must_change": principal.must_change_password}


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request) -> Response:
    viewer = current_viewer(request, pending_password=True)
    if viewer is None:
        return to_login(request)
    form = dict(await request.form())
    require_csrf(request, viewer, form)
    try:
        web_context(request).centre.accounts.change_password(
            viewer.actor,
            current_password=str(form.get("current_password", ""))[:1000],
            new_password=str(form.get("new_password", ""))[:1000],
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except MsinfusionError as error:
        status, _ = classify(error)
        context = _password_context(request, viewer)
        return render(
            request,
            "password.html",
            viewer,
            status_code=status,
            message=error.message,
            **context,
        )
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is not None:
        form = await request.form()
        require_csrf(request, viewer, dict(form))
        web_context(request).browser_sessions.close(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _board_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    context = web_context(request)
    zone = context.settings.zone
    today = viewer.actor.at.astimezone(zone).date()
    rows = context.centre.queries.get_board(viewer.actor, today, zone)
    return {
        "rows": board_rows(rows, zone),
        "day": today,
        "flags": _course_flags(context.centre, viewer, [r.patient.id for r in rows], today),
    }


def _course_flags(
    centre: Centre, viewer: Viewer, patient_ids: list[str], today: date
) -> dict[str, tuple[str, ...]]:
    """Overdue or abnormal monitoring and blocked next doses per patient on the board (one
    call); a role that may not read courses sees the board without them."""
    if not patient_ids or not viewer.may(Action.READ_COURSE):
        return {}
    return centre.clinical.flags(viewer.actor, patient_ids, as_of=today)


@router.get("/", response_class=HTMLResponse)
def board_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    if not viewer.may(Action.READ_BOARD):
        return RedirectResponse("/protocols", status_code=303)
    try:
        return render(request, "board.html", viewer, **_board_context(request, viewer))
    except MsinfusionError as error:
        return error_page(request, viewer, error)


@router.get("/ui/board", response_class=HTMLResponse)
def board_fragment(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        return render(request, "_board.html", viewer, **_board_context(request, viewer))
    except MsinfusionError as error:
        return error_page(request, viewer, error)


@router.get("/schedule", response_class=HTMLResponse)
def day_plan(request: Request) -> Response:
    """Today's stored day, optimised as ``POST /api/schedule/day`` would (a proposal)."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    context = web_context(request)
    settings = context.settings
    try:
        query = read_query(request.query_params, settings.nurses_on_duty)
        page = day_plan_page(
            context.centre,
            viewer.actor,
            day=viewer.actor.at.astimezone(settings.zone).date(),
            zone=settings.zone,
            query=query,
            choice=solver_choice(
                query, settings.schedule_max_time_limit_s, settings.schedule_workers
            ),
            opens=settings.opens,
            closes=settings.closes,
        )
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return render(request, "schedule.html", viewer, **page)


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        patients = web_context(request).centre.queries.list_patients(viewer.actor)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    patients.sort(key=lambda p: p.display_name)
    return render(request, "patients.html", viewer, patients=patients)


@router.get("/protocols", response_class=HTMLResponse)
def protocols_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        protocols = web_context(request).centre.catalog.list_protocols(viewer.actor)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return render(request, "protocols.html", viewer, protocols=protocols)


@router.get("/protocols/{protocol_id}", response_class=HTMLResponse)
def protocol_detail(request: Request, protocol_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        web_context(request).centre.catalog.get_protocol(viewer.actor, protocol_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    catalog = shipped_catalog()
    protocol = catalog.get_protocol(protocol_id)
    page = protocol_page(catalog.therapy_of(protocol), protocol)
    return render(request, "protocol.html", viewer, **page)
