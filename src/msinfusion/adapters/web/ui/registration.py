"""Registration pages: register and edit a patient, search patients, duplicate detection.

``/patients/new`` posts to ``RecordKeeping.add_patient`` with ``refuse_duplicates=True``: a
patient with the same name and date of birth is shown, and the clerk registers anyway only by
confirming that this is another person. Identifiers (the MRN and others) are system + value
rows, allergies substance / reaction / severity / source rows; empty rows are ignored. Every
refusal names its field and stores nothing. The contact for reminders (a phone number or an
e-mail address) is checked by ``application.reminder_contact``, in the use case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.page_forms import (
    Fields,
    Refusal,
    day,
    decimal,
    error_page,
    posted_fields,
    refusal,
    required_text,
    text,
)
from msinfusion.application.records import ALLERGY_SEVERITIES, Allergy, Patient, PatientIdentifier
from msinfusion.errors import DuplicateRecord, InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)

SEXES = ("female", "male", "other", "unknown")
MRN_SYSTEM = "MRN"
"""The identifier system the first row offers (a centre may type its own namespace URI)."""
SPARE_ROWS = 2
MAX_ROWS = 20


def _rows(fields: Fields, prefix: str, names: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Numbered rows of a repeated group (``identifier_value_0`` ...), the empty ones left out."""
    found = []
    for index in range(MAX_ROWS):
        row = {n: text(fields, f"{prefix}_{n}_{index}") or "" for n in names}
        if any(row.values()):
            found.append((index, row))
    return found


def _identifiers(fields: Fields) -> tuple[PatientIdentifier, ...]:
    read = []
    for index, row in _rows(fields, "identifier", ("system", "value")):
        for name in ("system", "value"):
            if not row[name]:
                raise InvalidCommand(
                    f"identifier row {index + 1}: give both the system and the value",
                    field=f"identifier_{name}_{index}",
                )
        read.append(PatientIdentifier(system=row["system"], value=row["value"]))
    return tuple(read)


def _allergies(fields: Fields) -> tuple[Allergy, ...]:
    read = []
    for index, row in _rows(fields, "allergy", ("substance", "reaction", "severity", "source")):
        if not row["substance"]:
            raise InvalidCommand(
                f"allergy row {index + 1}: name the substance", field=f"allergy_substance_{index}"
            )
        if row["severity"] and row["severity"] not in ALLERGY_SEVERITIES:
            raise InvalidCommand(
                f"allergy row {index + 1}: severity must be one of {', '.join(ALLERGY_SEVERITIES)}",
                field=f"allergy_severity_{index}",
            )
        read.append(
            Allergy(
                substance=row["substance"],
                reaction=row["reaction"] or None,
                severity=row["severity"] or None,
                source=row["source"] or None,
            )
        )
    return tuple(read)


def patient_values(fields: Fields) -> dict[str, Any]:
    """The patient record's fields from the registration form (shape only)."""
    name = required_text(fields, "display_name", "the patient's name")
    if len(name) > 200:
        raise InvalidCommand("display_name must be at most 200 characters", field="display_name")
    sex = text(fields, "sex")
    if sex is not None and sex not in SEXES:
        raise InvalidCommand(f"sex must be one of {', '.join(SEXES)}", field="sex")
    return {
        "display_name": name,
        "date_of_birth": day(fields, "date_of_birth"),
        "sex": sex,
        "height_cm": decimal(fields, "height_cm", low=Decimal(30), high=Decimal(260)),
        "weight_kg": decimal(fields, "weight_kg", low=Decimal(1), high=Decimal(400)),
        "identifiers": _identifiers(fields),
        "allergies": _allergies(fields),
        "reminder_contact": text(fields, "reminder_contact"),
    }


def values_of(patient: Patient) -> Fields:
    """A stored patient as the form's fields (for editing)."""
    values: Fields = {
        "display_name": patient.display_name,
        "date_of_birth": "" if patient.date_of_birth is None else patient.date_of_birth.isoformat(),
        "sex": patient.sex or "",
        "height_cm": "" if patient.height_cm is None else str(patient.height_cm),
        "weight_kg": "" if patient.weight_kg is None else str(patient.weight_kg),
        "reminder_contact": patient.reminder_contact or "",
    }
    for i, identifier in enumerate(patient.identifiers):
        values[f"identifier_system_{i}"] = identifier.system
        values[f"identifier_value_{i}"] = identifier.value
    for i, allergy in enumerate(patient.allergies):
        values[f"allergy_substance_{i}"] = allergy.substance
        values[f"allergy_reaction_{i}"] = allergy.reaction or ""
        values[f"allergy_severity_{i}"] = allergy.severity or ""
        values[f"allergy_source_{i}"] = allergy.source or ""
    return values


def _row_count(values: Fields, prefix: str) -> int:
    used = [
        int(key.rsplit("_", 1)[1])
        for key, value in values.items()
        if key.startswith(prefix) and value and key.rsplit("_", 1)[1].isdigit()
    ]
    return min(MAX_ROWS, (max(used) + 1 if used else 0) + SPARE_ROWS)


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    patient: Patient | None,
    values: Fields,
    form_error: Refusal | None = None,
    duplicates: list[Patient] | None = None,
) -> HTMLResponse:
    if patient is None and not values:
        values = {"identifier_system_0": MRN_SYSTEM}
    return render(
        request,
        "patient_form.html",
        viewer,
        status_code=200 if form_error is None else form_error.status,
        patient=patient,
        v=values,
        form_error=form_error,
        duplicates=duplicates or [],
        sexes=SEXES,
        severities=ALLERGY_SEVERITIES,
        identifier_rows=max(1, _row_count(values, "identifier_")),
        allergy_rows=max(1, _row_count(values, "allergy_")),
        today=viewer.actor.at.astimezone(web_context(request).settings.zone).date(),
    )


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _form_page(request, viewer, patient=None, values={})


@router.post("/patients/new", response_class=HTMLResponse)
async def register_patient(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await posted_fields(request, viewer)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    centre = web_context(request).centre
    confirmed = fields.get("confirm_duplicate") == "yes"
    try:
        values = patient_values(fields)
        patient = centre.records.add_patient(
            viewer.actor, refuse_duplicates=not confirmed, **values
        )
    except MsinfusionError as error:
        shown = refusal("patient", error)
        if shown.status in (401, 403):
            return error_page(request, viewer, error)
        duplicates = None
        if isinstance(error, DuplicateRecord) and error.field == "display_name":
            duplicates = centre.queries.find_duplicates(
                viewer.actor, values["display_name"], values["date_of_birth"]
            )
        kept = {k: v for k, v in fields.items() if k not in ("csrf_token", "confirm_duplicate")}
        return _form_page(
            request, viewer, patient=None, values=kept, form_error=shown, duplicates=duplicates
        )
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/search", response_class=HTMLResponse)
def search_patients(request: Request, q: str = "") -> Response:
    """Patients by name, date of birth or MRN; an HTMX request gets the result table only."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    query = q.strip()[:200]
    try:
        found = (
            web_context(request).centre.queries.search_patients(viewer.actor, query)
            if query
            else []
        )
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    name = "_patient_results.html" if request.headers.get("HX-Request") else "patients.html"
    return render(request, name, viewer, patients=found, q=query, searched=bool(query))


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def edit_patient_page(request: Request, patient_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        patient = web_context(request).centre.queries.get_patient(viewer.actor, patient_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    return _form_page(request, viewer, patient=patient, values=values_of(patient))


@router.post("/patients/{patient_id}/edit", response_class=HTMLResponse)
async def edit_patient(request: Request, patient_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    centre = web_context(request).centre
    try:
        fields = await posted_fields(request, viewer)
        patient = centre.queries.get_patient(viewer.actor, patient_id)
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    try:
        centre.records.update_patient(viewer.actor, patient_id, patient_values(fields))
    except MsinfusionError as error:
        shown = refusal("patient", error)
        if shown.status in (401, 403, 404):
            return error_page(request, viewer, error)
        kept = {k: v for k, v in fields.items() if k != "csrf_token"}
        return _form_page(request, viewer, patient=patient, values=kept, form_error=shown)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)
