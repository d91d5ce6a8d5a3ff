"""Every gate's pass, fail and missing; blocking and physician overrides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from msinfusion.errors import GateBlocked
from msinfusion.planning.gate_rules import GATES, OVERRIDABLE_GATE_IDS, gate_ids
from msinfusion.planning.gates import (
    DoseContext,
    GateResult,
    GateStatus,
    evaluate_gates,
    require_clear,
)
from msinfusion.planning.patient_record import (
    ALEMTUZUMAB_EU_CONTRAINDICATIONS,
    Finding,
    LabResult,
    Override,
    PatientRecord,
    Vaccination,
    patient_record_from_dict,
)

D = date.fromisoformat
DAY = D("2026-03-02")
PREVIOUS = D("2025-12-01")


def lab(test: str, on: str = "2026-02-20", **kw: object) -> LabResult:
    return LabResult(test=test, on=D(on), **kw)  # type: ignore[arg-type]


def ctx(
    therapy: str,
    *,
    dose_number: int = 1,
    jurisdiction: str | None = None,
    previous: date | None = None,
    **kw: object,
) -> DoseContext:
    return DoseContext(
        therapy_id=therapy,
        dose_number=dose_number,
        on=DAY,
        course_start=True,
        previous_dose_on=previous,
        jurisdiction=jurisdiction,
        **kw,
    )  # type: ignore[arg-type]


def result(gate_id: str, record: PatientRecord, context: DoseContext) -> GateResult:
    gate = next(g for g in GATES if g.id == gate_id)
    (found,) = evaluate_gates([gate], record, context)
    return found


def rec(**kw: object) -> PatientRecord:
    return PatientRecord(patient_id="p1", **kw)  # type: ignore[arg-type]


LIVER = tuple(lab(t) for t in ("alt", "ast", "alp", "bilirubin"))
MTX = {"dose_number": 2, "previous": PREVIOUS}
MTX_CUM = {
    "cumulative_before_mg_per_m2": Decimal(12),
    "dose_mg_per_m2": Decimal(12),
    "cumulative_limit_mg_per_m2": Decimal(72),
}
ALZ_BASE = tuple(
    lab(t)
    for t in (
        "cbc_diff",
        "creatinine",
        "urinalysis",
        "urine_protein_creatinine_ratio",
        "tsh",
        "alt",
        "ast",
        "bilirubin",
    )
)

NO_IMMUNOCOMPROMISE = Finding(name="immunocompromised", on=DAY, present=False)
IMMUNOCOMPROMISED = Finding(name="immunocompromised", on=DAY, present=True)
NO_IMMUNOSUPPRESSANT = Finding(name="immunosuppressant_current", on=DAY, present=False)
ALZ_EU_CLEAR = tuple(
    Finding(name=name, on=D("2026-02-20"), present=False)
    for name in ALEMTUZUMAB_EU_CONTRAINDICATIONS
)

# gate id -> (context, passing record, failing record, record with the item missing)
CASES: dict[str, tuple[DoseContext, PatientRecord, PatientRecord | None, PatientRecord]] = {
    "hbv_hbsag": (
        ctx("ocrelizumab"),
        rec(labs=(lab("hbsag", positive=False),)),
        rec(labs=(lab("hbsag", positive=True),)),
        rec(),
    ),
    "hbv_anti_hbc": (
        ctx("ublituximab"),
        rec(labs=(lab("anti_hbc", positive=False),)),
        rec(labs=(lab("anti_hbc", positive=True),)),
        rec(),
    ),
    "serum_immunoglobulins": (
        ctx("rituximab"),
        rec(labs=(lab("serum_immunoglobulins"),)),
        rec(labs=(lab("serum_immunoglobulins", abnormal=True),)),
        rec(),
    ),
    "anti_cd20_vaccination_timing": (
        ctx("ocrelizumab"),
        rec(
            vaccination_history_reviewed=True,
            vaccinations=(Vaccination(on=D("2026-01-10"), live=False),),
        ),
        rec(
            vaccination_history_reviewed=True,
            vaccinations=(Vaccination(on=D("2026-01-20"), live=False, name="influenza"),),
        ),
        rec(),
    ),
    "liver_tests": (
        ctx("ocrelizumab", jurisdiction="US"),
        rec(labs=LIVER),
        rec(labs=(*LIVER[:3], lab("bilirubin", abnormal=True))),
        rec(labs=LIVER[:3]),
    ),
    "active_infection": (
        ctx("ocrelizumab"),
        rec(findings=(Finding(name="active_infection", on=DAY, present=False),)),
        rec(findings=(Finding(name="active_infection", on=DAY, present=True),)),
        rec(findings=(Finding(name="active_infection", on=PREVIOUS, present=False),)),
    ),
    "ublituximab_pregnancy": (
        ctx("ublituximab"),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", "2026-03-02", positive=False),)),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", "2026-03-02", positive=True),)),
        rec(can_become_pregnant=True),
    ),
    "natalizumab_anti_jcv": (
        ctx("natalizumab"),
        rec(labs=(lab("anti_jcv", positive=True, value=Decimal("1.2")),)),
        None,
        rec(),
    ),
    "natalizumab_baseline_mri": (
        ctx("natalizumab"),
        rec(labs=(lab("mri_brain", "2025-12-15"),)),
        rec(labs=(lab("mri_brain", "2025-12-01"),)),
        rec(),
    ),
    "natalizumab_no_pml": (
        ctx("natalizumab"),
        rec(),
        rec(findings=(Finding(name="pml", on=D("2020-01-01"), present=True),)),
        None,
    ),  # type: ignore[dict-item]
    "touch_authorized": (
        ctx("natalizumab"),
        rec(findings=(Finding(name="touch_authorized", on=DAY, present=True),)),
        rec(findings=(Finding(name="touch_authorized", on=DAY, present=False),)),
        rec(),
    ),
    "touch_checklist": (
        ctx("natalizumab"),
        rec(findings=(Finding(name="touch_checklist_stop", on=DAY, present=False),)),
        rec(findings=(Finding(name="touch_checklist_stop", on=DAY, present=True),)),
        rec(),
    ),
    "alemtuzumab_vzv": (
        ctx("alemtuzumab"),
        rec(labs=(lab("vzv_igg", positive=True),)),
        rec(labs=(lab("vzv_igg", positive=False),)),
        rec(),
    ),
    "alemtuzumab_vaccination_timing": (
        ctx("alemtuzumab"),
        rec(vaccination_history_reviewed=True),
        rec(
            vaccination_history_reviewed=True,
            vaccinations=(Vaccination(on=D("2026-02-01"), live=False),),
        ),
        rec(),
    ),
    "alemtuzumab_hiv": (
        ctx("alemtuzumab"),
        rec(labs=(lab("hiv", positive=False),)),
        rec(labs=(lab("hiv", positive=True),)),
        rec(),
    ),
    "alemtuzumab_hbv_hcv": (
        ctx("alemtuzumab"),
        rec(labs=(lab("hbsag"), lab("anti_hbc"), lab("hcv_antibody"))),
        rec(labs=(lab("hbsag"), lab("anti_hbc"), lab("hcv_antibody", abnormal=True))),
        rec(labs=(lab("hbsag"),)),
    ),
    "alemtuzumab_tb": (
        ctx("alemtuzumab"),
        rec(labs=(lab("tb_screen", positive=False),)),
        rec(labs=(lab("tb_screen", positive=True),)),
        rec(),
    ),
    "alemtuzumab_baseline_labs": (
        ctx("alemtuzumab"),
        rec(labs=ALZ_BASE),
        None,
        rec(labs=ALZ_BASE[1:]),
    ),
    "alemtuzumab_pregnancy": (
        ctx("alemtuzumab"),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", positive=False),)),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", positive=True),)),
        rec(can_become_pregnant=True),
    ),
    "alemtuzumab_ecg": (
        ctx("alemtuzumab"),
        rec(labs=(lab("ecg"),)),
        rec(labs=(lab("ecg", abnormal=True),)),
        rec(),
    ),
    "mitoxantrone_lvef": (
        ctx("mitoxantrone", **MTX),
        rec(labs=(lab("lvef_pct", value=Decimal(58)),)),
        rec(labs=(lab("lvef_pct", value=Decimal(49)),)),
        rec(labs=(lab("lvef_pct", "2025-11-01", value=Decimal(60)),)),
    ),
    "mitoxantrone_neutrophils": (
        ctx("mitoxantrone", **MTX),
        rec(labs=(lab("neutrophils_per_mm3", value=Decimal(1500)),)),
        rec(labs=(lab("neutrophils_per_mm3", value=Decimal(1499)),)),
        rec(),
    ),
    "mitoxantrone_blood_count": (
        ctx("mitoxantrone", **MTX),
        rec(labs=(lab("platelets"),)),
        rec(labs=(lab("platelets", abnormal=True),)),
        rec(labs=(lab("platelets", "2025-11-30"),)),
    ),
    "mitoxantrone_liver": (
        ctx("mitoxantrone", **MTX),
        rec(labs=LIVER),
        rec(labs=(*LIVER[:3], lab("bilirubin", abnormal=True))),
        rec(),
    ),
    "mitoxantrone_pregnancy": (
        ctx("mitoxantrone", **MTX),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", positive=False),)),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", positive=True),)),
        rec(can_become_pregnant=True, labs=(lab("pregnancy_test", "2025-11-01", positive=False),)),
    ),
    "mitoxantrone_cumulative": (ctx("mitoxantrone", **MTX, **MTX_CUM), rec(), None, rec()),
    "mitoxantrone_no_retreatment": (
        ctx("mitoxantrone", prior_mg_per_m2=Decimal(0)),
        rec(),
        None,
        rec(),
    ),
    "natalizumab_immune_status": (
        ctx("natalizumab"),
        rec(findings=(NO_IMMUNOCOMPROMISE, NO_IMMUNOSUPPRESSANT)),
        rec(findings=(NO_IMMUNOSUPPRESSANT, IMMUNOCOMPROMISED)),
        rec(findings=(NO_IMMUNOSUPPRESSANT,)),
    ),
    "natalizumab_reinformation_24_months": (
        ctx("natalizumab", dose_number=27, first_dose_on=D("2024-03-02")),
        rec(findings=(Finding(name="natalizumab_reinformed", on=DAY, present=True),)),
        rec(findings=(Finding(name="natalizumab_reinformed", on=DAY, present=False),)),
        rec(findings=(Finding(name="natalizumab_reinformed", on=D("2026-03-01"), present=True),)),
    ),
    "alemtuzumab_rems_authorized": (
        ctx("alemtuzumab"),
        rec(findings=(Finding(name="lemtrada_rems_authorized", on=DAY, present=True),)),
        rec(findings=(Finding(name="lemtrada_rems_authorized", on=DAY, present=False),)),
        rec(findings=(Finding(name="lemtrada_rems_authorized", on=PREVIOUS, present=True),)),
    ),
    "alemtuzumab_eu_contraindications": (
        ctx("alemtuzumab"),
        rec(findings=ALZ_EU_CLEAR),
        rec(findings=(*ALZ_EU_CLEAR, Finding(name="history_stroke", on=DAY, present=True))),
        rec(findings=ALZ_EU_CLEAR[1:]),
    ),
    "alemtuzumab_eu_anticoagulation": (
        ctx("alemtuzumab"),
        rec(findings=(Finding(name="anticoagulant_or_antiplatelet", on=DAY, present=False),)),
        rec(findings=(Finding(name="anticoagulant_or_antiplatelet", on=DAY, present=True),)),
        rec(),
    ),
    "ivmp_exclude_infection": (
        ctx("methylprednisolone"),
        rec(labs=(lab("urinalysis"),)),
        rec(labs=(lab("urinalysis", abnormal=True),)),
        rec(),
    ),
    "ivmp_within_14_days": (
        ctx("methylprednisolone"),
        rec(relapse_onset=D("2026-02-20")),
        rec(relapse_onset=D("2026-02-10")),
        rec(),
    ),
}


def test_every_gate_has_cases() -> None:
    assert set(CASES) == set(gate_ids())


@pytest.mark.parametrize("gate_id", sorted(CASES))
def test_gate_pass_fail_missing(gate_id: str) -> None:
    context, passing, failing, missing = CASES[gate_id]
    found = result(gate_id, passing, context)
    assert found.status is GateStatus.PASS, found.reason
    assert found.sources
    assert all(s.startswith("http") for s in found.sources)
    if failing is not None:
        assert result(gate_id, failing, context).status is GateStatus.FAIL
    context_only = ("mitoxantrone_cumulative", "mitoxantrone_no_retreatment")
    if missing is not None and gate_id not in context_only:
        assert result(gate_id, missing, context).status is GateStatus.MISSING


def test_gates_that_only_pass_or_go_missing_have_their_other_cases() -> None:
    # cumulative: fail over the limit, missing without exposure
    over = ctx(
        "mitoxantrone",
        **MTX,
        cumulative_before_mg_per_m2=Decimal(72),
        dose_mg_per_m2=Decimal(12),
        cumulative_limit_mg_per_m2=Decimal(72),
    )
    assert result("mitoxantrone_cumulative", rec(), over).status is GateStatus.FAIL
    assert (
        result("mitoxantrone_cumulative", rec(), ctx("mitoxantrone", **MTX)).status
        is GateStatus.MISSING
    )
    # baseline labs: abnormal values pass with a review note (reference for monitoring)
    abnormal = rec(labs=(*ALZ_BASE[:-1], lab("bilirubin", abnormal=True)))
    assert "review" in result("alemtuzumab_baseline_labs", abnormal, ctx("alemtuzumab")).reason


def test_vaccination_lead_times_by_jurisdiction() -> None:
    nonlive = rec(
        vaccination_history_reviewed=True,
        vaccinations=(Vaccination(on=D("2026-02-01"), live=False),),
    )  # 29 days before
    assert (
        result(
            "anti_cd20_vaccination_timing", nonlive, ctx("ocrelizumab", jurisdiction="US")
        ).status
        is GateStatus.PASS
    )
    eu = result("anti_cd20_vaccination_timing", nonlive, ctx("ocrelizumab", jurisdiction="EU"))
    assert eu.status is GateStatus.FAIL
    assert not eu.overridable
    live = rec(
        vaccination_history_reviewed=True,
        vaccinations=(Vaccination(on=D("2026-02-09"), live=True),),
    )  # 3 weeks + 1 day
    assert (
        result("anti_cd20_vaccination_timing", live, ctx("ocrelizumab", jurisdiction="US")).status
        is GateStatus.FAIL
    )
    recent = rec(
        vaccination_history_reviewed=True,
        vaccinations=(Vaccination(on=D("2026-02-20"), live=False),),
    )
    us = result("anti_cd20_vaccination_timing", recent, ctx("ocrelizumab", jurisdiction="US"))
    assert us.status is GateStatus.FAIL
    assert us.overridable


def test_mri_and_liver_by_jurisdiction() -> None:
    old = rec(labs=(lab("mri_brain", "2025-06-01"),))
    assert (
        result("natalizumab_baseline_mri", old, ctx("natalizumab", jurisdiction="US")).status
        is GateStatus.PASS
    )
    assert (
        result("liver_tests", rec(), ctx("ocrelizumab", jurisdiction="EU")).status
        is GateStatus.NOT_APPLICABLE
    )


def test_lvef_fall_of_ten_points_is_an_overridable_fail() -> None:
    record = rec(
        labs=(lab("lvef_pct", "2025-06-01", value=Decimal(65)), lab("lvef_pct", value=Decimal(55)))
    )
    found = result("mitoxantrone_lvef", record, ctx("mitoxantrone", **MTX))
    assert found.status is GateStatus.FAIL
    assert found.overridable
    assert "fell 10 points" in found.reason


def test_vzv_negative_then_vaccinated_six_weeks_before_passes() -> None:
    record = rec(
        labs=(lab("vzv_igg", "2025-10-01", positive=False),),
        vaccinations=(Vaccination(on=D("2026-01-15"), live=True, name="Varicella"),),
    )
    assert result("alemtuzumab_vzv", record, ctx("alemtuzumab")).status is GateStatus.PASS
    late = rec(
        labs=(lab("vzv_igg", "2025-10-01", positive=False),),
        vaccinations=(Vaccination(on=D("2026-02-01"), live=True, name="Varicella"),),
    )
    assert result("alemtuzumab_vzv", late, ctx("alemtuzumab")).status is GateStatus.FAIL


def test_pregnancy_gate_not_applicable_and_unknown() -> None:
    assert (
        result(
            "mitoxantrone_pregnancy", rec(can_become_pregnant=False), ctx("mitoxantrone", **MTX)
        ).status
        is GateStatus.NOT_APPLICABLE
    )
    assert (
        result("mitoxantrone_pregnancy", rec(), ctx("mitoxantrone", **MTX)).status
        is GateStatus.MISSING
    )


def test_mandatory_failure_blocks_until_a_valid_override() -> None:
    context = ctx("ublituximab")
    failing = rec(labs=(lab("anti_hbc", positive=True),))
    found = result("hbv_anti_hbc", failing, context)
    assert found.blocks
    with pytest.raises(GateBlocked, match="hbv_anti_hbc fail"):
        require_clear([found])
    no_reason = Override(gate_id="hbv_anti_hbc", physician_id="dr1", justification="", on=DAY)
    assert result(
        "hbv_anti_hbc",
        PatientRecord(patient_id="p", labs=failing.labs, overrides=(no_reason,)),
        context,
    ).blocks
    valid = Override(
        gate_id="hbv_anti_hbc",
        physician_id="dr1",
        on=DAY,
        justification="hepatology reviewed; prophylaxis started",
    )
    ok = result(
        "hbv_anti_hbc",
        PatientRecord(patient_id="p", labs=failing.labs, overrides=(valid,)),
        context,
    )
    assert not ok.blocks
    assert ok.override == valid
    require_clear([ok])


def test_non_overridable_and_missing_cannot_be_overridden() -> None:
    override = Override(gate_id="hbv_hbsag", physician_id="dr1", justification="x", on=DAY)
    record = rec(labs=(lab("hbsag", positive=True),), overrides=(override,))
    assert result("hbv_hbsag", record, ctx("ocrelizumab")).blocks
    missing = rec(
        overrides=(Override(gate_id="hbv_anti_hbc", physician_id="dr1", justification="x", on=DAY),)
    )
    assert result("hbv_anti_hbc", missing, ctx("ocrelizumab")).blocks


def test_advisory_gates_never_block() -> None:
    assert not result("ivmp_within_14_days", rec(), ctx("methylprednisolone")).blocks
    assert not result("alemtuzumab_ecg", rec(), ctx("alemtuzumab")).blocks


def test_gates_apply_by_therapy_and_timing() -> None:
    later = DoseContext(
        therapy_id="ocrelizumab",
        dose_number=3,
        on=DAY,
        course_start=False,
        previous_dose_on=PREVIOUS,
    )
    ids = {r.gate_id for r in evaluate_gates(GATES, rec(), later)}
    assert ids == {"active_infection"}
    assert "touch_authorized" not in {
        r.gate_id for r in evaluate_gates(GATES, rec(), ctx("ocrelizumab"))
    }


def test_overridable_gates_are_the_documented_ones() -> None:
    assert set(OVERRIDABLE_GATE_IDS) == {
        "hbv_anti_hbc",
        "serum_immunoglobulins",
        "liver_tests",
        "ublituximab_pregnancy",
        "natalizumab_baseline_mri",
        "touch_checklist",
        "alemtuzumab_hbv_hcv",
        "alemtuzumab_tb",
        "alemtuzumab_eu_anticoagulation",
        "ivmp_exclude_infection",
    }


def test_patient_record_from_dict_reads_and_refuses() -> None:
    record = patient_record_from_dict(
        {
            "id": "p9",
            "can_become_pregnant": False,
            "labs": [{"test": "hbsag", "on": "2026-01-01", "positive": False, "value": "1.5"}],
            "vaccinations": [{"on": "2025-01-01", "live": True}],
            "findings": [{"name": "active_infection", "on": "2026-01-01", "present": False}],
            "overrides": [
                {"gate_id": "x", "physician_id": "d", "justification": " y ", "on": "2026-01-01"}
            ],
        }
    )
    assert record.labs[0].value == Decimal("1.5")
    assert record.overrides[0].justification == "y"
    from msinfusion.errors import InvalidCourseOrder

    for bad in (
        {},
        {"id": "p", "labs": [{"test": "x", "on": "yesterday"}]},
        {"id": "p", "labs": [{"test": "x", "on": "2026-01-01", "value": "abc"}]},
        {"id": "p", "can_become_pregnant": "maybe"},
        {"id": "p", "labs": "none"},
    ):
        with pytest.raises(InvalidCourseOrder):
            patient_record_from_dict(bad)
