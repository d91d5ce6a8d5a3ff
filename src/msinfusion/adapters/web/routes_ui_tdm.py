"""The natalizumab panel's forms: record a trough and fit, apply the proposed interval.

Both post with the session's CSRF token; a stored trough or an applied interval answers with a
redirect back to the panel (Post/Redirect/Get), a refused one re-renders the patient page with
the message in the panel (nothing stored). Who may do what is the service layer's decision.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.routes_ui_patient import _error_page, patient_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, require_csrf, to_login
from msinfusion.application.tdm import parse_target, parse_troughs
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)


async def _form(request: Request, viewer: Viewer) -> dict[str, str]:
    form = await request.form()
    fields = {key: str(form.getlist(key)[-1]) for key in form}
    require_csrf(request, viewer, fields)
    return fields


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidCommand(f"{field} must be a number, not '{text}'", field=field) from None


def _refused(request: Request, viewer: Viewer, patient_id: str, error: MsinfusionError) -> Response:
    status, _ = classify(error)
    if status in (401, 403, 404):
        return _error_page(request, viewer, error)
    try:
        page = patient_context(request, viewer, patient_id)
    except MsinfusionError as failure:
        return _error_page(request, viewer, failure)
    page["tdm_error"] = error.message
    return render(request, "patient.html", viewer, status_code=status, **page)


@router.post("/patients/{patient_id}/tdm", response_class=HTMLResponse)
async def record_trough(request: Request, patient_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await _form(request, viewer)
    except MsinfusionError as error:
        return _error_page(request, viewer, error)
    try:
        trough = {
            "at": fields.get("at", ""),
            "trough_ug_per_ml": _number(fields.get("trough_ug_per_ml", ""), "trough_ug_per_ml"),
        }
        target = parse_target(_number(fields.get("target_ug_per_ml", "10"), "target_ug_per_ml"))
        web_context(request).centre.tdm.assess(
            viewer.actor, patient_id, parse_troughs([trough]), target
        )
    except MsinfusionError as error:
        return _refused(request, viewer, patient_id, error)
    return RedirectResponse(f"/patients/{patient_id}#tdm", status_code=303)


@router.post("/patients/{patient_id}/tdm/apply", response_class=HTMLResponse)
async def apply_interval(request: Request, patient_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await _form(request, viewer)
    except MsinfusionError as error:
        return _error_page(request, viewer, error)
    try:
        web_context(request).centre.tdm.apply_interval(
            viewer.actor,
            patient_id,
            fields.get("recommendation_id", ""),
            acknowledge_off_label=fields.get("acknowledge_off_label") == "yes",
        )
    except MsinfusionError as error:
        return _refused(request, viewer, patient_id, error)
    return RedirectResponse(f"/patients/{patient_id}#tdm", status_code=303)
