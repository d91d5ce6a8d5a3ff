"""Book a series from the order's calendar in one step (``POST /appointments/series``).

The ticked doses, each on its own date, at one time and in one chair, go to
``RecordKeeping.book_series``: all or nothing. Each dose is checked there as a single booking
is (a double booking, a chair occupied, a dose too early, a blocked gate: the first refusal
names its dose and books none). Warnings a single booking asks to confirm (a late dose, before
opening, past closing) are gathered for every dose here and confirmed once for the series.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.booking_view import Choice, booking_context, visit_warnings
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
)
from msinfusion.adapters.web.ui.pages import list_patient_appointments
from msinfusion.application.booking_rules import SeriesDose
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)


def series_doses(
    request: Request, viewer: Viewer, page: dict[str, Any], fields: Fields
) -> tuple[list[SeriesDose], list[str]]:
    """The ticked doses as ``SeriesDose`` values, and every warning to confirm (by dose)."""
    context = web_context(request)
    centre, zone = context.centre, context.settings.zone
    rows = [r for r in page["series"] if r["ticked"]]
    if not rows:
        raise InvalidCommand("series: tick at least one dose to book", field="series")
    at = clock(fields, "series_time")
    if at is None:
        raise InvalidCommand("series_time: the time is required", field="series_time")
    chair_id = required_text(fields, "series_chair_id", "the chair")
    patient = page["patient"]
    bookings = list_patient_appointments(centre, viewer.actor, patient.id)
    doses: list[SeriesDose] = []
    warnings: list[str] = []
    for row in rows:
        dose = row["dose"]
        number = dose["dose_number"]
        on = day(fields, f"series_day_{number}")
        if on is None:
            raise InvalidCommand(
                f"series_day_{number}: the date of dose {number} is required",
                field=f"series_day_{number}",
            )
        start = local_moment(on, at, zone)
        plan = centre.catalog.plan(
            viewer.actor,
            dose["protocol_id"],
            start_at=start,
            dose_number=number,
            height_cm=patient.height_cm,
            weight_kg=patient.weight_kg,
        )
        choice = Choice(
            dose=dose,
            protocol_id=dose["protocol_id"],
            protocol_ids=(dose["protocol_id"],),
            on=on,
            at=at,
            chair_id=chair_id,
        )
        _, soft = visit_warnings(
            choice,
            start=start,
            end=start + plan.chair_time,
            zone=zone,
            day_bookings=[],
            patient_bookings=bookings,
            order_id=page["order"].id,
            blocked=[],
            hours=page["hours"],
        )
        warnings.extend(f"Dose {number}: {w}" for w in soft)
        doses.append(
            SeriesDose(
                dose_number=number,
                protocol_id=dose["protocol_id"],
                chair_id=chair_id,
                starts_at=start,
            )
        )
    return doses, warnings


def series_page(
    request: Request, viewer: Viewer, fields: Fields, *, form_error: Refusal | None = None
) -> Response:
    """The series form for ``fields['order_id']`` (with a refusal beside it, if any)."""
    try:
        page = booking_context(request, viewer, fields)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    page["form_error"] = form_error
    status = 200 if form_error is None else form_error.status
    return render(request, "booking_series.html", viewer, status_code=status, **page)


@router.get("/appointments/series", response_class=HTMLResponse)
def series_form(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return series_page(request, viewer, dict(request.query_params))


@router.post("/appointments/series", response_class=HTMLResponse)
async def book_series(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    kept = {k: v for k, v in fields.items() if k not in ("csrf_token", "confirm_series")}
    centre = web_context(request).centre
    try:
        page = booking_context(request, viewer, kept)
        doses, warnings = series_doses(request, viewer, page, kept)
        if warnings and fields.get("confirm_series") != "yes":
            raise InvalidCommand(
                "confirm the warnings to book the series anyway: " + " ".join(warnings),
                field="confirm_series",
            )
        booked = centre.records.book_series(
            viewer.actor, patient_id=page["patient"].id, order_id=page["order"].id, doses=doses
        )
    except MsinfusionError as error:
        shown = refusal("series", error)
        if shown.status in (401, 403, 404) and error.field is None:
            return error_page(request, viewer, error)
        return series_page(request, viewer, kept, form_error=shown)
    target = f"/appointments/new?order_id={kept.get('order_id', '')}&booked_series={len(booked)}"
    return RedirectResponse(target, status_code=303)
