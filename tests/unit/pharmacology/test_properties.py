"""Invariants: non-negative, mass balance, superposition, seed reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.dosing import InfusionSchedule, RateSegment, combine
from msinfusion.pharmacology.linear import propagate
from msinfusion.pharmacology.models import (
    get_model,
    rates_on_grid,
    sample_patients,
    simulate_patients,
    simulation_grid,
    two_compartment,
    typical_patients,
)
from msinfusion.pharmacology.population import run_population
from tests.unit.pharmacology.helpers import ORIGIN

CATALOG = shipped_catalog()

THERAPIES = st.sampled_from(["ocrelizumab", "ublituximab", "rituximab", "alemtuzumab"])


@st.composite
def schedules(draw: st.DrawFn) -> InfusionSchedule:
    """1-4 infusions of 1-6 steps (some with zero rate: pauses), days 0-60."""
    segments: list[RateSegment] = []
    starts: list[float] = []
    t = 0.0
    for _ in range(draw(st.integers(1, 4))):
        t += draw(st.floats(0.0, 20.0))
        starts.append(t)
        for _ in range(draw(st.integers(1, 6))):
            length = draw(st.floats(1e-3, 0.2))
            rate = draw(st.sampled_from([0.0, 10.0, 36.0, 120.0, 240.0]))
            if rate > 0:
                segments.append(RateSegment(start_day=t, end_day=t + length, rate_mg_per_h=rate))
            t += length
    return InfusionSchedule(origin=ORIGIN, segments=tuple(segments), dose_starts_day=tuple(starts))


@settings(max_examples=30, deadline=None)
@given(THERAPIES, schedules())
def test_concentrations_are_non_negative_and_mass_balances(
    therapy: str, s: InfusionSchedule
) -> None:
    model = get_model(therapy)
    end = s.segments[-1].end_day + 20.0 if s.segments else 20.0
    grid = simulation_grid(s, end, step_day=0.01)
    course = simulate_patients(model, s, grid, typical_patients())
    assert (course.conc_ug_per_ml >= -1e-12).all()
    assert (np.diff(course.cum_auc_ug_day_per_ml[0]) >= -1e-12).all()
    # dose given = amount in the body + CL x AUC (trapezoid on a fine grid, independent of the
    # model's own mass-balance AUC); constant-CL models only
    if therapy == "ocrelizumab":
        return
    tc = two_compartment(model, typical_patients())
    body = propagate(tc, grid, rates_on_grid(s, grid))[0, -1].sum()
    eliminated = float(tc.CL[0]) * np.trapezoid(course.conc_ug_per_ml[0], grid)
    assert body + eliminated == pytest.approx(s.total_dose_mg, rel=1e-5, abs=1e-9)
    assert course.cum_auc_ug_day_per_ml[0, -1] == pytest.approx(
        np.trapezoid(course.conc_ug_per_ml[0], grid), rel=1e-5, abs=1e-12
    )


@settings(max_examples=25, deadline=None)
@given(THERAPIES, schedules(), schedules())
def test_superposition_of_two_schedules(
    therapy: str, a: InfusionSchedule, b: InfusionSchedule
) -> None:
    shifted = InfusionSchedule(
        origin=ORIGIN,
        segments=tuple(
            RateSegment(
                start_day=x.start_day + 100, end_day=x.end_day + 100, rate_mg_per_h=x.rate_mg_per_h
            )
            for x in b.segments
        ),
        dose_starts_day=tuple(d + 100 for d in b.dose_starts_day),
    )
    both = combine([a, shifted])
    model = get_model(therapy)
    grid = simulation_grid(both, 250.0)
    ca, cb, cab = (
        simulate_patients(model, s, grid, typical_patients()).conc_ug_per_ml[0]
        for s in (a, shifted, both)
    )
    scale = max(cab.max(), 1e-12)
    assert np.max(np.abs(ca + cb - cab)) <= 1e-10 * scale


def test_same_seed_same_population_and_different_seed_differs() -> None:
    from datetime import timedelta

    from msinfusion.pharmacology.regimen import standard_regimen

    schedule = standard_regimen(
        "ocrelizumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=200)
    )
    model = get_model("ocrelizumab")
    first = run_population(model, schedule, 200.0, n_patients=300, seed=11, chunk=128)
    again = run_population(model, schedule, 200.0, n_patients=300, seed=11, chunk=128)
    other = run_population(model, schedule, 200.0, n_patients=300, seed=12, chunk=128)
    assert np.array_equal(first.stats.auc, again.stats.auc)
    assert not np.array_equal(first.stats.auc, other.stats.auc)
    patients = sample_patients(model, 3, np.random.default_rng(5))
    assert set(patients.eta) == {"pk.CL", "pk.V1", "pk.V2", "pk.Q", "pd.Emax", "pd.kout"}
