"""Invariants of ladder arithmetic and plans, for any valid ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.catalog import Catalog, run_ladder, shipped_catalog
from msinfusion.catalog.model import RateStep
from msinfusion.planning import plan_infusion
from tests.strategies import rate_ladders


@given(rate_ladders())
def test_step_volumes_add_up_to_the_bag(
    ladder: tuple[tuple[RateStep, ...], Decimal, Decimal],
) -> None:
    steps, _max_rate, bag = ladder
    segments = run_ladder(steps, bag)
    assert sum(s.volume_ml for s in segments) == Fraction(bag)
    assert segments[-1].cumulative_volume_ml == Fraction(bag)
    assert len(segments) == len(steps)  # every step is reached for a bag the ladder can deliver


@given(rate_ladders())
def test_rates_never_exceed_the_maximum_and_times_are_monotonic(
    ladder: tuple[tuple[RateStep, ...], Decimal, Decimal],
) -> None:
    steps, max_rate, bag = ladder
    segments = run_ladder(steps, bag)
    assert all(s.rate_ml_per_h <= max_rate for s in segments)
    for segment in segments:
        assert segment.start_min < segment.end_min
        assert (
            segment.volume_ml == segment.rate_ml_per_h * (segment.end_min - segment.start_min) / 60
        )
    for before, after in pairwise(segments):
        assert before.end_min == after.start_min
        assert before.cumulative_volume_ml < after.cumulative_volume_ml


@given(rate_ladders(), st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10000), places=2))
def test_any_bag_is_delivered_exactly_even_if_steps_are_not_reached(
    ladder: tuple[tuple[RateStep, ...], Decimal, Decimal], bag: Decimal
) -> None:
    steps, _max_rate, _bag = ladder
    segments = run_ladder(steps, bag)
    assert segments[-1].cumulative_volume_ml == Fraction(bag)
    assert 1 <= len(segments) <= len(steps)


_CATALOG: Catalog = shipped_catalog()


@settings(max_examples=60)
@given(
    st.sampled_from([p.id for p in _CATALOG.protocols() if p.dose.mg is not None]),
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - made aware below
        max_value=datetime(2035, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
        ),
    ),
)
def test_every_shipped_plan_delivers_the_dose_monotonically(
    protocol_id: str, start: datetime
) -> None:
    protocol = _CATALOG.get_protocol(protocol_id)
    plan = plan_infusion(protocol, start)
    assert plan.steps[-1].cumulative_dose_mg == plan.dose_mg
    assert plan.steps[-1].cumulative_volume_ml == plan.bag_volume_ml
    times = [plan.chair_start, plan.infusion_start]
    for step in plan.steps:
        assert step.rate_ml_per_h <= protocol.max_rate_ml_per_h.value
        times += [step.start, step.end]
    times += [plan.infusion_end, plan.observation_end]
    assert times == sorted(times)
