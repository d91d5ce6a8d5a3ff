"""The pharmacy pages: the verification queue (``/pharmacy``), its forms, the bag label.

Every form posts to the service layer (``application/pharmacy.py``), which checks the role and
writes the audit entry; a success sends the browser back to the queue at that dose (303), a
refusal shows the queue again with the message beside the form that was sent and the field it
names. The second-person check carries the checker's user name and password: they are
authenticated here exactly as at sign-in (``Accounts.login``, throttled and audited), and no
browser session is opened for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import client_address, web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, require_csrf, to_login
from msinfusion.adapters.web.ui.bag_label import code128_svg
from msinfusion.application.infusion_record import InfusionRecords
from msinfusion.application.permissions import Action
from msinfusion.application.pharmacy import Pharmacy, parse_volume
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)

MAX_FIELD = 1000


@dataclass(frozen=True, slots=True)
class PharmacyServices:
    pharmacy: Pharmacy
    records: InfusionRecords


def services(request: Request) -> PharmacyServices:
    """The pharmacy and record use cases over the app's centre, made once per app (they hold
    no state of their own)."""
    state = request.app.state
    found: PharmacyServices | None = getattr(state, "msinfusion_pharmacy", None)
    if found is None:
        context = web_context(request)
        centre = context.centre
        streams = centre.sessions.streams
        found = PharmacyServices(
            pharmacy=Pharmacy(
                centre.access,
                centre.clinical,
                streams.catalog,
                centre_tz=context.settings.zone,
                streams=streams,
            ),
            records=InfusionRecords(centre.access, streams),
        )
        state.msinfusion_pharmacy = found
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class FormError:
    """A refusal shown beside the form that was sent."""

    form: str
    target: str
    field: str | None
    message: str
    code: str


def _day(request: Request, viewer: Viewer) -> date:
    raw = request.query_params.get("day")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return viewer.actor.at.astimezone(web_context(request).settings.zone).date()


def _queue_page(
    request: Request,
    viewer: Viewer,
    *,
    error: FormError | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    day = _day(request, viewer)
    try:
        queue = services(request).pharmacy.list_queue(viewer.actor, day)
    except MsinfusionError as failure:
        return _error_page(request, viewer, failure)
    return render(
        request,
        "pharmacy.html",
        viewer,
        status_code=status_code,
        page="pharmacy",
        queue=queue,
        may_act=viewer.may(Action.VERIFY_DOSE),
        form_error=error,
        values=values or {},
    )


def _error_page(request: Request, viewer: Viewer | None, error: MsinfusionError) -> HTMLResponse:
    status, code = classify(error)
    return render(request, "error.html", viewer, status_code=status, code=code, error=error)


async def _fields(request: Request, viewer: Viewer) -> dict[str, str]:
    form = await request.form()
    fields = {key: str(form.getlist(key)[-1])[:MAX_FIELD] for key in form}
    require_csrf(request, viewer, fields)
    return fields


@router.get("/pharmacy", response_class=HTMLResponse)
def pharmacy_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _queue_page(request, viewer)


def _done(target: str, day: str | None) -> Response:
    query = f"?day={day}" if day else ""
    return RedirectResponse(f"/pharmacy{query}#dose-{target}", status_code=303)


async def _post(
    request: Request, form: str, target: str, action: Any
) -> Response:  # action: (viewer, fields) -> None
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    fields = await _fields(request, viewer)
    try:
        action(viewer, fields)
    except MsinfusionError as error:
        status, code = classify(error)
        failure = FormError(
            form=form, target=target, field=error.field, message=error.message, code=code
        )
        return _queue_page(request, viewer, error=failure, status_code=status, values=fields)
    return _done(target, request.query_params.get("day"))


@router.post("/pharmacy/appointments/{appointment_id}/verify", response_class=HTMLResponse)
async def verify(request: Request, appointment_id: str) -> Response:
    def act(viewer: Viewer, fields: dict[str, str]) -> None:
        services(request).pharmacy.verify(viewer.actor, appointment_id)

    return await _post(request, "verify", appointment_id, act)


@router.post("/pharmacy/appointments/{appointment_id}/return", response_class=HTMLResponse)
async def return_dose(request: Request, appointment_id: str) -> Response:
    def act(viewer: Viewer, fields: dict[str, str]) -> None:
        reason = fields.get("reason", "")
        services(request).pharmacy.return_dose(viewer.actor, appointment_id, reason=reason)

    return await _post(request, "return", appointment_id, act)


def _date(fields: dict[str, str], name: str) -> date:
    raw = fields.get(name, "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidCommand(f"{name} must be a date, e.g. 2026-03-31", field=name) from None


def _moment(fields: dict[str, str], name: str, request: Request) -> datetime | None:
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidCommand(
            f"{name} must be a date and time, e.g. 2026-03-02T08:20", field=name
        ) from None
    zone = web_context(request).settings.zone
    return local if local.tzinfo is not None else local.replace(tzinfo=zone)


@router.post("/pharmacy/preparations/{preparation_id}/prepare", response_class=HTMLResponse)
async def prepare(request: Request, preparation_id: str) -> Response:
    target = request.query_params.get("appointment", preparation_id)

    def act(viewer: Viewer, fields: dict[str, str]) -> None:
        services(request).pharmacy.record_preparation(
            viewer.actor,
            preparation_id,
            product=fields.get("product", ""),
            lot=fields.get("lot", ""),
            expiry=_date(fields, "expiry"),
            prepared_volume_ml=parse_volume(fields.get("prepared_volume_ml")),
            diluent=fields.get("diluent", ""),
            prepared_at=_moment(fields, "prepared_at", request),
        )

    return await _post(request, "prepare", target, act)


@router.post("/pharmacy/preparations/{preparation_id}/check", response_class=HTMLResponse)
async def check(request: Request, preparation_id: str) -> Response:
    target = request.query_params.get("appointment", preparation_id)

    def act(viewer: Viewer, fields: dict[str, str]) -> None:
        username = fields.get("checker_username", "").strip()
        if not username:
            raise InvalidCommand("the second person's user name is required", field="checked_by")
        context = web_context(request)
        checker = context.centre.accounts.login(
            username,
            fields.get("checker_password", ""),
            at=viewer.actor.at,
            remote_addr=client_address(request),
        )
        services(request).pharmacy.check_preparation(viewer.actor, preparation_id, checker=checker)

    return await _post(request, "check", target, act)


@router.get("/pharmacy/preparations/{preparation_id}/label", response_class=HTMLResponse)
def label(request: Request, preparation_id: str) -> Response:
    """The printable bag label: patient, drug, dose, volume, lot, expiry, signatures, barcode."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        found = services(request).pharmacy.get_preparation(viewer.actor, preparation_id)
    except MsinfusionError as error:
        return _error_page(request, viewer, error)
    dose = found.doses[0]
    row = next(r for r in dose.rows if r.id == preparation_id)
    context: dict[str, Any] = {
        "dose": dose,
        "row": row,
        "queue": found,
        "barcode": code128_svg(row.id),
        "page": "pharmacy",
    }
    return render(request, "label.html", viewer, **context)
