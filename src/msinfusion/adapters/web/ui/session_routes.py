"""Chairside routes: check in an appointment, show a session, send one command from a form.

A command is stamped with the request time (the app's clock, as every API command is), parsed
into its typed command and sent with the version the form was rendered at, on the one command
path (one transaction). The answer is the chairside fragment again, rendered from the command's
outcome (no second read), with what was recorded, or with the refusal and the rule that refused
it (nothing stored); a dose refused by its gates (``GateBlocked``) lists each gate and its
reason, with a link to the patient page where the missing result or finding is recorded.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.session_commands import typed_command
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, require_csrf, to_login
from msinfusion.adapters.web.ui.chairside import (
    OVERRIDABLE_RULES,
    build_chairside,
    plan_start,
    to_decimal,
)
from msinfusion.adapters.web.ui.forms import command_from_form, expected_version, occurred_at
from msinfusion.application.permissions import COMMAND_ACTIONS, Action, is_allowed
from msinfusion.application.sessions import ChairsideView
from msinfusion.errors import (
    CommandRefused,
    ConcurrencyError,
    CsrfFailed,
    GateBlocked,
    MsinfusionError,
)
from msinfusion.planning import InfusionPlan
from msinfusion.session.commands import CheckIn


def _exact(value: Decimal | None) -> Fraction | None:
    return None if value is None else Fraction(value)


router = APIRouter(include_in_schema=False)


def _plan(request: Request, viewer: Viewer, read: ChairsideView) -> InfusionPlan | None:
    view, patient = read.view, read.patient
    state = view.state
    if not state.protocol_id:
        return None
    centre = web_context(request).centre
    try:
        return centre.catalog.plan(
            viewer.actor,
            state.protocol_id,
            start_at=plan_start(view, viewer.actor.at),
            dose_number=state.dose_number,
            height_cm=None if patient is None else patient.height_cm,
            weight_kg=None if patient is None else patient.weight_kg,
            bag_volume_ml=to_decimal(state.bag_volume_ml) if state.bag_volume_ml else None,
            course_day=state.course_day,
        )
    except MsinfusionError:
        return None  # the plan is a guide; the session itself is shown regardless


def _chairside_context(request: Request, viewer: Viewer, read: ChairsideView) -> dict[str, Any]:
    """The page's context from one read of the session (or a command's outcome)."""
    context = web_context(request)
    centre, zone = context.centre, context.settings.zone
    state = read.view.state
    protocol = centre.catalog.protocol(state.protocol_id) if state.protocol_id else None
    chairside = build_chairside(
        session_id=read.session_id,
        version=read.version,
        view=read.view,
        protocol=protocol,
        plan=_plan(request, viewer, read),
        now=viewer.actor.at,
        zone=zone,
        ordered_premedications=dict(read.ordered_premedications),
    )
    may = {name: is_allowed(viewer.actor.role, action) for name, action in COMMAND_ACTIONS.items()}
    policy = context.settings.charting
    local_now = viewer.actor.at.astimezone(zone)
    return {
        "zone_name": str(zone),
        "when_min": (local_now - policy.reach_back).strftime("%Y-%m-%dT%H:%M"),
        "when_max": (local_now + policy.future_tolerance).strftime("%Y-%m-%dT%H:%M"),
        "late_after_min": int(policy.late_after.total_seconds() // 60),
        "c": chairside,
        "patient": read.patient,
        "protocol": protocol,
        "may": may,
        "may_override": viewer.may(Action.OVERRIDE_SOFT_LIMIT),
        "flash": None,
        "refusal": None,
    }


def _session_context(request: Request, viewer: Viewer, session_id: str) -> dict[str, Any]:
    zone = web_context(request).settings.zone
    read = web_context(request).centre.sessions.get(
        viewer.actor, session_id, at=None, display_tz=zone
    )
    return _chairside_context(request, viewer, read)


def _page(
    request: Request,
    viewer: Viewer,
    session_id: str,
    *,
    status_code: int = 200,
    read: ChairsideView | None = None,
    **extra: Any,
) -> Response:
    """The full page, or the ``#chairside`` fragment for HTMX; from ``read`` when given."""
    try:
        context = (
            _session_context(request, viewer, session_id)
            if read is None
            else _chairside_context(request, viewer, read)
        )
    except MsinfusionError as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    template = "_chairside.html" if request.headers.get("HX-Request") == "true" else "session.html"
    return render(request, template, viewer, status_code=status_code, **{**context, **extra})


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _page(request, viewer, session_id)


@router.get("/ui/sessions/{session_id}", response_class=HTMLResponse)
def session_fragment(request: Request, session_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        context = _session_context(request, viewer, session_id)
    except MsinfusionError as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    return render(request, "_chairside_live.html", viewer, **context)


def _refusal(error: MsinfusionError, name: str, fields: dict[str, list[str]]) -> dict[str, Any]:
    status, code = classify(error)
    rule = error.rule if isinstance(error, CommandRefused) else None
    message = error.reason if isinstance(error, CommandRefused) else error.message
    retry = {k: v for k, v in fields.items() if k not in ("csrf_token", "override_reason")}
    return {
        "status": status,
        "code": code,
        "rule": rule,
        "message": message,
        "field": error.field,
        "command": name,
        "overridable": rule in OVERRIDABLE_RULES,
        "retry_fields": retry,
        "conflict": isinstance(error, ConcurrencyError),
        "gates": blocking_gates(error) if isinstance(error, GateBlocked) else (),
        "stage": error.stage if isinstance(error, GateBlocked) else None,
    }


def blocking_gates(error: GateBlocked) -> tuple[tuple[str, str], ...]:
    """(gate id, status and reason) of each gate that refused the dose, in the engine's order.

    Each reason is ``"<gate id> <status>: <reason>"`` (``planning.gates.require_clear``); the
    id is shown on its own, so it is taken off the front of its line."""
    return tuple(
        (gate_id, reason.removeprefix(f"{gate_id} "))
        for gate_id, reason in zip(error.gate_ids, error.reasons, strict=True)
    )


@router.post("/sessions/{session_id}/commands/{name}", response_class=HTMLResponse)
async def send_command(request: Request, session_id: str, name: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    form = await request.form()
    fields = {key: [str(v) for v in form.getlist(key)] for key in form}
    try:
        require_csrf(request, viewer, {k: v[-1] for k, v in fields.items()})
    except CsrfFailed as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    context = web_context(request)
    try:
        when = occurred_at(fields, now=viewer.actor.at, zone=context.settings.zone)
        command = typed_command(viewer.actor, command_from_form(name, fields, at=when))
        outcome = context.centre.sessions.handle(
            viewer.actor,
            session_id,
            command,
            # An acknowledgement answers the alert, not the screen's version: a device reading
            # arriving meanwhile must not refuse it (the API does the same).
            expected_version=None if name == "AcknowledgeAlert" else expected_version(fields),
            display_tz=context.settings.zone,
        )
    except MsinfusionError as error:
        refusal = _refusal(error, name, fields)
        if refusal["status"] in (401, 403):
            status, code = classify(error)
            return render(request, "error.html", viewer, status_code=status, code=code, error=error)
        return _page(request, viewer, session_id, status_code=refusal["status"], refusal=refusal)
    sequences = {e.sequence for e in outcome.events}
    lines = [entry.to_line(context.settings.zone) for entry in outcome.view.entries]
    recorded = [
        line
        for entry, line in zip(outcome.view.entries, lines, strict=True)
        if entry.sequence in sequences
    ]
    return _page(
        request,
        viewer,
        session_id,
        read=outcome.read,
        flash={
            "recorded": [e.event.TYPE for e in outcome.events],
            "lines": recorded,
            "command": name,
        },
    )


def _pump_panel(
    request: Request,
    viewer: Viewer,
    session_id: str,
    *,
    status_code: int = 200,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The chairside's pump panel (its own audited read, loaded by the page; the command
    path's one write stays one)."""
    try:
        panel = web_context(request).centre.pump_orders.pump_panel(viewer.actor, session_id)
    except MsinfusionError as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    return render(
        request,
        "_pump_panel.html",
        viewer,
        status_code=status_code,
        session_id=session_id,
        pump=panel,
        may_associate_pump=viewer.may(Action.ASSOCIATE_PUMP),
        refusal=refusal,
    )


@router.get("/ui/sessions/{session_id}/pump", response_class=HTMLResponse)
def pump_fragment(request: Request, session_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _pump_panel(request, viewer, session_id)


@router.post("/sessions/{session_id}/pump", response_class=HTMLResponse)
async def associate_pump(request: Request, session_id: str) -> Response:
    """The nurse scans (or types) the pump's serial number at the chair."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    form = await request.form()
    fields = {key: str(form.get(key, "")) for key in form}
    try:
        require_csrf(request, viewer, fields)
        web_context(request).centre.pump_orders.associate_with_session(
            viewer.actor, fields.get("pump_id", ""), session_id
        )
    except MsinfusionError as error:
        refusal = _refusal(error, "AssociatePump", {})
        if refusal["status"] in (401, 403):
            status, code = classify(error)
            return render(request, "error.html", viewer, status_code=status, code=code, error=error)
        return _pump_panel(
            request, viewer, session_id, status_code=refusal["status"], refusal=refusal
        )
    return _pump_panel(request, viewer, session_id)


def _identified(check_in: CheckIn, form: Any, display_name: str) -> CheckIn:
    """The check-in with the identity check the nurse did at the chair: an identifier typed or
    scanned, or the name the patient stated (confirmed against the one shown) with the date of
    birth they stated. Nothing given: the engine refuses the check-in."""
    identifier = str(form.get("identifier") or "").strip()
    if identifier:
        scanned = str(form.get("scanned") or "") == "true"
        return replace(
            check_in,
            identity_check="wristband" if scanned else "identifier",
            confirmed_identifier=identifier,
        )
    birth = str(form.get("birth_date") or "").strip()
    if birth:
        stated = str(form.get("name_confirmed") or "") == "true"
        return replace(
            check_in,
            identity_check="name-and-birth-date",
            confirmed_name=display_name if stated else "",
            confirmed_birth_date=birth,
        )
    return check_in


@router.post("/appointments/{appointment_id}/check-in", response_class=HTMLResponse)
async def check_in(request: Request, appointment_id: str) -> Response:
    """Open the appointment's session and check the patient in (two service calls)."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    form = await request.form()
    centre = web_context(request).centre
    try:
        require_csrf(request, viewer, {k: str(v) for k, v in form.items()})
        appointment = centre.queries.get_appointment(viewer.actor, appointment_id)
        patient = centre.queries.get_patient(viewer.actor, appointment.patient_id)
        session_id = appointment.session_id or centre.sessions.open_session(
            viewer.actor, appointment_id=appointment_id
        )
        read = centre.sessions.get(
            viewer.actor, session_id, at=None, display_tz=web_context(request).settings.zone
        )
        if read.version == 0:
            check_in = CheckIn(
                at=viewer.actor.at,
                user=viewer.actor.username,
                patient_id=patient.id,
                protocol_id=appointment.protocol_id,
                dose_number=appointment.dose_number,
                height_cm=_exact(patient.height_cm),
                weight_kg=_exact(patient.weight_kg),
            )
            check_in = _identified(check_in, form, patient.display_name)
            centre.sessions.handle(
                viewer.actor,
                session_id,
                check_in,
                expected_version=0,
                display_tz=web_context(request).settings.zone,
            )
    except MsinfusionError as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    target = f"/sessions/{session_id}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return Response(status_code=303, headers={"Location": target})
