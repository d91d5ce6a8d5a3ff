"""Infusion plans as clock times, checked against hand-worked arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from msinfusion.catalog import Catalog, Severity
from msinfusion.errors import IneligibleProtocol, MissingMeasurement, PlanningError
from msinfusion.planning import mosteller_bsa_m2, plan_infusion

CET = timezone(timedelta(hours=1))
START = datetime(2026, 11, 25, 9, 0, tzinfo=CET)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, second, tzinfo=CET)


def test_ocrelizumab_300_plan_in_clock_time(catalog: Catalog) -> None:
    plan = plan_infusion(catalog.get_protocol("ocrelizumab-300-initial"), START)
    assert [(s.start, s.end, s.rate_ml_per_h) for s in plan.steps] == [
        (at(9, 0), at(9, 30), 30),
        (at(9, 30), at(10, 0), 60),
        (at(10, 0), at(10, 30), 90),
        (at(10, 30), at(11, 0), 120),
        (at(11, 0), at(11, 30), 150),
        (at(11, 30), at(11, 38, 20), 180),  # 25 mL at 180 mL/h = 8 min 20 s
    ]
    assert [s.cumulative_dose_mg for s in plan.steps] == [18, 54, 108, 180, 270, 300]  # x 1.2 mg/mL
    assert plan.infusion_end == at(11, 38, 20)
    assert plan.observation_end == at(12, 38, 20)
    assert plan.dose_number == 1


def test_premedication_windows_are_clock_times(catalog: Catalog) -> None:
    plan = plan_infusion(catalog.get_protocol("ocrelizumab-600-standard"), START)
    steroid, antihistamine, antipyretic = plan.premedications
    assert (steroid.give_from, steroid.give_until) == (at(8, 30), at(8, 30))
    assert steroid.approximate
    assert steroid.tolerance == timedelta(minutes=15)
    assert not steroid.verified  # the tolerance is local policy (dossier Q14)
    assert (antihistamine.give_from, antihistamine.give_until) == (at(8, 0), at(8, 30))
    assert not antipyretic.required


def test_chair_time_runs_from_the_earliest_required_premedication_to_observation_end(
    catalog: Catalog,
) -> None:
    # 600 mg standard: antihistamine from 08:00, infusion 09:00-12:30 (210 min),
    # observation to 13:30.
    plan = plan_infusion(catalog.get_protocol("ocrelizumab-600-standard"), START)
    assert plan.chair_start == at(8, 0)
    assert plan.infusion_end == at(12, 30)
    assert plan.chair_time == timedelta(minutes=60 + 210 + 60)
    assert plan.infusion_duration == timedelta(minutes=210)


def test_prepared_volume_260_ml_extends_the_last_step(catalog: Catalog) -> None:
    # Dossier 1.2: 35 mL at 180 mL/h = 11.67 min -> 161.7 min; concentration 300/260 mg/mL.
    plan = plan_infusion(catalog.get_protocol("ocrelizumab-300-initial"), START, bag_volume_ml=260)
    assert plan.infusion_end - START == timedelta(minutes=150) + timedelta(seconds=700)
    assert plan.concentration_mg_per_ml == Fraction(300, 260)
    assert plan.steps[-1].cumulative_dose_mg == 300


def test_prepared_volume_far_from_the_bag_is_refused(catalog: Catalog) -> None:
    with pytest.raises(PlanningError) as caught:
        plan_infusion(catalog.get_protocol("ocrelizumab-300-initial"), START, bag_volume_ml=500)
    assert caught.value.field == "bag_volume_ml"


def test_dose_number_defaults_to_the_first_eligible(catalog: Catalog) -> None:
    plan = plan_infusion(catalog.get_protocol("ocrelizumab-600-standard"), START)
    assert plan.dose_number == 3


def test_ineligible_dose_number_is_refused(catalog: Catalog) -> None:
    with pytest.raises(IneligibleProtocol) as caught:
        plan_infusion(catalog.get_protocol("ocrelizumab-600-short"), START, dose_number=1)
    assert caught.value.field == "dose_number"
    assert "dose_number 1 is below 3" in caught.value.message


def test_prior_serious_reaction_excludes_the_short_option(catalog: Catalog) -> None:
    with pytest.raises(IneligibleProtocol):
        plan_infusion(
            catalog.get_protocol("ocrelizumab-600-short"),
            START,
            dose_number=4,
            worst_prior_reaction=Severity.SEVERE,
        )


def test_naive_start_time_is_refused(catalog: Catalog) -> None:
    with pytest.raises(PlanningError) as caught:
        plan_infusion(catalog.get_protocol("ocrelizumab-300-initial"), datetime(2026, 11, 25, 9))  # noqa: DTZ001
    assert caught.value.field == "start_at"


def test_plan_across_a_daylight_saving_change_keeps_elapsed_time() -> None:
    # Times are aware; arithmetic is in absolute time. 2026-10-25 02:00 CEST -> 01:00 CET in Berlin.
    from msinfusion.catalog import shipped_catalog

    start = datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    plan = plan_infusion(shipped_catalog().get_protocol("ocrelizumab-600-standard"), start)
    assert plan.infusion_duration == timedelta(minutes=210)
    # 00:30 CEST + 210 min = 04:00 CEST = 03:00 CET on the wall clock after the change.
    assert plan.infusion_end.replace(tzinfo=None) == datetime(2026, 10, 25, 3, 0)  # noqa: DTZ001
    assert plan.infusion_end.utcoffset() == timedelta(hours=1)


def test_json_view_has_the_contract_keys(catalog: Catalog) -> None:
    data = plan_infusion(catalog.get_protocol("ocrelizumab-300-initial"), START).to_json_dict()
    for key in (
        "protocol_id",
        "protocol_version",
        "dose_mg",
        "bag_volume_ml",
        "concentration_mg_per_ml",
        "premedications",
        "steps",
        "infusion_start",
        "infusion_end",
        "infusion_duration_min",
        "observation_end",
        "observation_min",
        "chair_time_min",
    ):
        assert key in data
    assert data["infusion_end"] == "2026-11-25T11:38:20+01:00"
    assert data["infusion_duration_min"] == 158.333
    assert data["chair_time_min"] == 278.333
    assert set(data["premedications"][0]) >= {"name", "dose", "route", "give_from", "give_until"}
    assert set(data["steps"][0]) >= {
        "start",
        "end",
        "rate_ml_per_h",
        "volume_ml",
        "cumulative_volume_ml",
        "cumulative_dose_mg",
    }


def test_mosteller_bsa_against_hand_computation() -> None:
    # sqrt(180 x 72 / 3600) = sqrt(3.6) = 1.897...
    # sqrt(170 x 68 / 3600) = sqrt(3.2111) = 1.79196...
    assert float(mosteller_bsa_m2(height_cm=180, weight_kg=72)) == pytest.approx(
        1.8973666, abs=1e-7
    )
    assert float(mosteller_bsa_m2(height_cm=170, weight_kg=68)) == pytest.approx(
        1.7919573, abs=1e-7
    )


@pytest.mark.parametrize(
    ("height", "weight", "field"),
    [
        (None, 70, "height_cm"),
        (170, None, "weight_kg"),
        (1.7, 70, "height_cm"),
        (170, 700, "weight_kg"),
    ],
)
def test_bsa_refuses_missing_or_implausible_measures(
    height: float | None, weight: float | None, field: str
) -> None:
    with pytest.raises(MissingMeasurement) as caught:
        mosteller_bsa_m2(height_cm=height, weight_kg=weight)
    assert caught.value.field == field


def test_unverified_window_bound_makes_the_planned_premedication_unverified(
    catalog: Catalog,
) -> None:
    import dataclasses

    protocol = catalog.get_protocol("ocrelizumab-600-standard")
    premed = protocol.premedications[1]
    assert premed.window is not None
    verified_tolerance = dataclasses.replace(premed.window.tolerance_min, verified=True)
    unverified_bound = dataclasses.replace(premed.window.max_before_start_min, verified=False)
    window = dataclasses.replace(
        premed.window, tolerance_min=verified_tolerance, max_before_start_min=unverified_bound
    )
    edited = dataclasses.replace(
        protocol, premedications=(dataclasses.replace(premed, window=window),)
    )
    (planned,) = plan_infusion(edited, START).premedications
    assert planned.verified is False
    fully_verified = dataclasses.replace(
        window, max_before_start_min=dataclasses.replace(unverified_bound, verified=True)
    )
    edited = dataclasses.replace(
        protocol, premedications=(dataclasses.replace(premed, window=fully_verified),)
    )
    (planned,) = plan_infusion(edited, START).premedications
    assert planned.verified is True
