"""What gates and monitoring read about a patient: dated results, vaccinations, findings, overrides.

Test names are plain snake_case words (``hbsag``, ``anti_hbc``, ``serum_immunoglobulins``,
``alt``, ``lvef_pct``, ``neutrophils_per_mm3``, ``anti_jcv``, ``mri_brain``...); the full list
is in docs/clinical/courses.md and docs/clinical/therapy-rules.md. Findings are yes/no
assessments made on a date (``active_infection``, ``touch_authorized``, ``touch_checklist_stop``,
``pml``, ``lemtrada_rems_authorized``, the alemtuzumab EU contraindication checklist...).
``prior_mitoxantrone_mg_per_m2`` is a stated number, not a lab: the lifetime mitoxantrone
before this course, oncology use included (0 when none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from msinfusion.errors import InvalidCourseOrder

LAB_TESTS: frozenset[str] = frozenset(
    {
        "hbsag",
        "anti_hbc",
        "hcv_antibody",
        "serum_immunoglobulins",
        "alt",
        "ast",
        "alp",
        "bilirubin",
        "pregnancy_test",
        "anti_jcv",
        "mri_brain",
        "mri_brain_abbreviated",
        "vzv_igg",
        "hiv",
        "tb_screen",
        "cbc_diff",
        "creatinine",
        "urinalysis",
        "urine_protein_creatinine_ratio",
        "tsh",
        "ecg",
        "lvef_pct",
        "neutrophils_per_mm3",
        "platelets",
        "skin_exam",
        "rems_assessment",
        "cervical_screening",
        "cd4_per_ul",
        "herpes_prophylaxis",
        "prior_mitoxantrone_mg_per_m2",
    }
)
"""Every test a gate or a monitoring calendar reads; a stored result must name one of them."""

NUMBER_ENTRIES: frozenset[str] = frozenset({"prior_mitoxantrone_mg_per_m2"})
"""Entries of ``LAB_TESTS`` that are a stated number >= 0 (a value is required)."""

ALEMTUZUMAB_EU_CONTRAINDICATIONS: tuple[str, ...] = (
    "autoimmune_disease_other_than_ms",
    "uncontrolled_hypertension",
    "history_cervicocephalic_dissection",
    "history_stroke",
    "history_mi_or_angina",
    "bleeding_disorder",
)
"""The EU leaflet's contraindication checklist (LEMEU-02) beyond HIV, infection and allergy,
which have their own gates or belong to the prescriber."""

FINDINGS: frozenset[str] = frozenset(
    {
        "active_infection",
        "pml",
        "touch_authorized",
        "touch_checklist_stop",
        "immunocompromised",
        "immunosuppressant_current",
        "natalizumab_reinformed",
        "lemtrada_rems_authorized",
        "anticoagulant_or_antiplatelet",
        *ALEMTUZUMAB_EU_CONTRAINDICATIONS,
    }
)
"""Every yes/no assessment a gate reads."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LabResult:
    """A dated result: a number (``value``), a positive/negative, and the lab's abnormal flag."""

    test: str
    on: date
    value: Decimal | None = None
    positive: bool | None = None
    abnormal: bool | None = None
    assay: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Vaccination:
    on: date
    live: bool
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A yes/no assessment made on a date (``present`` is the answer)."""

    name: str
    on: date
    present: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """A physician's justified override of one gate, for one dose date."""

    gate_id: str
    physician_id: str
    justification: str
    on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientRecord:
    patient_id: str
    sex: str | None = None
    """``female``, ``male``, other text, or None (not given: female-only items are shown)."""
    can_become_pregnant: bool | None = None
    prior_immunosuppressant: bool | None = None
    vaccination_history_reviewed: bool = False
    relapse_onset: date | None = None
    labs: tuple[LabResult, ...] = ()
    vaccinations: tuple[Vaccination, ...] = ()
    findings: tuple[Finding, ...] = ()
    overrides: tuple[Override, ...] = ()

    def latest(
        self, test: str, *, on_or_before: date, after: date | None = None
    ) -> LabResult | None:
        """The newest ``test`` result dated ``<= on_or_before`` (and ``> after`` if given)."""
        found = [
            lab
            for lab in self.labs
            if lab.test == test and lab.on <= on_or_before and (after is None or lab.on > after)
        ]
        return max(found, key=lambda lab: lab.on) if found else None

    def earliest(self, test: str) -> LabResult | None:
        found = [lab for lab in self.labs if lab.test == test]
        return min(found, key=lambda lab: lab.on) if found else None

    def finding_on(self, name: str, day: date) -> Finding | None:
        """The assessment ``name`` made on ``day`` (the last one recorded that day)."""
        found = [f for f in self.findings if f.name == name and f.on == day]
        return found[-1] if found else None

    def latest_finding(
        self, name: str, *, on_or_before: date, after: date | None = None
    ) -> Finding | None:
        """The newest assessment ``name`` dated ``<= on_or_before`` (and ``> after``); of two
        on that date, the one recorded last."""
        found = [
            f
            for f in self.findings
            if f.name == name and f.on <= on_or_before and (after is None or f.on > after)
        ]
        return sorted(found, key=lambda f: f.on)[-1] if found else None

    def ever(self, name: str, *, on_or_before: date) -> bool:
        return any(f.name == name and f.present and f.on <= on_or_before for f in self.findings)


def _date(raw: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidCourseOrder(f"{where}: '{raw}' is not an ISO date", field=where) from None


def _decimal(raw: Any, where: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InvalidCourseOrder(f"{where}: '{raw}' is not a number", field=where) from None
    if not value.is_finite():
        raise InvalidCourseOrder(f"{where}: '{raw}' is not a finite number", field=where)
    return value


def _bool(raw: Any, where: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise InvalidCourseOrder(f"{where}: '{raw}' must be true, false or null", field=where)


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidCourseOrder(f"{key} must be a list of objects", field=key)
    return items


def patient_record_from_dict(data: dict[str, Any]) -> PatientRecord:
    """Read the ``patient`` object of a check file (docs/clinical/courses.md)."""
    if not isinstance(data, dict) or not data.get("id"):
        raise InvalidCourseOrder("patient must be an object with an 'id'", field="patient.id")
    onset = data.get("relapse_onset")
    sex = data.get("sex")
    if sex is not None and not isinstance(sex, str):
        raise InvalidCourseOrder("sex must be text or null", field="sex")
    return PatientRecord(
        patient_id=str(data["id"]),
        sex=None if sex is None else sex.strip().lower() or None,
        can_become_pregnant=_bool(data.get("can_become_pregnant"), "can_become_pregnant"),
        prior_immunosuppressant=_bool(
            data.get("prior_immunosuppressant"), "prior_immunosuppressant"
        ),
        vaccination_history_reviewed=bool(data.get("vaccination_history_reviewed", False)),
        relapse_onset=None if onset is None else _date(onset, "relapse_onset"),
        labs=tuple(
            LabResult(
                test=str(item.get("test", "")),
                on=_date(item.get("on"), f"labs[{i}].on"),
                value=_decimal(item.get("value"), f"labs[{i}].value"),
                positive=_bool(item.get("positive"), f"labs[{i}].positive"),
                abnormal=_bool(item.get("abnormal"), f"labs[{i}].abnormal"),
                assay=item.get("assay"),
            )
            for i, item in enumerate(_items(data, "labs"))
        ),
        vaccinations=tuple(
            Vaccination(
                on=_date(item.get("on"), f"vaccinations[{i}].on"),
                live=bool(item.get("live", False)),
                name=str(item.get("name", "")),
            )
            for i, item in enumerate(_items(data, "vaccinations"))
        ),
        findings=tuple(
            Finding(
                name=str(item.get("name", "")),
                on=_date(item.get("on"), f"findings[{i}].on"),
                present=bool(item.get("present")),
            )
            for i, item in enumerate(_items(data, "findings"))
        ),
        overrides=tuple(
            Override(
                gate_id=str(item.get("gate_id", "")),
                physician_id=str(item.get("physician_id", "")),
                justification=str(item.get("justification", "")).strip(),
                on=_date(item.get("on"), f"overrides[{i}].on"),
            )
            for i, item in enumerate(_items(data, "overrides"))
        ),
    )
