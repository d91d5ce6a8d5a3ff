"""Planning traits in the therapy files: the loader refuses bad ones, the shipped ones are right.

Expected numbers are the hand-checked values of the dossier
(../shared/reference/natalizumab-alemtuzumab-mitoxantrone-methylprednisolone.md, N), by item.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from msinfusion.catalog import Catalog
from msinfusion.catalog.loader import build_therapy
from msinfusion.catalog.model import CourseKind, Interval, IntervalUnit, MonitoringPlan
from msinfusion.catalog.schema import therapy_file_json_schema
from msinfusion.errors import InvalidTherapyFile
from tests.conftest import raw_therapy

FILE = "broken.toml"
MONTH = IntervalUnit.MONTH


def refuse(raw: dict[str, Any]) -> InvalidTherapyFile:
    with pytest.raises(InvalidTherapyFile) as caught:
        build_therapy(raw, file=FILE)
    assert caught.value.message.startswith(f"{FILE}: ")
    return caught.value


def fields(error: InvalidTherapyFile) -> list[str]:
    return [field for field, _ in error.problems]


# --- refusals -------------------------------------------------------------------------------


def test_an_unknown_course_kind_is_refused() -> None:
    raw = raw_therapy()
    raw["planning"]["course_kind"] = "weekly"
    error = refuse(raw)
    assert fields(error) == ["planning.course_kind"]
    assert "weekly" in error.problems[0][1]


def test_an_open_ended_course_needs_a_display_horizon() -> None:
    raw = raw_therapy()
    del raw["planning"]["listed_doses"]
    assert refuse(raw).problems == (
        (
            "planning.listed_doses",
            "course kind 'split-start-calendar-months' is open-ended: give a horizon",
        ),
    )


def test_a_zero_display_horizon_is_refused() -> None:
    raw = raw_therapy()
    raw["planning"]["listed_doses"] = 0
    assert fields(refuse(raw)) == ["planning.listed_doses"]


def test_a_closed_course_refuses_a_display_horizon() -> None:
    raw = raw_therapy("mitoxantrone")
    raw["planning"]["listed_doses"] = 6
    assert fields(refuse(raw)) == ["planning.listed_doses"]


def test_a_gate_listed_twice_or_misspelt_is_refused() -> None:
    raw = raw_therapy()
    raw["planning"]["gates"] += ["hbv_hbsag", "HBV-HbsAg"]
    error = refuse(raw)
    assert "planning.gates[7]" in fields(error)  # the pattern check names the bad entry
    raw["planning"]["gates"].pop()
    assert refuse(raw).problems == (("planning.gates[6]", "gate 'hbv_hbsag' is listed twice"),)


def test_a_monitoring_cadence_needs_sources() -> None:
    raw = raw_therapy("alemtuzumab")
    del raw["planning"]["monitoring"]["intervals"]["thyroid_every"]["sources"]
    assert refuse(raw).problems == (
        ("planning.monitoring.intervals.thyroid_every.sources", "required field is missing"),
    )


def test_a_monitoring_cadence_with_an_unknown_source_is_refused() -> None:
    raw = raw_therapy("alemtuzumab")
    raw["planning"]["monitoring"]["intervals"]["skin_every"]["sources"] = ["nowhere"]
    assert (
        "planning.monitoring.intervals.skin_every.sources",
        "unknown source id 'nowhere'",
    ) in refuse(raw).problems


@pytest.mark.parametrize(("value", "unit"), [(0, "month"), (-3, "month"), (3, "fortnight")])
def test_a_bad_monitoring_cadence_is_refused(value: int, unit: str) -> None:
    raw = raw_therapy("natalizumab")
    raw["planning"]["monitoring"]["intervals"]["mri_every"].update(value=value, unit=unit)
    assert fields(refuse(raw))[0].startswith("planning.monitoring.intervals.mri_every.")


def test_a_missing_or_unknown_cadence_of_the_plan_is_refused() -> None:
    raw = raw_therapy("natalizumab")
    intervals = raw["planning"]["monitoring"]["intervals"]
    intervals["mri_yearly"] = intervals.pop("mri_every")
    error = refuse(raw)
    assert error.problems[0] == (
        "planning.monitoring.intervals.mri_every",
        "required by monitoring plan 'pml-surveillance' (cite it)",
    )
    assert error.problems[1][0] == "planning.monitoring.intervals.mri_yearly"
    assert "not read by monitoring plan 'pml-surveillance'" in error.problems[1][1]


def test_an_unknown_monitoring_plan_is_refused() -> None:
    raw = raw_therapy("mitoxantrone")
    raw["planning"]["monitoring"]["plan"] = "cardiac"
    assert fields(refuse(raw)) == ["planning.monitoring.plan"]


def test_pml_risk_must_be_a_cited_flag() -> None:
    raw = raw_therapy("natalizumab")
    raw["planning"]["pml_risk"]["value"] = "sometimes"
    assert fields(refuse(raw)) == ["planning.pml_risk.value"]
    raw = raw_therapy("natalizumab")
    raw["planning"]["pml_risk"]["sources"] = []
    assert fields(refuse(raw)) == ["planning.pml_risk.sources"]


def test_the_cumulative_dose_protocol_must_exist_and_be_dosed_in_mg_per_m2() -> None:
    raw = raw_therapy("mitoxantrone")
    raw["planning"]["cumulative_dose"]["protocol_id"] = "mitoxantrone-20"
    assert refuse(raw).problems == (
        (
            "planning.cumulative_dose.protocol_id",
            "unknown protocol id 'mitoxantrone-20' in this therapy",
        ),
    )
    raw = raw_therapy()
    raw["planning"]["cumulative_dose"] = {"protocol_id": "ocrelizumab-600-standard"}
    assert refuse(raw).problems == (
        (
            "planning.cumulative_dose.protocol_id",
            "protocol 'ocrelizumab-600-standard' is not dosed in mg/m2",
        ),
        ("planning.cumulative_dose", "a cumulative-dose projection needs cumulative_limits"),
    )


def test_one_cumulative_limit_per_jurisdiction() -> None:
    raw = raw_therapy("mitoxantrone")
    raw["cumulative_limits"][1]["jurisdiction"] = "US"
    assert refuse(raw).problems == (("cumulative_limits", "one limit per jurisdiction"),)


def test_an_unknown_planning_key_is_refused() -> None:
    raw = raw_therapy()
    raw["planning"]["repletion_weeks"] = 72
    assert refuse(raw).problems == (
        ("planning.repletion_weeks", "unknown key (not part of the therapy file schema)"),
    )


def test_the_json_schema_documents_the_planning_table() -> None:
    schema = therapy_file_json_schema()
    assert "planning" in schema["properties"]
    planning = schema["$defs"]["PlanningFile"]["properties"]
    assert set(planning) == {
        "course_kind",
        "listed_doses",
        "gates",
        "monitoring",
        "pml_risk",
        "cumulative_dose",
    }


# --- the shipped values, against the dossiers ------------------------------------------------


def test_every_shipped_therapy_declares_a_course_kind(catalog: Catalog) -> None:
    kinds = {t.id: t.planning.course_kind for t in catalog if t.planning is not None}
    assert kinds == {
        "ocrelizumab": CourseKind.SPLIT_START_CALENDAR_MONTHS,
        "ublituximab": CourseKind.SPLIT_START_WEEKS,
        "rituximab": CourseKind.OFF_LABEL_REGIMENS,
        "natalizumab": CourseKind.FIXED_INTERVAL,
        "alemtuzumab": CourseKind.REPEATED_DAILY_COURSES,
        "mitoxantrone": CourseKind.CUMULATIVE_LIMITED,
        "methylprednisolone": CourseKind.RELAPSE_DAILY_COURSE,
    }


def test_display_horizons_of_the_open_ended_calendars(catalog: Catalog) -> None:
    # Not clinical numbers: how many doses an open-ended calendar lists by default.
    horizons = {t.id: t.planning.listed_doses for t in catalog if t.planning is not None}
    assert {k: v for k, v in horizons.items() if v is not None} == {
        "ocrelizumab": 6,
        "ublituximab": 6,
        "natalizumab": 13,
    }


def test_monitoring_plans(catalog: Catalog) -> None:
    plans = {
        t.id: t.planning.monitoring.plan
        for t in catalog
        if t.planning is not None and t.planning.monitoring is not None
    }
    assert plans == {
        "ocrelizumab": MonitoringPlan.B_CELL_DEPLETION,
        "ublituximab": MonitoringPlan.B_CELL_DEPLETION,
        "rituximab": MonitoringPlan.B_CELL_DEPLETION,
        "natalizumab": MonitoringPlan.PML_SURVEILLANCE,
        "alemtuzumab": MonitoringPlan.LYMPHOCYTE_DEPLETION,
        "mitoxantrone": MonitoringPlan.CARDIOTOXICITY,
    }


def cadences(catalog: Catalog, therapy_id: str) -> dict[str, Interval]:
    planning = catalog.get_therapy(therapy_id).planning
    assert planning is not None
    assert planning.monitoring is not None
    for _, cited in planning.monitoring.intervals:
        assert cited.sources
        assert all(s.url.startswith("http") for s in cited.sources)
    return {name: cited.value for name, cited in planning.monitoring.intervals}


def test_alemtuzumab_cadences(catalog: Catalog) -> None:
    # N 2.4: CBC, creatinine, urinalysis monthly and thyroid every 3 months until 48 months
    # after the last dose; skin examination yearly.
    assert cadences(catalog, "alemtuzumab") == {
        "horizon_after_last_dose": Interval(value=48, unit=MONTH),
        "blood_urine_every": Interval(value=1, unit=MONTH),
        "thyroid_every": Interval(value=3, unit=MONTH),
        "skin_every": Interval(value=12, unit=MONTH),
        # LEMEU-10 / LEMUS-11 / LEMUS-14 / LEMEU-10 (rems-and-label-rules.md).
        "cervical_screening_every": Interval(value=12, unit=MONTH),
        "liver_every": Interval(value=3, unit=MONTH),
        "herpes_prophylaxis_after_course_us": Interval(value=2, unit=MONTH),
        "herpes_prophylaxis_after_course_eu": Interval(value=1, unit=MONTH),
    }


def test_natalizumab_cadences(catalog: Catalog) -> None:
    # N 1.3: anti-JCV every 6 months (low index: once at 2 years); MRI yearly, every 3-6 months
    # (the stricter 3) for higher-risk patients after 2 years; US REMS: 3 and 6 months after the
    # first infusion, then every 6 months.
    assert cadences(catalog, "natalizumab") == {
        "jcv_every": Interval(value=6, unit=MONTH),
        "jcv_low_index_from": Interval(value=24, unit=MONTH),
        "mri_every": Interval(value=12, unit=MONTH),
        "mri_high_risk_every": Interval(value=3, unit=MONTH),
        "high_risk_from": Interval(value=24, unit=MONTH),
        "rems_first": Interval(value=3, unit=MONTH),
        "rems_every": Interval(value=6, unit=MONTH),
    }


def test_mitoxantrone_cadence(catalog: Catalog) -> None:
    # N 3.2: yearly LVEF after stopping (late cardiotoxicity).
    assert cadences(catalog, "mitoxantrone") == {
        "lvef_after_last_dose_every": Interval(value=12, unit=MONTH)
    }


def test_pml_risk_applies_to_natalizumab_only(catalog: Catalog) -> None:
    applies = {t.id for t in catalog if t.planning is not None and t.planning.pml_risk_applies}
    assert applies == {"natalizumab"}
    planning = catalog.get_therapy("natalizumab").planning
    assert planning is not None
    assert planning.pml_risk is not None
    assert [s.id for s in planning.pml_risk.sources] == ["rems-tysabri"]


def test_the_cumulative_dose_projection_of_mitoxantrone(catalog: Catalog) -> None:
    # N 3.2 / M1: 12 mg/m2 per dose; lifetime US 140, EU 72; unknown jurisdiction -> 72.
    with_projection = {
        t.id for t in catalog if t.planning is not None and t.planning.cumulative_dose is not None
    }
    assert with_projection == {"mitoxantrone"}
    therapy = catalog.get_therapy("mitoxantrone")
    assert therapy.planning is not None
    assert therapy.planning.cumulative_dose is not None
    protocol = therapy.protocol(therapy.planning.cumulative_dose.protocol_id)
    assert protocol.dose.mg_per_m2 is not None
    assert protocol.dose.mg_per_m2.value == Decimal(12)
    assert therapy.cumulative_limit("US").mg_per_m2.value == Decimal(140)
    assert therapy.cumulative_limit("EU").mg_per_m2.value == Decimal(72)
    assert therapy.cumulative_limit(None).mg_per_m2.value == Decimal(72)
