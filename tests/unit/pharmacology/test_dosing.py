"""Dosing input: catalog ladders and session records become exact mg/h segments."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.errors import InvalidDosing
from msinfusion.pharmacology.dosing import (
    InfusionSchedule,
    RateSegment,
    combine,
    schedule_from_events,
    schedule_from_protocol,
)
from msinfusion.pharmacology.regimen import standard_regimen
from msinfusion.session import events as ev
from tests.unit.pharmacology.helpers import ORIGIN, at_min, checked_in, ocrelizumab_600_with_pause

CATALOG = shipped_catalog()


def test_ocrelizumab_300_ladder_delivers_300_mg_in_the_hand_worked_segments() -> None:
    protocol = shipped_catalog().get_protocol("ocrelizumab-300-initial")
    schedule = schedule_from_protocol([protocol], [ORIGIN], origin=ORIGIN)
    rates = [s.rate_mg_per_h for s in schedule.segments]
    # 30..180 mL/h at 1.2 mg/mL; the last step runs 25 mL at 180 mL/h = 25/3 min
    assert rates == pytest.approx([36, 72, 108, 144, 180, 216])
    assert schedule.segments[-1].end_day * 1440 == pytest.approx(150 + 25 / 3)
    assert schedule.total_dose_mg == pytest.approx(300, rel=1e-12)


def test_session_with_a_pause_gives_exact_segments_and_the_full_dose() -> None:
    schedule = schedule_from_events([ocrelizumab_600_with_pause()], origin=ORIGIN)
    minutes = [m for s in schedule.segments for m in (s.start_day * 1440, s.end_day * 1440)]
    assert minutes == pytest.approx([0, 30, 30, 60, 60, 75, 105, 135, 135, 165, 165, 252])
    assert schedule.total_dose_mg == pytest.approx(600, rel=1e-12)
    assert schedule.dose_starts_day == (0.0,)


def test_a_bag_that_runs_empty_before_completion_delivers_no_more_than_the_bag() -> None:
    events = ocrelizumab_600_with_pause()
    late = ev.InfusionCompleted(
        at=at_min(400), user="n", volume_infused_ml=Fraction(500), dose_delivered_mg=Fraction(600)
    )
    schedule = schedule_from_events([[*events[:-1], late]], origin=ORIGIN)
    assert schedule.total_dose_mg == pytest.approx(600, rel=1e-12)
    assert schedule.segments[-1].end_day * 1440 == pytest.approx(252)


def test_a_stopped_infusion_delivers_only_what_ran() -> None:
    events = [
        checked_in(),
        ev.InfusionStarted(
            at=at_min(0), user="n", rate_ml_per_h=Fraction(40), override_reason=None, deviations=()
        ),
        ev.InfusionStopped(
            at=at_min(15),
            user="n",
            reason="reaction",
            volume_infused_ml=Fraction(10),
            dose_delivered_mg=Fraction(12),
            due_to_reaction=True,
        ),
    ]
    schedule = schedule_from_events([events], origin=ORIGIN)
    assert schedule.total_dose_mg == pytest.approx(12)


def test_an_unfinished_infusion_is_refused() -> None:
    events = ocrelizumab_600_with_pause()[:-1]
    with pytest.raises(InvalidDosing, match="has not ended"):
        schedule_from_events([events], origin=ORIGIN)


def test_an_infusion_without_check_in_is_refused() -> None:
    with pytest.raises(InvalidDosing, match="check-in"):
        schedule_from_events([ocrelizumab_600_with_pause()[1:]], origin=ORIGIN)


def test_overlapping_segments_and_naive_origin_are_refused() -> None:
    with pytest.raises(InvalidDosing, match="overlap"):
        InfusionSchedule(
            origin=ORIGIN,
            dose_starts_day=(0.0,),
            segments=(
                RateSegment(start_day=0, end_day=1, rate_mg_per_h=1),
                RateSegment(start_day=0.5, end_day=2, rate_mg_per_h=1),
            ),
        )
    with pytest.raises(InvalidDosing, match="timezone"):
        InfusionSchedule(origin=ORIGIN.replace(tzinfo=None), segments=(), dose_starts_day=())


def test_planned_and_recorded_doses_combine_and_a_missed_dose_is_just_absent() -> None:
    natalizumab = shipped_catalog().get_protocol("natalizumab-300")
    planned = schedule_from_protocol(
        [natalizumab], [ORIGIN + timedelta(days=d) for d in (28, 84)], origin=ORIGIN
    )
    recorded = schedule_from_events([ocrelizumab_600_with_pause()], origin=ORIGIN)
    both = combine([recorded, planned])
    assert both.dose_starts_day == (0.0, 28.0, 84.0)
    assert both.total_dose_mg == pytest.approx(600 + 2 * 300)


def test_standard_regimens_follow_the_catalog() -> None:
    end = ORIGIN + timedelta(days=365)
    natalizumab = standard_regimen("natalizumab", catalog=CATALOG, origin=ORIGIN, end=end)
    assert natalizumab.dose_starts_day[:3] == (0.0, 28.0, 56.0)
    alemtuzumab = standard_regimen(
        "alemtuzumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=730)
    )
    assert len(alemtuzumab.dose_starts_day) == 8
    assert alemtuzumab.total_dose_mg == pytest.approx(96)
    ocrelizumab = standard_regimen("ocrelizumab", catalog=CATALOG, origin=ORIGIN, end=end)
    assert ocrelizumab.dose_starts_day[:2] == (0.0, 14.0)
    assert ocrelizumab.dose_starts_day[2] == 181.0  # 2026-01-05 + 6 calendar months
