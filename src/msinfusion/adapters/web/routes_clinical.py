"""A patient's stored clinical record (labs, vaccinations, findings, gate overrides, profile,
doses given elsewhere, retractions) and the course overview read from it. Routes only call the
application layer; an entry is validated there (docs/clinical/courses.md, section 6).

A retraction of another role's entry answers 201 with ``cosignature.status`` ``"pending"``: it is
stored but retracts nothing until a co-signer posts ``{"kind": "retraction", "item": {"cosigns":
id}}`` (docs/clinical/safety-across-visits.md, "Co-signed retraction")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import IsoDate
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.application.clinical_record_view import (
    Cosignature,
    cosignatures,
    pending_retractions,
)
from msinfusion.application.clinical_records import PatientCourses, retracted_ids
from msinfusion.application.records import ClinicalEntry
from msinfusion.planning.course_check import course_check_to_dict

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

EntryKind = Literal[
    "lab",
    "vaccination",
    "finding",
    "override",
    "profile",
    "given-dose",
    "retraction",
    "programme-form",
]


class ClinicalEntryIn(BaseModel):
    """One entry: ``kind`` and its ``item`` in the course-check file's shape."""

    model_config = ConfigDict(extra="forbid")

    kind: EntryKind
    item: dict[str, Any] = Field(
        description="lab {test, on, value?, positive?, abnormal?, assay?}; vaccination {on, "
        "live, name}; finding {name, on, present}; override {gate_id, on, justification} "
        "(physician); profile {can_become_pregnant?, prior_immunosuppressant?, "
        "vaccination_history_reviewed?, relapse_onset?, on?}; given-dose {order_id, "
        "dose_number, on, mg_per_m2?}; retraction {entry_id, reason} (of another role's entry: "
        "pending until co-signed); co-signature of a pending retraction: retraction {cosigns, "
        "entry_id?}; programme-form {form, order_id, dose_number, on, answers {question id: "
        "true/false, every question}, infused?, submitted_on?} (the TOUCH Pre-infusion "
        "Patient Checklist: form touch-pre-infusion-checklist)",
        max_length=20,
    )


def cosignature_to_dict(state: Cosignature | None) -> dict[str, Any] | None:
    """A retraction's co-signature: null when it needed none; else its status (``pending``:
    it retracts nothing yet; ``signed``), the roles that may sign, and who signed, when."""
    if state is None:
        return None
    signature = state.signature
    return {
        "status": "pending" if signature is None else "signed",
        "roles": list(state.roles),
        "signed_by": None if signature is None else signature.recorded_by,
        "signed_at": None if signature is None else signature.recorded_at.isoformat(),
        "signature_id": None if signature is None else signature.id,
    }


def entry_to_dict(
    entry: ClinicalEntry,
    *,
    retracted: bool = False,
    pending_retraction: str | None = None,
    cosignature: Cosignature | None = None,
) -> dict[str, Any]:
    """One entry; ``pending_retraction`` names a retraction of it waiting for co-signature
    (the entry still counts), ``cosignature`` is a retraction's co-signature state."""
    return {
        "id": entry.id,
        "patient_id": entry.patient_id,
        "kind": entry.kind.value,
        "on": entry.on.isoformat(),
        "data": dict(entry.data),
        "recorded_at": entry.recorded_at.isoformat(),
        "recorded_by": entry.recorded_by,
        "retracted": retracted,
        "pending_retraction": pending_retraction,
        "cosignature": cosignature_to_dict(cosignature),
    }


def courses_to_dict(courses: PatientCourses) -> dict[str, Any]:
    return {
        "patient_id": courses.patient_id,
        "as_of": courses.as_of.isoformat(),
        "flags": list(courses.flags),
        "problems": list(courses.problems),
        "courses": [
            {
                "order_id": c.order.id,
                "therapy_id": c.order.therapy_id,
                **course_check_to_dict(c.check),
            }
            for c in courses.courses
        ],
    }


@router.get("/patients/{patient_id}/clinical-entries", tags=["clinical record"])
def list_entries(request: Request, actor: ActorDep, patient_id: PathId) -> list[dict[str, Any]]:
    """The patient's entries in the order recorded; ``retracted`` marks entries made in error,
    ``pending_retraction`` a retraction still waiting for its co-signature."""
    entries = web_context(request).centre.clinical.list_entries(actor, patient_id)
    retracted = retracted_ids(entries)
    pending = pending_retractions(entries)
    signatures = cosignatures(entries)
    return [
        entry_to_dict(
            e,
            retracted=e.id in retracted,
            pending_retraction=pending[e.id].id if e.id in pending else None,
            cosignature=signatures.get(e.id),
        )
        for e in entries
    ]


@router.post("/patients/{patient_id}/clinical-entries", tags=["clinical record"], status_code=201)
def add_entry(
    request: Request, actor: ActorDep, patient_id: PathId, body: ClinicalEntryIn
) -> dict[str, Any]:
    """Record one entry (append-only; correct one with a ``retraction``). Overrides and their
    retractions are a physician's; everything else needs ``record_clinical``. A retraction of an
    entry another role made is stored pending (``cosignature.status``) until a user of that role
    or a physician co-signs it with ``{"cosigns": id}`` (``cosign_retraction``)."""
    entry = web_context(request).centre.clinical.record(actor, patient_id, body.kind, body.item)
    return entry_to_dict(entry, cosignature=cosignatures([entry]).get(entry.id))


@router.get("/patients/{patient_id}/courses", tags=["clinical record"])
def patient_courses(
    request: Request,
    actor: ActorDep,
    patient_id: PathId,
    as_of: Annotated[IsoDate | None, Query(description="Default: today at the centre")] = None,
) -> dict[str, Any]:
    """Every active order's calendar, next-dose gates, monitoring and risks, with the flags."""
    courses = web_context(request).centre.clinical.courses(actor, patient_id, as_of=as_of)
    return courses_to_dict(courses)
