"""Synthetic clinical histories for the demo centre: a course in progress and its screening.

Every demo patient's order starts so that the booked dose is due on the demo day; the doses
before it are recorded as given elsewhere on their due dates, and a screening set of results,
all synthetic, passes the gates of that dose. One patient (``MISSING_PREGNANCY_TEST``) has no
pregnancy test yet, so the patient page shows a missing gate that would block the start — the
booking itself is allowed, because the test can still be done before the dose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from msinfusion.application.audit import Actor
from msinfusion.application.centre import Centre
from msinfusion.application.records import Patient, TherapyOrder
from msinfusion.planning import course_data
from msinfusion.planning.calendar_units import shift
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder
from msinfusion.planning.patient_record import ALEMTUZUMAB_EU_CONTRAINDICATIONS, LAB_TESTS

DEMO_OPTIONS: dict[str, dict[str, str]] = {
    "rituximab": {"regimen": "hermes"},
    "methylprednisolone": {"days": "3"},
}
"""Order options the demo picks where a therapy requires one (a prescriber's choice)."""

NORMAL_RESULTS: tuple[dict[str, Any], ...] = (
    {"test": "hbsag", "positive": False},
    {"test": "anti_hbc", "positive": False},
    {"test": "hcv_antibody", "positive": False},
    {"test": "hiv", "positive": False},
    {"test": "tb_screen", "positive": False},
    {"test": "vzv_igg", "positive": True},
    {"test": "anti_jcv", "positive": False, "assay": "STRATIFY JCV DxSelect"},
    {"test": "serum_immunoglobulins", "abnormal": False},
    {"test": "ecg", "abnormal": False},
    {"test": "urinalysis", "abnormal": False},
    {"test": "urine_protein_creatinine_ratio", "abnormal": False},
    {"test": "tsh", "abnormal": False},
    {"test": "creatinine", "abnormal": False},
)
"""Screening results before the course (synthetic), as lab entries without a date."""

BEFORE_EACH_DOSE: tuple[dict[str, Any], ...] = (
    {"test": "cbc_diff", "abnormal": False},
    {"test": "platelets", "abnormal": False},
    {"test": "neutrophils_per_mm3", "value": 3200},
    {"test": "lvef_pct", "value": 61},
    {"test": "mri_brain", "abnormal": False},
    *({"test": t, "abnormal": False} for t in ("alt", "ast", "alp", "bilirubin")),
)
"""Results drawn a few days before the booked dose (synthetic)."""

TODAY_FINDINGS: tuple[tuple[str, bool], ...] = (
    ("active_infection", False),
    ("pml", False),
    ("touch_authorized", True),
    ("touch_checklist_stop", False),
    ("immunocompromised", False),
    ("immunosuppressant_current", False),
    ("lemtrada_rems_authorized", True),
    ("anticoagulant_or_antiplatelet", False),
    *((name, False) for name in ALEMTUZUMAB_EU_CONTRAINDICATIONS),
)
"""Same-day assessments (synthetic): REMS authorisations, checklists, contraindications."""
MISSING_PREGNANCY_TEST = 9
"""The (0-based) demo patient, booked after ``now``, whose pregnancy test is not yet on file."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCourse:
    start: date
    given: tuple[tuple[int, date], ...]


def course_for(therapy_id: str, dose_number: int, day: date) -> DemoCourse:
    """An order start that makes dose ``dose_number`` due on ``day``, with the doses before it
    given on their due dates."""
    options = DEMO_OPTIONS.get(therapy_id, {})
    probe = plan_course(CourseOrder.create(therapy_id=therapy_id, start=day, options=options))
    start = day - (probe.dose(dose_number).due - day)
    plan = plan_course(CourseOrder.create(therapy_id=therapy_id, start=start, options=options))
    given = tuple((d.dose_number, d.due) for d in plan.doses if d.dose_number < dose_number)
    return DemoCourse(start=start, given=given)


def record_history(
    centre: Centre,
    nurse: Actor,
    *,
    patient: Patient,
    order: TherapyOrder,
    course: DemoCourse,
    day: date,
    index: int,
) -> None:
    """The synthetic record that lets the demo patient's booked dose go ahead."""
    clinical = centre.clinical
    for number, given_on in course.given:
        item = {"order_id": order.id, "dose_number": number, "on": given_on.isoformat()}
        clinical.record(nurse, patient.id, "given-dose", item)
    screened = (course.start - timedelta(days=21)).isoformat()
    for result in NORMAL_RESULTS:
        clinical.record(nurse, patient.id, "lab", {**result, "on": screened})
    recent = (day - timedelta(days=3)).isoformat()
    for result in BEFORE_EACH_DOSE:
        clinical.record(nurse, patient.id, "lab", {**result, "on": recent})
    awaiting_test = index == MISSING_PREGNANCY_TEST
    female = patient.sex == "female" or awaiting_test
    if female and not awaiting_test:
        clinical.record(
            nurse, patient.id, "lab", {"test": "pregnancy_test", "on": recent, "positive": False}
        )
    clinical.record(
        nurse,
        patient.id,
        "profile",
        {
            "on": screened,
            "can_become_pregnant": female,
            "prior_immunosuppressant": False,
            "vaccination_history_reviewed": True,
            "relapse_onset": (day - timedelta(days=4)).isoformat(),
        },
    )
    for name, present in TODAY_FINDINGS:
        item = {"name": name, "on": day.isoformat(), "present": present}
        clinical.record(nurse, patient.id, "finding", item)
    prior = f"prior_{order.therapy_id}_mg_per_m2"
    if prior in LAB_TESTS:  # lifetime exposure stated: none (synthetic)
        clinical.record(nurse, patient.id, "lab", {"test": prior, "on": screened, "value": 0})
    reinform = course_data.interval("natalizumab.reinformation_after")
    if course.given and shift(course.given[0][1], reinform) <= day:
        item = {"name": "natalizumab_reinformed", "on": day.isoformat(), "present": True}
        clinical.record(nurse, patient.id, "finding", item)
