"""Order pages: write a treatment-plan order, see its eligibility and gates, sign it.

``/orders/new`` stores a draft (``RecordKeeping.add_order(draft=True)``); while the form is
filled, ``/orders/new/check`` runs the course check of the order as typed
(``CourseUseCases.check`` with the order in the body: calendar, gates of the first dose,
monitoring, risks) and the page swaps it in (HTMX). ``/orders/{id}`` shows the order, its
course calendar and gates; signing asks for the physician's password again
(``RecordKeeping.sign_order`` checks it with ``Accounts.confirm_password``). Hold, resume and
discontinue carry a reason. Signatures show names (``Accounts.names_of``), not user ids.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.course_page import CoursePanel, course_panel
from msinfusion.adapters.web.ui.order_options import (
    option_fields,
    orderable_therapies,
    premedication_fields,
    premedication_input,
)
from msinfusion.adapters.web.ui.page_forms import (
    Fields,
    Refusal,
    day,
    error_page,
    posted_fields,
    refusal,
    required_text,
    text,
)
from msinfusion.application.clinical_records import OrderCourse
from msinfusion.application.permissions import Action
from msinfusion.application.record_keeping import ORDER_TRANSITIONS
from msinfusion.application.records import OrderStatus, TherapyOrder
from msinfusion.errors import InvalidCommand, MsinfusionError, PermissionDenied

router = APIRouter(include_in_schema=False)

STATUS_WORDS = {
    OrderStatus.DRAFT: "draft (not signed)",
    OrderStatus.SIGNED: "signed",
    OrderStatus.ON_HOLD: "on hold",
    OrderStatus.DISCONTINUED: "discontinued",
}
MAX_INDICATION = 500


def _local_today(request: Request, viewer: Viewer) -> date:
    return viewer.actor.at.astimezone(web_context(request).settings.zone).date()


def order_input(fields: Fields) -> dict[str, Any]:
    """The order as typed: therapy, start, options (``option_NAME``), indication."""
    therapy_id = required_text(fields, "therapy_id", "the therapy")
    start = day(fields, "start_date")
    if start is None:
        raise InvalidCommand("start_date: the start date is required", field="start_date")
    options = tuple(
        (o.name, value)
        for o in option_fields(therapy_id)
        if (value := text(fields, f"option_{o.name}")) is not None
    )
    return {
        "therapy_id": therapy_id,
        "start_date": start,
        "options": options,
        "premedications": premedication_input(therapy_id, fields),
    }


def _indication(fields: Fields) -> str:
    indication = required_text(fields, "indication", "the indication")
    if len(indication) > MAX_INDICATION:
        raise InvalidCommand(
            f"indication must be at most {MAX_INDICATION} characters", field="indication"
        )
    return indication


def preview_panel(
    request: Request, viewer: Viewer, patient_id: str, fields: Fields
) -> tuple[CoursePanel | None, Refusal | None]:
    """The course check of the order as typed (nothing stored), or why it cannot be made."""
    try:
        typed = order_input(fields)
        body = {
            "as_of": _local_today(request, viewer).isoformat(),
            "order": {
                "therapy_id": typed["therapy_id"],
                "start": typed["start_date"].isoformat(),
                "options": dict(typed["options"]),
            },
        }
        check = web_context(request).centre.courses.check(viewer.actor, patient_id, body)
    except MsinfusionError as error:
        return None, refusal("order", error)
    draft = TherapyOrder(
        id="new",
        patient_id=patient_id,
        therapy_id=typed["therapy_id"],
        start_date=typed["start_date"],
        prescriber_id=viewer.actor.user_id,
        options=typed["options"],
        status=OrderStatus.DRAFT,
    )
    return course_panel(OrderCourse(order=draft, check=check)), None


def _new_order_page(
    request: Request,
    viewer: Viewer,
    fields: Fields,
    *,
    form_error: Refusal | None = None,
) -> Response:
    centre = web_context(request).centre
    patient_id = fields.get("patient_id", "")
    if not patient_id:
        query = fields.get("q", "").strip()[:200]
        found = centre.queries.search_patients(viewer.actor, query) if query else []
        return render(request, "order_new.html", viewer, patient=None, q=query, found=found)
    patient = centre.queries.get_patient(viewer.actor, patient_id)
    therapies = orderable_therapies()
    therapy_id = fields.get("therapy_id") or therapies[0].id
    values = {"start_date": _local_today(request, viewer).isoformat(), **fields}
    values["therapy_id"] = therapy_id
    panel, problem = preview_panel(request, viewer, patient_id, values)
    return render(
        request,
        "order_new.html",
        viewer,
        status_code=200 if form_error is None else form_error.status,
        patient=patient,
        therapies=therapies,
        options=option_fields(therapy_id),
        premedications=premedication_fields(therapy_id),
        v=values,
        panel=panel,
        problem=problem,
        form_error=form_error,
        form_values={},
        may_override=False,
    )


@router.get("/orders/new", response_class=HTMLResponse)
def new_order_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        if not viewer.may(Action.WRITE_ORDER):
            raise PermissionDenied(role=viewer.actor.role.value, action="write orders")
        return _new_order_page(request, viewer, dict(request.query_params))
    except MsinfusionError as error:
        return error_page(request, viewer, error)


@router.get("/orders/new/options", response_class=HTMLResponse)
def order_options_fragment(request: Request, therapy_id: str = "") -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return render(
        request,
        "_order_options.html",
        viewer,
        options=option_fields(therapy_id),
        premedications=premedication_fields(therapy_id),
        v={},
    )


@router.get("/orders/new/check", response_class=HTMLResponse)
def order_check_fragment(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    fields = dict(request.query_params)
    panel, problem = preview_panel(request, viewer, fields.get("patient_id", ""), fields)
    try:
        patient = web_context(request).centre.queries.get_patient(
            viewer.actor, fields.get("patient_id", "")
        )
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return render(
        request,
        "_order_check.html",
        viewer,
        patient=patient,
        panel=panel,
        problem=problem,
        form_error=None,
        form_values={},
        may_override=False,
    )


@router.post("/orders/new", response_class=HTMLResponse)
async def create_order(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    centre = web_context(request).centre
    try:
        typed = order_input(fields)
        order = centre.records.add_order(
            viewer.actor,
            patient_id=fields.get("patient_id", ""),
            note=_indication(fields),
            draft=True,
            **typed,
        )
    except MsinfusionError as error:
        shown = refusal("order", error)
        if shown.status in (401, 403):
            return error_page(request, viewer, error)
        kept = {k: v for k, v in fields.items() if k != "csrf_token"}
        try:
            return _new_order_page(request, viewer, kept, form_error=shown)
        except MsinfusionError as failure:
            return error_page(request, viewer, failure)
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


def order_context(request: Request, viewer: Viewer, order_id: str) -> dict[str, Any]:
    """Everything the order page shows (raises the service layer's errors)."""
    centre = web_context(request).centre
    order = centre.queries.get_order(viewer.actor, order_id)
    patient = centre.queries.get_patient(viewer.actor, order.patient_id)
    panel: CoursePanel | None = None
    problem: str | None = None
    try:
        check = centre.courses.check(
            viewer.actor,
            order.patient_id,
            {"order_id": order.id, "as_of": _local_today(request, viewer).isoformat()},
        )
        panel = course_panel(OrderCourse(order=order, check=check))
    except MsinfusionError as error:
        problem = error.message
    names = centre.accounts.names_of(viewer.actor, (order.prescriber_id, order.signed_by))
    return {
        "order": order,
        "patient": patient,
        "panel": panel,
        "problem": problem,
        "status_words": STATUS_WORDS[order.status],
        "prescriber": names.get(order.prescriber_id, order.prescriber_id),
        "signer": None if order.signed_by is None else names.get(order.signed_by, "unknown"),
        "next_statuses": sorted(ORDER_TRANSITIONS[order.status], key=lambda s: s.value),
        "may_write": viewer.may(Action.WRITE_ORDER),
        "may_book": viewer.may(Action.BOOK_APPOINTMENT),
        "OrderStatus": OrderStatus,
        "form_error": None,
        "form_values": {},
        "may_override": False,
        "done": None,
    }


def _order_page(
    request: Request, viewer: Viewer, order_id: str, *, form_error: Refusal | None = None
) -> Response:
    try:
        page = order_context(request, viewer, order_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    page["form_error"] = form_error
    page["done"] = request.query_params.get("done")
    status = 200 if form_error is None else form_error.status
    return render(request, "order.html", viewer, status_code=status, **page)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _order_page(request, viewer, order_id)


@router.post("/orders/{order_id}/sign", response_class=HTMLResponse)
async def sign_order(request: Request, order_id: str) -> Response:
    """Sign a draft: the physician's password again, then ``sign_order``."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    centre = web_context(request).centre
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    try:
        centre.records.sign_order(viewer.actor, order_id, password=fields.get("password", ""))
    except MsinfusionError as error:
        shown = refusal("sign", error)
        if shown.status in {403, 404}:
            return error_page(request, viewer, error)
        return _order_page(request, viewer, order_id, form_error=shown)
    return RedirectResponse(f"/orders/{order_id}?done=signed", status_code=303)


@router.post("/orders/{order_id}/status", response_class=HTMLResponse)
async def change_status(request: Request, order_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    centre = web_context(request).centre
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    try:
        raw = fields.get("status", "")
        if raw not in {s.value for s in OrderStatus}:
            raise InvalidCommand(
                f"status must be one of the order's next states, got {raw!r}", field="status"
            )
        status = OrderStatus(raw)
        stopped_on = day(fields, "discontinued_on") if status is OrderStatus.DISCONTINUED else None
        centre.records.change_order_status(
            viewer.actor, order_id, status, reason=fields.get("reason"), discontinued_on=stopped_on
        )
    except MsinfusionError as error:
        shown = refusal("status", error)
        if shown.status in (403, 404):
            return error_page(request, viewer, error)
        return _order_page(request, viewer, order_id, form_error=shown)
    return RedirectResponse(f"/orders/{order_id}?done={status.value}", status_code=303)
