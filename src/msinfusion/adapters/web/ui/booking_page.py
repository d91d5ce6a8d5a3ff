"""Booking pages: book a visit from an order's calendar windows, reschedule, cancel.

``/appointments/new?order_id=...`` shows the order's doses with their windows, the chairs'
bookings that day and the visit's planned chair time (``CatalogQueries.plan``), and warns
before booking: a double booking, a chair already occupied, past closing, outside the dose
window, a blocked gate. The booking itself is ``RecordKeeping.book_appointment``, which refuses
the hard cases with its own rule (``duplicate``, ``gate-blocked``, ``dose-too-early``...);
a late dose or a visit past closing is booked only when the scheduler confirms the warning.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.booking_view import booking_context
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
from msinfusion.application.records import OrderStatus
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)


def booking_response(
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
    page["booked_series"] = fields.get("booked_series")
    name = "_booking_preview.html" if fragment else "booking.html"
    status = 200 if form_error is None else form_error.status
    return render(request, name, viewer, status_code=status, **page)


@router.get("/appointments/new", response_class=HTMLResponse)
def booking_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return booking_response(request, viewer, dict(request.query_params))


@router.get("/appointments/new/preview", response_class=HTMLResponse)
def booking_preview(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return booking_response(request, viewer, dict(request.query_params), fragment=True)


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
        return booking_response(request, viewer, kept, form_error=shown)
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
