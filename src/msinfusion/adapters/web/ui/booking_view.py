"""What the booking page shows for a chosen visit: the order's doses and windows, the chairs'
bookings that day, the nurse load hour by hour, the visit's planned chair time, and the
refusals and warnings to expect (a double booking, a chair occupied, before opening or past
closing, outside the dose window, a blocked gate). The opening hours are the centre's
(``Settings.opens``/``closes``); the nurse load is ``SchedulingUseCases.nurse_load`` for the
centre's nurses on duty (``MSINFUSION_NURSES_ON_DUTY``). The booking rules themselves are the
service layer's: this page only previews them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import Request

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer
from msinfusion.adapters.web.ui.course_page import course_panel
from msinfusion.adapters.web.ui.page_forms import Fields, clock, day, local_moment, whole
from msinfusion.adapters.web.ui.pages import list_patient_appointments
from msinfusion.application.booking_rules import LIVE_BOOKING
from msinfusion.application.clinical_records import OrderCourse
from msinfusion.application.records import Appointment, OrderStatus
from msinfusion.application.schedule_day import DaySettings
from msinfusion.errors import MsinfusionError

DEFAULT_TIME = time(9, 0)
SERIES_DEFAULT = 2
"""How many open doses the series form ticks at first (day 1 and day 15 of an ocrelizumab
start, the first two of any course): a form default, the scheduler ticks what to book."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hours:
    """The centre's opening hours (local wall-clock times)."""

    opens: time
    closes: time


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    dose: dict[str, Any] | None
    protocol_id: str
    protocol_ids: tuple[str, ...]
    on: date
    at: time
    chair_id: str


def today_at_centre(request: Request, viewer: Viewer) -> date:
    return viewer.actor.at.astimezone(web_context(request).settings.zone).date()


def choose(fields: Fields, doses: list[dict[str, Any]], chairs: list[Any], today: date) -> Choice:
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


def visit_warnings(
    choice: Choice,
    *,
    start: datetime,
    end: datetime | None,
    zone: Any,
    day_bookings: list[Appointment],
    patient_bookings: list[Appointment],
    order_id: str,
    blocked: list[str],
    hours: Hours,
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
    if local_start.time() < hours.opens:
        soft.append(f"Before opening: the centre opens at {hours.opens:%H:%M}.")
    if end is not None and end.astimezone(zone) > datetime.combine(choice.on, hours.closes, zone):
        soft.append(
            f"Past closing: the visit ends at {end.astimezone(zone):%H:%M}, the centre closes "
            f"at {hours.closes:%H:%M}."
        )
    hard.extend(f"Blocked gate: {reason}" for reason in blocked)
    return hard, soft


def booking_context(request: Request, viewer: Viewer, fields: Fields) -> dict[str, Any]:
    """The booking page for ``fields['order_id']`` (raises the service layer's errors)."""
    context = web_context(request)
    centre, zone = context.centre, context.settings.zone
    hours = Hours(opens=context.settings.opens, closes=context.settings.closes)
    today = today_at_centre(request, viewer)
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
    choice = choose(fields, doses, chairs, today)
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
    hard, soft = visit_warnings(
        choice,
        start=start,
        end=end,
        zone=zone,
        day_bookings=day_bookings,
        patient_bookings=bookings,
        order_id=order.id,
        blocked=blocked,
        hours=hours,
    )
    load, load_error = _nurse_load(request, viewer, choice.on)
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
        "hours": hours,
        "nurses_on_duty": context.settings.nurses_on_duty,
        "nurse_load": load,
        "nurse_load_error": load_error,
        "series": series_rows(doses, fields),
    }


def _nurse_load(request: Request, viewer: Viewer, on: date) -> tuple[list[Any], str | None]:
    """The day's load, or why it cannot be shown (a viewer without ``plan_schedule``, a visit
    whose plan cannot be made): the page still books."""
    context = web_context(request)
    settings = context.settings
    try:
        day_settings = DaySettings(
            day=on,
            zone=settings.zone,
            nurses=settings.nurses_on_duty,
            opens=settings.opens,
            closes=settings.closes,
        )
        return list(context.centre.scheduling.nurse_load(viewer.actor, day_settings)), None
    except MsinfusionError as error:
        return [], error.message


def series_rows(doses: list[dict[str, Any]], fields: Fields) -> list[dict[str, Any]]:
    """The open doses the series form offers, each with its date (the due date unless the
    form says otherwise, never before the earliest) and whether it is ticked."""
    open_doses = [d for d in doses[:8] if d["status"] != "given" and not d["booked"]]
    posted = any(key.startswith("series_dose_") for key in fields)
    rows = []
    for index, dose in enumerate(open_doses):
        number = dose["dose_number"]
        rows.append(
            {
                "dose": dose,
                "day": fields.get(f"series_day_{number}") or dose["due"],
                "ticked": fields.get(f"series_dose_{number}") == "yes"
                if posted
                else index < SERIES_DEFAULT,
            }
        )
    return rows
