"""Monitoring calendars: dates, results against slots, overdue and abnormal flags."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder
from msinfusion.planning.monitoring_calendar import (
    SlotStatus,
    monitoring_flags,
    monitoring_items,
    record_results,
)
from msinfusion.planning.patient_record import LabResult, PatientRecord

D = date.fromisoformat


def calendar(therapy: str, start: str, **options: str):  # type: ignore[no-untyped-def]
    return plan_course(CourseOrder.create(therapy_id=therapy, start=D(start), options=options))


def items(therapy: str, start: str, record: PatientRecord | None = None, **options: str):  # type: ignore[no-untyped-def]
    return {i.id: i for i in monitoring_items(calendar(therapy, start, **options), record)}


def test_alemtuzumab_monthly_until_48_months_after_the_last_infusion() -> None:
    found = items("alemtuzumab", "2026-01-31")  # last infusion 2027-02-02 -> horizon 2031-02-02
    cbc = found["alemtuzumab_cbc"].dates
    assert cbc[:4] == (D("2026-01-31"), D("2026-02-28"), D("2026-03-31"), D("2026-04-30"))
    assert cbc[-1] == D("2031-01-31")
    assert len(cbc) == 61  # baseline + 60 months
    thyroid = found["alemtuzumab_thyroid"].dates
    assert thyroid[:3] == (D("2026-01-31"), D("2026-04-30"), D("2026-07-31"))
    assert thyroid[-1] == D("2031-01-31")
    assert found["alemtuzumab_creatinine"].dates == cbc == found["alemtuzumab_urinalysis"].dates


def test_a_further_course_restarts_the_48_month_clock() -> None:
    found = items("alemtuzumab", "2026-01-31", further_courses="1")  # last 2028-02-04
    assert found["alemtuzumab_cbc"].dates[-1] == D("2032-01-31")


def test_natalizumab_jcv_negative_mri_and_rems() -> None:
    negative = PatientRecord(
        patient_id="p", labs=(LabResult(test="anti_jcv", on=D("2025-12-01"), positive=False),)
    )
    found = items("natalizumab", "2026-01-05", negative, doses="27")  # last dose 2028-01-03
    assert found["natalizumab_anti_jcv"].dates == (
        D("2026-01-05"),
        D("2026-07-05"),
        D("2027-01-05"),
        D("2027-07-05"),
    )
    assert found["natalizumab_mri"].dates == (D("2026-01-05"), D("2027-01-05"))
    assert found["natalizumab_rems_pml_assessment"].dates[:3] == (
        D("2026-04-05"),
        D("2026-07-05"),
        D("2027-01-05"),
    )
    assert "natalizumab_mri_pml" not in found
    eu = items("natalizumab", "2026-01-05", negative, doses="27", jurisdiction="EU")
    assert "natalizumab_rems_pml_assessment" not in eu


def test_natalizumab_high_risk_gets_three_monthly_mri_after_two_years() -> None:
    high = PatientRecord(
        patient_id="p",
        labs=(LabResult(test="anti_jcv", on=D("2025-12-01"), positive=True, value=Decimal("1.6")),),
    )
    found = items("natalizumab", "2026-01-05", high, doses="40")  # last 2028-12-18
    assert found["natalizumab_mri_pml"].dates[:2] == (D("2028-01-05"), D("2028-04-05"))
    assert "natalizumab_anti_jcv" not in found  # no retest rule for high index
    low = PatientRecord(
        patient_id="p",
        labs=(LabResult(test="anti_jcv", on=D("2025-12-01"), positive=True, value=Decimal("0.8")),),
    )
    low_items = items("natalizumab", "2026-01-05", low, doses="40")
    assert low_items["natalizumab_anti_jcv"].dates[0] == D("2028-01-05")
    assert "natalizumab_mri_pml" not in low_items


def test_anti_cd20_immunoglobulins_baseline_only_unless_local_interval() -> None:
    assert items("ocrelizumab", "2026-01-05")["anti_cd20_immunoglobulins"].dates == (
        D("2026-01-05"),
    )


def test_mitoxantrone_lvef_before_each_dose_then_yearly() -> None:
    found = items("mitoxantrone", "2026-01-05", jurisdiction="US")
    lvef = found["mitoxantrone_lvef"].dates
    assert lvef[:2] == (D("2026-01-05"), D("2026-04-05"))
    assert lvef[10] == D("2028-07-05")  # 11th dose
    assert lvef[11:13] == (D("2029-07-05"), D("2030-07-05"))


def test_results_fill_slots_and_flag_overdue_and_abnormal() -> None:
    item = items("alemtuzumab", "2026-01-31")["alemtuzumab_cbc"]
    record = PatientRecord(
        patient_id="p",
        labs=(
            LabResult(test="cbc_diff", on=D("2026-01-20")),  # baseline
            LabResult(
                test="cbc_diff", on=D("2026-03-02"), abnormal=True
            ),  # late for Feb 28: still fills it
            LabResult(test="cbc_diff", on=D("2026-03-30")),  # March
        ),
    )
    slots = record_results(item, record, D("2026-05-05"))
    assert [s.status for s in slots[:6]] == [
        SlotStatus.DONE,
        SlotStatus.DONE,
        SlotStatus.DONE,
        SlotStatus.OVERDUE,
        SlotStatus.DUE,
        SlotStatus.PLANNED,
    ]
    flags = monitoring_flags(slots)
    assert [s.due for s in flags["overdue"]] == [D("2026-04-30")]
    assert [s.due for s in flags["abnormal"]] == [D("2026-02-28")]


def test_threshold_abnormal_without_lab_flag() -> None:
    item = items("mitoxantrone", "2026-01-05", jurisdiction="US")["mitoxantrone_lvef"]
    record = PatientRecord(
        patient_id="p", labs=(LabResult(test="lvef_pct", on=D("2026-01-02"), value=Decimal(48)),)
    )
    (first, *_rest) = record_results(item, record, D("2026-01-05"))
    assert first.abnormal
    assert first.status is SlotStatus.DONE
