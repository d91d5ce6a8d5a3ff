"""Therapy rules from the REMS and label dossier (rems-and-label-rules.md), worked by hand.

Jurisdiction as data on the gates; natalizumab JCV serostatus (NTZEU-15), immune status and
the EU 24-month re-information; the Lemtrada REMS gate, EU checklist and monitoring;
mitoxantrone prior exposure stated and the EU rule against re-treatment.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from msinfusion.adapters.web.settings import Settings, parse_jurisdiction
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning.course_check import check_course, gates_for_dose, gates_without_order
from msinfusion.planning.course_options import with_jurisdiction
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.gate_rules import GATES
from msinfusion.planning.gates import DoseContext, GateResult, GateStatus, evaluate_gates
from msinfusion.planning.jcv_status import JcvStatus, read_serostatus
from msinfusion.planning.monitoring_calendar import monitoring_items, record_results
from msinfusion.planning.patient_record import (
    ALEMTUZUMAB_EU_CONTRAINDICATIONS,
    Finding,
    LabResult,
    Override,
    PatientRecord,
)
from msinfusion.planning.risk import pml_risk

D = date.fromisoformat
DAY = D("2026-03-02")


def rec(**kw: object) -> PatientRecord:
    return PatientRecord(patient_id="p1", **kw)  # type: ignore[arg-type]


def ctx(therapy: str, jurisdiction: str | None = None, **kw: object) -> DoseContext:
    fields: dict[str, object] = {
        "dose_number": 1,
        "on": DAY,
        "course_start": True,
        "previous_dose_on": None,
        **kw,
    }
    return DoseContext(therapy_id=therapy, jurisdiction=jurisdiction, **fields)  # type: ignore[arg-type]


def gate(gate_id: str, record: PatientRecord, context: DoseContext) -> GateResult | None:
    found = [r for r in evaluate_gates(GATES, record, context) if r.gate_id == gate_id]
    return found[0] if found else None


def jcv(index: str | None = None, positive: bool | None = None, **kw: object) -> LabResult:
    value = None if index is None else Decimal(index)
    return LabResult(test="anti_jcv", on=D("2026-02-20"), value=value, positive=positive, **kw)  # type: ignore[arg-type]


# -- jurisdiction ------------------------------------------------------------------------------


def test_touch_gates_apply_in_the_us_and_when_unknown_never_in_the_eu() -> None:
    touch = {"touch_authorized", "touch_checklist"}
    for jurisdiction, expected in (("US", touch), (None, touch), ("EU", set())):
        found = {r.gate_id for r in evaluate_gates(GATES, rec(), ctx("natalizumab", jurisdiction))}
        assert found & touch == expected, jurisdiction
    eu_only = "natalizumab_reinformation_24_months"
    assert gate(eu_only, rec(), ctx("natalizumab", "US")) is None
    assert gate(eu_only, rec(), ctx("natalizumab", "EU")) is not None
    assert gate(eu_only, rec(), ctx("natalizumab")) is not None


def test_jurisdiction_applicability_is_data_on_the_gate() -> None:
    by_id = {g.id: g for g in GATES}
    assert by_id["touch_authorized"].jurisdictions == {"US"}
    assert by_id["alemtuzumab_rems_authorized"].jurisdictions == {"US"}
    assert by_id["alemtuzumab_eu_contraindications"].jurisdictions == {"EU"}
    assert by_id["mitoxantrone_no_retreatment"].jurisdictions == {"EU"}
    assert by_id["natalizumab_no_pml"].jurisdictions == frozenset()
    assert by_id["touch_authorized"].applies_in(None)


def test_the_centre_jurisdiction_applies_unless_the_order_names_its_own() -> None:
    order = CourseOrder.create(therapy_id="mitoxantrone", start=DAY)
    assert plan_course(with_jurisdiction(order, "EU")).jurisdiction == "EU"
    assert plan_course(with_jurisdiction(order, None)).jurisdiction is None
    own = CourseOrder.create(therapy_id="mitoxantrone", start=DAY, options={"jurisdiction": "US"})
    assert plan_course(with_jurisdiction(own, "EU")).jurisdiction == "US"
    # EU: 72 mg/m2 = 6 doses of 12; US (the order's own): 140 = 11 doses
    assert len(plan_course(with_jurisdiction(order, "EU")).doses) == 6
    assert len(plan_course(with_jurisdiction(own, "EU")).doses) == 11
    with pytest.raises(InvalidCourseOrder):
        with_jurisdiction(order, "UK")


def test_check_course_follows_the_centre_jurisdiction() -> None:
    order = CourseOrder.create(therapy_id="natalizumab", start=DAY)
    eu = check_course(order, rec(), as_of=DAY, jurisdiction="EU")
    assert eu.calendar.jurisdiction == "EU"
    assert not {g.gate_id for g in eu.gates} & {"touch_authorized", "touch_checklist"}
    unknown = {g.gate_id for g in check_course(order, rec(), as_of=DAY).gates}
    assert {"touch_authorized", "touch_checklist"} <= unknown
    none = gates_without_order(
        "natalizumab",
        rec(),
        dose_number=1,
        on=DAY,
        previous_dose_on=None,
        course_start=True,
        jurisdiction="EU",
    )
    assert "touch_authorized" not in {g.gate_id for g in none.gates}


def test_settings_read_the_jurisdiction() -> None:
    assert Settings.from_env({"MSINFUSION_JURISDICTION": "eu"}).jurisdiction == "EU"
    assert Settings.from_env({"MSINFUSION_JURISDICTION": "US"}).jurisdiction == "US"
    assert Settings.from_env({}).jurisdiction is None
    assert parse_jurisdiction("  ") is None
    with pytest.raises(ValueError, match="MSINFUSION_JURISDICTION"):
        Settings.from_env({"MSINFUSION_JURISDICTION": "UK"})


# -- natalizumab: JCV serostatus ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "status"),
    [
        ("0.1", JcvStatus.NEGATIVE),
        ("0.19", JcvStatus.NEGATIVE),
        ("0.20", JcvStatus.INDETERMINATE),
        ("0.3", JcvStatus.INDETERMINATE),
        ("0.40", JcvStatus.INDETERMINATE),
        ("0.41", JcvStatus.POSITIVE),
        ("1.2", JcvStatus.POSITIVE),
    ],
)
def test_an_index_without_serostatus_reads_by_the_stratify_cut_offs(
    index: str, status: JcvStatus
) -> None:
    assert read_serostatus(None, Decimal(index), None).status is status
    assert read_serostatus(None, Decimal(index), "STRATIFY JCV DxSelect").status is status


def test_a_stated_serostatus_wins_and_other_assays_are_not_read() -> None:
    assert read_serostatus(True, Decimal("0.1"), None).status is JcvStatus.POSITIVE
    assert read_serostatus(False, Decimal("0.9"), None).status is JcvStatus.NEGATIVE
    assert read_serostatus(None, Decimal("0.1"), "Labcorp JCV").status is JcvStatus.UNKNOWN
    assert read_serostatus(None, None, None).status is JcvStatus.UNKNOWN


def test_index_0_1_without_serostatus_is_negative_not_1_1_per_1000() -> None:
    # Before: read as positive, low index, 25-48 months -> 1.1 per 1000. Now negative, no prior
    # immunosuppressant, 25-48 months -> table A row negative-no-is: 0.2 per 1000.
    risk = pml_risk(
        jcv_positive=None, index=Decimal("0.1"), prior_immunosuppressant=False, months=30
    )
    assert (risk.row, risk.risk_per_1000) == ("negative-no-is", Decimal("0.2"))
    stated = pml_risk(
        jcv_positive=True, index=Decimal("0.1"), prior_immunosuppressant=False, months=30
    )
    assert (stated.row, stated.risk_per_1000) == ("positive-no-is-index-low", Decimal("1.1"))


def test_index_0_3_without_serostatus_is_indeterminate_gate_missing_no_risk_number() -> None:
    risk = pml_risk(
        jcv_positive=None, index=Decimal("0.3"), prior_immunosuppressant=False, months=30
    )
    assert risk.risk_per_1000 is None
    assert risk.row == "serostatus-indeterminate"
    assert "Retest" in risk.note
    found = gate("natalizumab_anti_jcv", rec(labs=(jcv("0.3"),)), ctx("natalizumab"))
    assert found is not None
    assert found.status is GateStatus.MISSING
    assert "indeterminate" in found.reason
    # through the course check: no PML number, the gate missing, 6-monthly retest calendar
    order = CourseOrder.create(therapy_id="natalizumab", start=DAY)
    record = rec(prior_immunosuppressant=False, labs=(jcv("0.3"),))
    check = check_course(order, record, as_of=DAY)
    assert check.pml is not None
    assert check.pml.risk_per_1000 is None
    jcv_gate = next(g for g in check.gates if g.gate_id == "natalizumab_anti_jcv")
    assert jcv_gate.status is GateStatus.MISSING
    ids = {i.id: i for i in monitoring_items(check.calendar, record)}
    assert ids["natalizumab_anti_jcv"].title == "Anti-JCV antibody (index)"
    assert ids["natalizumab_anti_jcv"].dates[:2] == (DAY, D("2026-09-02"))
    assert "natalizumab_mri_pml" not in ids


def test_index_0_41_without_serostatus_is_positive_and_gets_its_risk() -> None:
    risk = pml_risk(
        jcv_positive=None, index=Decimal("0.41"), prior_immunosuppressant=False, months=30
    )
    assert (risk.row, risk.risk_per_1000) == ("positive-no-is-index-low", Decimal("1.1"))
    found = gate("natalizumab_anti_jcv", rec(labs=(jcv("0.41"),)), ctx("natalizumab"))
    assert found is not None
    assert found.status is GateStatus.PASS
    assert "reads positive" in found.reason


# -- natalizumab: immune status ----------------------------------------------------------------


def immune(compromised: bool, suppressant: bool, on: date = DAY) -> tuple[Finding, ...]:
    return (
        Finding(name="immunocompromised", on=on, present=compromised),
        Finding(name="immunosuppressant_current", on=on, present=suppressant),
    )


def test_immunocompromise_blocks_and_only_a_us_prescriber_may_decide() -> None:
    override = Override(
        gate_id="natalizumab_immune_status", physician_id="dr", justification="x", on=DAY
    )
    record = rec(findings=immune(False, True), overrides=(override,))
    us = gate("natalizumab_immune_status", record, ctx("natalizumab", "US"))
    assert us is not None
    assert (us.status, us.overridable, us.override) == (GateStatus.FAIL, True, override)
    assert not us.blocks
    for jurisdiction in ("EU", None):
        found = gate("natalizumab_immune_status", record, ctx("natalizumab", jurisdiction))
        assert found is not None
        assert (found.status, found.overridable, found.override) == (GateStatus.FAIL, False, None)
        assert found.blocks
        assert "NTZEU-10" in found.reason


def test_immune_status_is_asked_on_the_day_of_the_infusion() -> None:
    yesterday = immune(False, False, on=DAY - timedelta(days=1))
    found = gate("natalizumab_immune_status", rec(findings=yesterday), ctx("natalizumab"))
    assert found is not None
    assert found.status is GateStatus.MISSING
    ok = gate("natalizumab_immune_status", rec(findings=immune(False, False)), ctx("natalizumab"))
    assert ok is not None
    assert ok.status is GateStatus.PASS


# -- natalizumab: EU re-information at 24 months -----------------------------------------------

START = D("2024-03-04")  # dose k due START + 28 (k - 1) days; 24 months later: 2026-03-04
GIVEN_26 = tuple(
    GivenDose(dose_number=k, on=START + timedelta(days=28 * (k - 1))) for k in range(1, 27)
)


def reinform(on: date, *, present: bool = True) -> Finding:
    return Finding(name="natalizumab_reinformed", on=on, present=present)


def reinformation(record: PatientRecord, on: date) -> GateResult:
    order = CourseOrder.create(therapy_id="natalizumab", start=START, given=GIVEN_26)
    gates = gates_for_dose(order, record, dose_number=27, on=on, jurisdiction="EU").gates
    return next(g for g in gates if g.gate_id == "natalizumab_reinformation_24_months")


def test_re_information_is_due_exactly_24_months_after_the_first_dose() -> None:
    assert GIVEN_26[-1].on == D("2026-02-02")  # dose 26 = START + 700 days; dose 27 due 2026-03-02
    before = reinformation(rec(), D("2026-03-03"))
    assert before.status is GateStatus.NOT_APPLICABLE
    assert "2026-03-04" in before.reason
    due = reinformation(rec(), D("2026-03-04"))
    assert (due.status, due.blocks) == (GateStatus.MISSING, True)
    # informed the day before the 24 months does not count; on the day it does
    assert reinformation(rec(findings=(reinform(D("2026-03-03")),)), D("2026-03-04")).status is (
        GateStatus.MISSING
    )
    done = reinformation(rec(findings=(reinform(D("2026-03-04")),)), D("2026-03-04"))
    assert done.status is GateStatus.PASS
    refused = rec(findings=(reinform(D("2026-03-04"), present=False),))
    assert reinformation(refused, D("2026-03-04")).status is GateStatus.FAIL


def test_re_information_passes_later_doses_and_needs_a_first_dose_date() -> None:
    context = ctx("natalizumab", "EU", dose_number=30, first_dose_on=START, on=D("2026-05-25"))
    found = gate(
        "natalizumab_reinformation_24_months", rec(findings=(reinform(D("2026-03-04")),)), context
    )
    assert found is not None
    assert found.status is GateStatus.PASS
    no_order = ctx("natalizumab", "EU", dose_number=30, on=D("2026-05-25"))
    missing = gate("natalizumab_reinformation_24_months", rec(), no_order)
    assert missing is not None
    assert missing.status is GateStatus.MISSING


# -- alemtuzumab -------------------------------------------------------------------------------


def test_lemtrada_rems_authorisation_before_every_us_infusion() -> None:
    authorised = rec(findings=(Finding(name="lemtrada_rems_authorized", on=DAY, present=True),))
    later = ctx("alemtuzumab", "US", dose_number=3, course_start=False, previous_dose_on=DAY)
    found = gate("alemtuzumab_rems_authorized", authorised, later)
    assert found is not None
    assert found.status is GateStatus.PASS
    missing = gate("alemtuzumab_rems_authorized", rec(), later)
    assert missing is not None
    assert (missing.status, missing.blocks) == (GateStatus.MISSING, True)
    assert gate("alemtuzumab_rems_authorized", rec(), ctx("alemtuzumab", "EU")) is None


def clear(on: date) -> tuple[Finding, ...]:
    return tuple(Finding(name=n, on=on, present=False) for n in ALEMTUZUMAB_EU_CONTRAINDICATIONS)


def test_the_eu_contraindication_checklist_before_each_course() -> None:
    course_2 = ctx("alemtuzumab", "EU", dose_number=6, previous_dose_on=D("2025-03-07"))
    ok = gate("alemtuzumab_eu_contraindications", rec(findings=clear(D("2026-02-20"))), course_2)
    assert ok is not None
    assert ok.status is GateStatus.PASS
    stale = gate("alemtuzumab_eu_contraindications", rec(findings=clear(D("2025-02-20"))), course_2)
    assert stale is not None
    assert stale.status is GateStatus.MISSING  # assessed before course 1 only
    stroke = (
        *clear(D("2026-02-20")),
        Finding(name="history_stroke", on=D("2026-02-21"), present=True),
    )
    failed = gate("alemtuzumab_eu_contraindications", rec(findings=stroke), course_2)
    assert failed is not None
    assert (failed.status, failed.overridable) == (GateStatus.FAIL, False)
    assert "history_stroke" in failed.reason
    # not within a course, and not in the US
    day_2 = ctx("alemtuzumab", "EU", dose_number=2, course_start=False, previous_dose_on=DAY)
    assert gate("alemtuzumab_eu_contraindications", rec(), day_2) is None
    assert gate("alemtuzumab_eu_contraindications", rec(), ctx("alemtuzumab", "US")) is None


def test_anticoagulation_is_an_unverified_prescriber_decision() -> None:
    on_drug = rec(findings=(Finding(name="anticoagulant_or_antiplatelet", on=DAY, present=True),))
    found = gate("alemtuzumab_eu_anticoagulation", on_drug, ctx("alemtuzumab"))
    assert found is not None
    assert (found.status, found.overridable, found.verified) == (GateStatus.FAIL, True, False)


def alemtuzumab_items(jurisdiction: str, record: PatientRecord | None = None) -> dict[str, object]:
    order = CourseOrder.create(
        therapy_id="alemtuzumab", start=D("2026-01-05"), options={"jurisdiction": jurisdiction}
    )
    return {i.id: i for i in monitoring_items(plan_course(order), record)}


def test_alemtuzumab_cervical_screening_yearly_for_women() -> None:
    # course 1 2026-01-05..09, course 2 2027-01-05..07: horizon 2031-01-07
    eu = alemtuzumab_items("EU", rec(sex="female"))
    cervical = eu["alemtuzumab_cervical_screening"]
    assert cervical.dates == tuple(D(f"{y}-01-05") for y in range(2026, 2032))  # type: ignore[attr-defined]
    assert cervical.verified  # type: ignore[attr-defined]
    us = alemtuzumab_items("US", rec(sex="female"))["alemtuzumab_cervical_screening"]
    assert not us.verified  # type: ignore[attr-defined]  # LEMUS-13 grade C
    assert "alemtuzumab_cervical_screening" not in alemtuzumab_items("EU", rec(sex="male"))
    unknown = alemtuzumab_items("EU", rec())["alemtuzumab_cervical_screening"]
    assert "sex not recorded" in unknown.title  # type: ignore[attr-defined]


def test_alemtuzumab_liver_tests_us_only_cadence_unverified() -> None:
    us = alemtuzumab_items("US")
    for test in ("alt", "ast", "bilirubin"):
        item = us[f"alemtuzumab_{test}"]
        assert item.dates[:3] == (D("2026-01-05"), D("2026-04-05"), D("2026-07-05"))  # type: ignore[attr-defined]
        assert item.dates[-1] == D("2031-01-05")  # type: ignore[attr-defined]
        assert not item.verified  # type: ignore[attr-defined]
    assert "alemtuzumab_alt" not in alemtuzumab_items("EU")


def test_herpes_prophylaxis_us_two_months_or_cd4_200_eu_one_month() -> None:
    eu = alemtuzumab_items("EU")
    course_1 = eu["alemtuzumab_herpes_prophylaxis_course_1"]
    assert course_1.dates == (D("2026-01-05"), D("2026-02-09"))  # type: ignore[attr-defined]
    assert eu["alemtuzumab_herpes_prophylaxis_course_2"].dates == (  # type: ignore[attr-defined]
        D("2027-01-05"),
        D("2027-02-07"),
    )
    us = alemtuzumab_items("US")["alemtuzumab_herpes_prophylaxis_course_1"]
    assert us.dates == (D("2026-01-05"), D("2026-03-09"))  # type: ignore[attr-defined]
    assert "not yet recorded" in us.title  # type: ignore[attr-defined]
    cd4 = rec(
        labs=(
            LabResult(test="cd4_per_ul", on=D("2026-03-01"), value=Decimal(150)),
            LabResult(test="cd4_per_ul", on=D("2026-04-15"), value=Decimal(230)),
        )
    )
    late = alemtuzumab_items("US", cd4)["alemtuzumab_herpes_prophylaxis_course_1"]
    assert late.dates == (D("2026-01-05"), D("2026-04-15"))  # type: ignore[attr-defined]
    early = rec(labs=(LabResult(test="cd4_per_ul", on=D("2026-02-01"), value=Decimal(260)),))
    kept = alemtuzumab_items("US", early)["alemtuzumab_herpes_prophylaxis_course_1"]
    assert kept.dates[1] == D("2026-03-09")  # type: ignore[attr-defined]  # the later of the two


def test_herpes_prophylaxis_not_taken_is_flagged() -> None:
    item = alemtuzumab_items("EU")["alemtuzumab_herpes_prophylaxis_course_1"]
    record = rec(labs=(LabResult(test="herpes_prophylaxis", on=D("2026-01-05"), positive=False),))
    slots = record_results(item, record, D("2026-01-06"))  # type: ignore[arg-type]
    assert slots[0].abnormal
    assert slots[0].status.value == "done"


# -- mitoxantrone ------------------------------------------------------------------------------


def prior(mg: int) -> LabResult:
    return LabResult(test="prior_mitoxantrone_mg_per_m2", on=D("2026-02-01"), value=Decimal(mg))


def mitoxantrone_gates(
    record: PatientRecord, jurisdiction: str | None, **options: str
) -> dict[str, GateResult]:
    order = CourseOrder.create(therapy_id="mitoxantrone", start=DAY, options=options)
    check = check_course(order, record, as_of=DAY, jurisdiction=jurisdiction)
    return {g.gate_id: g for g in check.gates}


def test_prior_exposure_not_stated_is_a_missing_gate_not_zero() -> None:
    found = mitoxantrone_gates(rec(), None)
    assert found["mitoxantrone_cumulative"].status is GateStatus.MISSING
    assert "not stated" in found["mitoxantrone_cumulative"].reason
    assert found["mitoxantrone_no_retreatment"].status is GateStatus.MISSING


def test_prior_exposure_stated_as_zero_passes() -> None:
    by_record = mitoxantrone_gates(rec(labs=(prior(0),)), "EU")
    assert by_record["mitoxantrone_cumulative"].reason == "12 of 72 mg/m2 after this dose"
    assert by_record["mitoxantrone_no_retreatment"].status is GateStatus.PASS
    by_order = mitoxantrone_gates(rec(), "EU", prior_mg_per_m2="0")
    assert by_order["mitoxantrone_cumulative"].status is GateStatus.PASS


def test_eu_no_re_treatment_fails_without_override_us_counts_the_limit() -> None:
    override = Override(
        gate_id="mitoxantrone_no_retreatment", physician_id="dr", justification="x", on=DAY
    )
    treated = rec(labs=(prior(12),), overrides=(override,))
    for jurisdiction in ("EU", None):
        found = mitoxantrone_gates(treated, jurisdiction)
        no_again = found["mitoxantrone_no_retreatment"]
        assert (no_again.status, no_again.overridable, no_again.blocks) == (
            GateStatus.FAIL,
            False,
            True,
        )
        assert found["mitoxantrone_cumulative"].reason == "24 of 72 mg/m2 after this dose"
    us = mitoxantrone_gates(treated, "US")
    assert "mitoxantrone_no_retreatment" not in us
    assert us["mitoxantrone_cumulative"].reason == "24 of 140 mg/m2 after this dose"


def test_order_and_record_both_stating_prior_exposure_take_the_larger() -> None:
    found = mitoxantrone_gates(rec(labs=(prior(60),)), "US", prior_mg_per_m2="12")
    assert found["mitoxantrone_cumulative"].reason == "72 of 140 mg/m2 after this dose"
