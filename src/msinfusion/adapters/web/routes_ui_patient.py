"""The patient page and its clinical forms: courses, gates, monitoring, risks, entries.

``GET /patients/{id}`` reads the patient, the orders, the past infusions and the course check of
every active order (``Centre.clinical.courses``: calendar, gates of the next dose, monitoring,
risks, flags). Each form posts to ``/patients/{id}/clinical/{kind}`` with the session's CSRF
token; a stored entry answers with a redirect back to the page (Post/Redirect/Get), a refused
one re-renders the page with the message beside that form (nothing stored). Who may record or
override is decided by the service layer; the page only hides what a role may not do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, require_csrf, to_login
from msinfusion.adapters.web.ui.clinical_forms import (
    FORM_READERS,
    PROFILE_QUESTIONS,
    item_from_form,
)
from msinfusion.adapters.web.ui.course_page import CoursePanel, EntryViewer, patient_course_page
from msinfusion.adapters.web.ui.pages import course_views, past_infusions
from msinfusion.adapters.web.ui.tdm_panel import tdm_page_context
from msinfusion.application.clinical_record_view import PatientCourses
from msinfusion.application.ledger_rules import programme_forms
from msinfusion.application.permissions import Action
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import MsinfusionError, RecordNotFound
from msinfusion.planning.patient_record import FINDINGS, LAB_TESTS

router = APIRouter(include_in_schema=False)

FORM_TITLES = {
    "lab": "lab result",
    "finding": "finding",
    "vaccination": "vaccination",
    "profile": "profile answers",
    "given-dose": "dose given elsewhere",
    "override": "gate override",
    "retraction": "retraction",
    "co-signature": "co-signature of the retraction (it takes effect now)",
    "programme-form": "TOUCH Pre-infusion Patient Checklist",
}
"""Form kind -> what a stored entry is called in the page's confirmation (a retraction of
another role's entry is stored pending its co-signature: the page says so on the entry)."""


def page_forms_for(clinical: PatientCourses, jurisdiction: str | None) -> list[dict[str, Any]]:
    """The programme forms a nurse can fill for the patient's active orders (of the form's
    therapy, where the form applies: the order's own jurisdiction option, else the centre's)."""
    out = []
    for form in programme_forms():
        orders = [
            c
            for c in clinical.courses
            if c.order.therapy_id == form.therapy_id
            and form.applies_in(c.check.calendar.jurisdiction or jurisdiction)
        ]
        if orders:
            next_doses = {
                c.order.id: (c.check.calendar.next_dose() or c.check.calendar.doses[-1]).dose_number
                for c in orders
            }
            out.append({"form": form, "orders": [c.order for c in orders], "next": next_doses})
    return out


def _error_page(request: Request, viewer: Viewer, error: MsinfusionError) -> HTMLResponse:
    status, code = classify(error)
    return render(request, "error.html", viewer, status_code=status, code=code, error=error)


def patient_context(request: Request, viewer: Viewer, patient_id: str) -> dict[str, Any]:
    """Everything the patient page shows (raises the service layer's errors)."""
    context = web_context(request)
    centre, zone = context.centre, context.settings.zone
    patient = centre.queries.get_patient(viewer.actor, patient_id)
    orders = centre.queries.list_orders(viewer.actor, patient_id=patient_id)
    infusions = past_infusions(centre, viewer.actor, patient_id)
    clinical = centre.clinical.courses(viewer.actor, patient_id)
    today = viewer.actor.at.astimezone(zone).date()
    catalog = shipped_catalog()
    known = {t.id for t in catalog}
    contraindicated = [
        catalog.get_therapy(t).inn if t in known else t for t in patient.contraindicated_therapy_ids
    ]
    checked = {c.order.id for c in clinical.courses}
    on_natalizumab = any(c.order.therapy_id == "natalizumab" for c in clinical.courses)
    tdm = centre.tdm.get_panel(viewer.actor, patient_id) if on_natalizumab else None
    return {
        "patient": patient,
        # Orders without a course check (inactive, or not checkable): the calendar as before.
        "courses": [
            v for v in course_views(orders, infusions, today, zone) if v.order.id not in checked
        ],
        "infusions": infusions,
        "contraindicated": contraindicated,
        "today": today,
        **patient_course_page(
            clinical,
            viewer=EntryViewer(
                may_retract_override=viewer.may(Action.OVERRIDE_GATE),
                role=viewer.actor.role.value,
                user_id=viewer.actor.user_id,
            ),
        ),
        "active_orders": [c.order for c in clinical.courses],
        "lab_tests": sorted(LAB_TESTS),
        "findings": sorted(FINDINGS),
        "profile_questions": PROFILE_QUESTIONS,
        "programme_forms": page_forms_for(clinical, centre.clinical.jurisdiction),
        "may_record": viewer.may(Action.RECORD_CLINICAL),
        "may_override": viewer.may(Action.OVERRIDE_GATE),
        "form_titles": FORM_TITLES,
        "form_error": None,
        "form_values": {},
        "recorded": None,
        "tdm_error": None,
        **tdm_page_context(tdm),
    }


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: str, recorded: str | None = None) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        page = patient_context(request, viewer, patient_id)
    except MsinfusionError as error:
        return _error_page(request, viewer, error)
    page["recorded"] = FORM_TITLES.get(recorded or "")
    return render(request, "patient.html", viewer, **page)


@router.post("/patients/{patient_id}/clinical/{kind}", response_class=HTMLResponse)
async def record_entry(request: Request, patient_id: str, kind: str) -> Response:
    """Store one clinical entry from a patient-page form, or show why not beside the form."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    form = await request.form()
    fields = {key: str(form.getlist(key)[-1]) for key in form}
    try:
        require_csrf(request, viewer, fields)
        if kind not in FORM_READERS:
            raise RecordNotFound(f"there is no clinical form '{kind}'", field="kind")
    except MsinfusionError as error:
        return _error_page(request, viewer, error)
    centre = web_context(request).centre
    try:
        item = item_from_form(kind, fields)
        centre.clinical.record(viewer.actor, patient_id, kind, item)
    except MsinfusionError as error:
        status, _ = classify(error)
        if status in (401, 403, 404):
            return _error_page(request, viewer, error)
        return _refused(
            request, viewer, patient_id=patient_id, kind=kind, fields=fields, error=error
        )
    done = "co-signature" if kind == "retraction" and "cosigns" in item else kind
    target = f"/patients/{patient_id}?recorded={done}#entries"
    return RedirectResponse(target, status_code=303)


def _override_panel(panels: list[CoursePanel], gate_id: str | None) -> str | None:
    """The order whose override form shows a refused override: the one offering that gate,
    else the first offering any (None: no form on the page, the message goes above the forms)."""
    offering = [p for p in panels if p.overridable]
    chosen = next(
        (p for p in offering if any(g["gate_id"] == gate_id for g in p.overridable)),
        offering[0] if offering else None,
    )
    return None if chosen is None else chosen.order.id


def _refused(
    request: Request,
    viewer: Viewer,
    *,
    patient_id: str,
    kind: str,
    fields: dict[str, str],
    error: MsinfusionError,
) -> Response:
    """The page again, the message beside the form that was sent, what was typed kept."""
    status, code = classify(error)
    try:
        page = patient_context(request, viewer, patient_id)
    except MsinfusionError as failure:
        return _error_page(request, viewer, failure)
    page["form_error"] = {
        "form": kind,
        "field": error.field,
        "message": error.message,
        "code": code,
        "entry_id": fields.get("entry_id"),
        "panel": _override_panel(page["panels"], fields.get("gate_id"))
        if kind == "override"
        else None,
    }
    page["form_values"] = {k: v for k, v in fields.items() if k != "csrf_token"}
    return render(request, "patient.html", viewer, status_code=status, **page)
