"""Booking pages: book a visit from an order's calendar windows, reschedule, cancel.

``/appointments/new?order_id=...`` shows the order's doses with their windows, the chairs'
bookings that day and the visit's planned chair time (``CatalogQueries.plan``), and warns
before booking: a double booking, a chair already occupied, past closing, outside the dose
window, a blocked gate. The booking itself is ``RecordKeeping.book_appointment``, which refuses
the hard cases with its own rule (``duplicate``, ``gate-blocked``, ``dose-too-early``...);
a late dose or a visit past closing is booked only when the scheduler confirms the warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.course_page import course_panel
from msinfusion.adapters.web.ui.page_forms import (
    Fields,
    Refusal,
    clock,
    day,
    error_page,
    local_moment,
    posted_fields,
    refusal,
    required_text,
    whole,
)
from msinfusion.adapters.web.ui.pages import list_patient_appointments
from msinfusion.application.clinical_records import OrderCourse
from msinfusion.application.booking_rules import LIVE_BOOKING
from msinfusion.application.records import Appointment, OrderStatus
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)

OPENS = time(8, 0)
CLOSES = time(18, 0)
"""The centre day's hours the booking page warns against (the day plan's example hours,
``application.schedule_day.DaySettings``)."""
DEFAULT_TIME = time(9, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    dose: dict[str, Any] | None
    protocol_id: str
    protocol_ids: tuple[str, ...]
    on: date
    at: time
    chair_id: str


def _today(request: Request, viewer: Viewer) -> date:
    return viewer.actor.at.astimezone(web_context(request).settings.zone).date()


def _choice(fields: Fields, doses: list[dict[str, Any]], chairs: list[Any], today: date) -> Choice:
    number = whole(fields, "dose_number", low=1, high=1000)
    open_doses = [d for d in doses if d["status"] != "given" and not d["booked"]]
    dose = next((d for d in doses if d["dose_number"] == number), None) if number else None
    dose = dose or (open_doses[0] if open_doses else None)
    protocol_ids: tuple[str, ...] = ()
    if dose is not None:
        protocol_ids = (dose["protocol_id"], *dose["alternative_protocol_ids"])
    protocol_id = fields.get("protocol_id") or (protocol_ids[0] if protocol_ids else "")
    if protocol_ids and protocol_id not in protocol_ids:
        protocol_id = protocol_ids[0]
    default_day = today
    if dose is not None:
        default_day = max(date.fromisoformat(dose["due"]), today)
    return Choice(
        dose=dose,
        protocol_id=protocol_id,
        protocol_ids=protocol_ids,
        on=day(fields, "day") or default_day,
        at=clock(fields, "time") or DEFAULT_TIME,
        chair_id=fields.get("chair_id") or (chairs[0].id if chairs else ""),
    )


def _warnings(
    choice: Choice,
    *,
    start: datetime,
    end: datetime | None,
    zone: Any,
    day_bookings: list[Appointment],
    patient_bookings: list[Appointment],
    order_id: str,
    blocked: list[str],
) -> tuple[list[str], list[str]]:
    """(refusals to expect, warnings to confirm) for the chosen visit."""
    hard: list[str] = []
    soft: list[str] = []
    finish = end or start
    for other in day_bookings:
        same_chair = other.status in LIVE_BOOKING and other.chair_id == choice.chair_id
        if same_chair and other.starts_at < finish and start < other.ends_at:
            hard.append(
                f"Chair occupied: booked {other.starts_at.astimezone(zone):%H:%M} to "
                f"{other.ends_at.astimezone(zone):%H:%M}."
            )
    for other in patient_bookings:
        if other.status not in LIVE_BOOKING:
            continue
        same_dose = (
            choice.dose is not None
            and other.order_id == order_id
            and other.dose_number == choice.dose["dose_number"]
        )
        if same_dose or (other.starts_at < finish and start < other.ends_at):
            hard.append(
                f"Double booking: the patient is booked on "
                f"{other.starts_at.astimezone(zone):%Y-%m-%d %H:%M} (dose {other.dose_number})."
            )
    if choice.dose is not None:
        earliest = date.fromisoformat(choice.dose["earliest"])
        latest = date.fromisoformat(choice.dose["latest"])
        if choice.on < earliest:
            hard.append(f"Outside the dose window: the earliest date is {earliest}.")
        elif choice.on > latest:
            soft.append(f"Outside the dose window: the latest date was {latest} (a late dose).")
    local_start = start.astimezone(zone)
    if local_start.time() < OPENS:
        soft.append(f"Before opening: the centre opens at {OPENS:%H:%M}.")
    if end is not None and end.astimezone(zone) > datetime.combine(choice.on, CLOSES, zone):
        soft.append(
            f"Past closing: the visit ends at {end.astimezone(zone):%H:%M}, the centre closes "
            f"at {CLOSES:%H:%M}."
        )
    hard.extend(f"Blocked gate: {reason}" for reason in blocked)
    return hard, soft


def booking_context(request: Request, viewer: Viewer, fields: Fields) -> dict[str, Any]:
    """The booking page for ``fields['order_id']`` (raises the service layer's errors)."""
    context = web_context(request)
    centre, zone = context.centre, context.settings.zone
    today = _today(request, viewer)
    order = centre.queries.get_order(viewer.actor, fields.get("order_id", ""))
    patient = centre.queries.get_patient(viewer.actor, order.patient_id)
    check = centre.courses.check(
        viewer.actor, patient.id, {"order_id": order.id, "as_of": today.isoformat()}
    )
    panel = course_panel(OrderCourse(order=order, check=check))
    bookings = list_patient_appointments(centre, viewer.actor, patient.id)
    live = {
        a.dose_number: a for a in bookings if a.order_id == order.id and a.status in LIVE_BOOKING
    }
    doses = [{**d, "booked": live.get(d["dose_number"])} for d in panel.check["calendar"]["doses"]]
    chairs = [c for c in centre.queries.list_chairs(viewer.actor) if c.active]
    choice = _choice(fields, doses, chairs, today)
    start = local_moment(choice.on, choice.at, zone)
    plan_error: str | None = None
    end: datetime | None = None
    chair_minutes: int | None = None
    if choice.protocol_id:
        try:
            plan = centre.catalog.plan(
                viewer.actor,
                choice.protocol_id,
                start_at=start,
                dose_number=None if choice.dose is None else choice.dose["dose_number"],
                height_cm=patient.height_cm,
                weight_kg=patient.weight_kg,
            )
            end = start + plan.chair_time
            chair_minutes = int(plan.chair_time / timedelta(minutes=1))
        except MsinfusionError as error:
            plan_error = error.message
    day_bookings = centre.queries.list_appointments(viewer.actor, choice.on, zone)
    next_number = panel.next_dose["dose_number"] if panel.next_dose else None
    blocked = [
        f"{g['gate_id']}: {g['reason']}"
        for g in panel.failed
        if choice.dose is not None and choice.dose["dose_number"] == next_number
    ]
    hard, soft = _warnings(
        choice,
        start=start,
        end=end,
        zone=zone,
        day_bookings=day_bookings,
        patient_bookings=bookings,
        order_id=order.id,
        blocked=blocked,
    )
    return {
        "order": order,
        "patient": patient,
        "doses": doses,
        "chairs": chairs,
        "choice": choice,
        "start": start,
        "end": end,
        "chair_minutes": chair_minutes,
        "plan_error": plan_error,
        "availability": {
            c.id: [a for a in day_bookings if a.chair_id == c.id and a.status in LIVE_BOOKING]
            for c in chairs
        },
        "refusals": hard,
        "warnings": soft,
        "signed": order.status is OrderStatus.SIGNED,
        "form_error": None,
        "booked": None,
        "today": today,
    }


def _page(
    request: Request,
    viewer: Viewer,
    fields: Fields,
    *,
    form_error: Refusal | None = None,
    fragment: bool = False,
) -> Response:
    centre = web_context(request).centre
    try:
        if not fields.get("order_id"):
            query = fields.get("q", "").strip()[:200]
            found = centre.queries.search_patients(viewer.actor, query, limit=20) if query else []
            orders = [
                (p, o)
                for p in found
                for o in centre.queries.list_orders(viewer.actor, patient_id=p.id)
                if o.status is OrderStatus.SIGNED
            ]
            return render(request, "booking_pick.html", viewer, q=query, orders=orders)
        page = booking_context(request, viewer, fields)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    page["form_error"] = form_error
    page["booked"] = fields.get("booked")
    name = "_booking_preview.html" if fragment else "booking.html"
    status = 200 if form_error is None else form_error.status
    return render(request, name, viewer, status_code=status, **page)


@router.get("/appointments/new", response_class=HTMLResponse)
def booking_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _page(request, viewer, dict(request.query_params))


@router.get("/appointments/new/preview", response_class=HTMLResponse)
def booking_preview(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _page(request, viewer, dict(request.query_params), fragment=True)


@router.post("/appointments/new", response_class=HTMLResponse)
async def book(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    kept = {k: v for k, v in fields.items() if k not in ("csrf_token", "confirm_warnings")}
    centre, zone = web_context(request).centre, web_context(request).settings.zone
    try:
        page = booking_context(request, viewer, kept)
        choice = page["choice"]
        if choice.dose is None:
            raise InvalidCommand(
                "dose_number: every dose of the order is booked", field="dose_number"
            )
        if page["warnings"] and fields.get("confirm_warnings") != "yes":
            raise InvalidCommand(
                "confirm the warnings to book anyway: " + " ".join(page["warnings"]),
                field="confirm_warnings",
            )
        appointment = centre.records.book_appointment(
            viewer.actor,
            patient_id=page["patient"].id,
            chair_id=required_text(fields, "chair_id", "the chair"),
            protocol_id=required_text(fields, "protocol_id", "the protocol"),
            dose_number=choice.dose["dose_number"],
            starts_at=local_moment(choice.on, choice.at, zone),
            order_id=page["order"].id,
        )
    except MsinfusionError as error:
        shown = refusal("booking", error)
        if shown.status in (401, 403, 404) and error.field is None:
            return error_page(request, viewer, error)
        return _page(request, viewer, kept, form_error=shown)
    target = f"/appointments/new?order_id={appointment.order_id}&booked={appointment.id}"
    return RedirectResponse(target, status_code=303)


def _change_context(request: Request, viewer: Viewer, appointment_id: str) -> dict[str, Any]:
    centre = web_context(request).centre
    appointment = centre.queries.get_appointment(viewer.actor, appointment_id)
    patient = centre.queries.get_patient(viewer.actor, appointment.patient_id)
    chairs = [c for c in centre.queries.list_chairs(viewer.actor) if c.active]
    return {"appointment": appointment, "patient": patient, "chairs": chairs, "form_error": None}


@router.get("/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(request: Request, appointment_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        page = _change_context(request, viewer, appointment_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return render(request, "appointment.html", viewer, **page)


@router.post("/appointments/{appointment_id}/reschedule", response_class=HTMLResponse)
async def reschedule(request: Request, appointment_id: str) -> Response:
    """A new day, time and chair; the reason is required."""
    return await change_appointment(request, appointment_id, "reschedule")


@router.post("/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, appointment_id: str) -> Response:
    """Cancel with a reason."""
    return await change_appointment(request, appointment_id, "cancel")


async def change_appointment(request: Request, appointment_id: str, change: str) -> Response:
    """``reschedule`` (new day, time, chair; reason required) or ``cancel`` (reason)."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    context = web_context(request)
    try:
        fields = await posted_fields(request, viewer)
        page = _change_context(request, viewer, appointment_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    try:
        if change == "cancel":
            changed = context.centre.records.cancel_appointment(
                viewer.actor, appointment_id, reason=required_text(fields, "reason", "the reason")
            )
        elif change == "reschedule":
            on, at = day(fields, "day"), clock(fields, "time")
            if on is None or at is None:
                field = "day" if on is None else "time"
                raise InvalidCommand(f"{field}: the new {field} is required", field=field)
            changed = context.centre.records.reschedule_appointment(
                viewer.actor,
                appointment_id,
                starts_at=local_moment(on, at, context.settings.zone),
                chair_id=fields.get("chair_id") or None,
                reason=fields.get("reason", ""),
            )
        else:
            raise InvalidCommand(f"no such change: {change!r}", field="change")
    except MsinfusionError as error:
        shown = refusal(change, error)
        if shown.status in (403,):
            return error_page(request, viewer, error)
        page["form_error"] = shown
        return render(request, "appointment.html", viewer, status_code=shown.status, **page)
    if changed.order_id:
        return RedirectResponse(
            f"/appointments/new?order_id={changed.order_id}&booked={changed.id}", status_code=303
        )
    return RedirectResponse(f"/appointments/{changed.id}", status_code=303)
