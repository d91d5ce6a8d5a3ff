"""The population streamed over time: windows joined end to end equal the whole-course functions,
memory does not grow with the simulated years, and streamed percentiles match exact ones."""

from __future__ import annotations

import math
import tracemalloc
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.lymphocytes import subset_stats
from msinfusion.pharmacology.models import (
    get_model,
    rates_on_grid,
    sample_patients,
    simulate_patients,
    simulation_grid,
)
from msinfusion.pharmacology.pd import time_to_threshold_day
from msinfusion.pharmacology.population import (
    BINS_PER_DECADE,
    LogHistogram,
    repletion_days,
    run_population,
)
from msinfusion.pharmacology.population_stats import FirstCrossing
from msinfusion.pharmacology.population_window import (
    simulate_window,
    start_chunk,
    window_bounds,
)
from msinfusion.pharmacology.regimen import standard_regimen
from msinfusion.pharmacology.summary import interval_stats
from tests.unit.pharmacology.helpers import ORIGIN

CATALOG = shipped_catalog()
BIN = 10.0 ** (1.0 / BINS_PER_DECADE)  # one histogram bin, as a factor (1.16 %)


def _schedule(therapy: str, days: float):  # type: ignore[no-untyped-def]
    return standard_regimen(
        therapy, catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=days)
    )


@pytest.mark.parametrize(
    ("therapy", "days"),
    [("ocrelizumab", 420.0), ("natalizumab", 90.0), ("alemtuzumab", 400.0)],
)
def test_windows_joined_equal_the_whole_course(therapy: str, days: float) -> None:
    """Every window resumes from the state the last one left: the joined course is the whole
    one (linear and B cells to rounding; Michaelis-Menten to the ODE tolerance, as its
    integration restarts at each window)."""
    model, schedule = get_model(therapy), _schedule(therapy, days)
    grid = simulation_grid(schedule, days)
    rates = rates_on_grid(schedule, grid)
    patients = sample_patients(model, 7, np.random.default_rng(5))
    whole = simulate_patients(model, schedule, grid, patients)
    state = start_chunk(model, patients)
    rel = 1e-6 if model.nonlinear else 1e-10
    for first, last in window_bounds(grid.shape[0], 37):
        part = simulate_window(state, grid[first : last + 1], rates[first:last])
        span = slice(first, last + 1)
        np.testing.assert_allclose(
            part.conc_ug_per_ml, whole.conc_ug_per_ml[:, span], rtol=rel, atol=1e-9
        )
        np.testing.assert_allclose(
            part.cum_auc_ug_day_per_ml, whole.cum_auc_ug_day_per_ml[:, span], rtol=rel, atol=1e-7
        )
        if whole.effect is not None:
            assert part.effect is not None
            np.testing.assert_allclose(part.effect, whole.effect[:, span], rtol=rel)
        for name, values in (whole.subsets_pct_of_baseline or {}).items():
            assert part.subsets_pct_of_baseline is not None
            np.testing.assert_allclose(
                part.subsets_pct_of_baseline[name], values[:, span], rtol=rel
            )


@pytest.mark.parametrize(
    ("therapy", "dosed", "days", "threshold"),
    [
        ("ocrelizumab", 200.0, 1100.0, 5.0),  # doses on days 0 and 14, then B cells replete
        ("natalizumab", 120.0, 120.0, 10.0),
        ("alemtuzumab", 800.0, 800.0, None),
    ],
)
def test_streamed_summaries_equal_the_whole_course_ones(
    therapy: str, dosed: float, days: float, threshold: float | None
) -> None:
    """Interval stats, B-cell repletion and subset statistics accumulated window by window
    equal the whole-course functions on the same patients; the bands equal the one-window
    (whole grid) run's."""
    model, schedule = get_model(therapy), _schedule(therapy, dosed)
    run = run_population(
        model,
        schedule,
        days,
        n_patients=30,
        seed=3,
        chunk=12,
        window=50,
        threshold_ug_per_ml=threshold,
    )
    one = run_population(
        model,
        schedule,
        days,
        n_patients=30,
        seed=3,
        chunk=12,
        window=10_000,
        threshold_ug_per_ml=threshold,
    )
    grid = simulation_grid(schedule, days)
    rng = np.random.default_rng(3)  # chunks of 12 + 12 + 6 drawn in order from one generator
    parts = [sample_patients(model, n, rng) for n in (12, 12, 6)]
    courses = [simulate_patients(model, schedule, grid, p) for p in parts]
    rel = 1e-6 if model.nonlinear else 1e-9
    expected = [interval_stats(c, schedule.dose_starts_day, days, threshold) for c in courses]
    for name in ("cmax", "trough", "auc", "time_below_day"):
        want = [getattr(e, name) for e in expected]
        if want[0] is None:
            assert getattr(run.stats, name) is None
            continue
        np.testing.assert_allclose(
            getattr(run.stats, name), np.concatenate(want), rtol=rel, atol=1e-6
        )
    if run.repletion_day is not None:
        want_days = np.concatenate([repletion_days(c, schedule) for c in courses])
        np.testing.assert_allclose(run.repletion_day, want_days, rtol=1e-9, equal_nan=True)
        assert np.isfinite(run.repletion_day).any()
    if run.subset_stats is not None:
        wants = [
            subset_stats(grid, c.subsets_pct_of_baseline or {}, schedule.dose_starts_day)
            for c in courses
        ]
        for field in ("nadir_pct", "nadir_day_after_start", "months_to_lln", "pct_at_month"):
            for s, got in getattr(run.subset_stats, field).items():
                want = np.concatenate([getattr(w, field)[s] for w in wants])
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
    for q, band in run.conc_percentiles.items():
        np.testing.assert_allclose(band, one.conc_percentiles[q], rtol=BIN - 1.0)


def _peak_bytes(years: int) -> int:
    model, days = get_model("ocrelizumab"), 365.0 * years
    schedule = _schedule("ocrelizumab", days)
    tracemalloc.start()
    try:
        run_population(model, schedule, days, n_patients=40, seed=1, chunk=20, window=64)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_simulated_years() -> None:
    """Peak traced memory of 10 years within 1.5x that of 1 year (the whole-grid version grew
    about tenfold: a histogram of 1,600 bins per day). What does grow is the output itself:
    the grid, rates and bands (a few numbers per day) and per-interval stats."""
    one, ten = _peak_bytes(1), _peak_bytes(10)
    assert ten <= 1.5 * one, (one, ten)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 300), st.integers(1, 4)),
        elements=st.floats(1e-3, 1e3),
    ),
    st.integers(1, 7),
    st.sampled_from([5.0, 50.0, 95.0]),
)
def test_streamed_percentiles_are_exact_to_one_bin_around_the_exact_rank(
    values: np.ndarray, parts: int, q: float
) -> None:
    """Stated tolerance: in any chunking, the streamed q-th percentile lies within one bin
    (x/÷ 1.0116) of the order statistics on either side of the exact rank (n-1)q/100, i.e. of
    ``np.percentile``'s value when neighbouring patients are close."""
    hist = LogHistogram(values.shape[1])
    for part in np.array_split(values, parts):
        if part.shape[0]:
            hist.add(part)
    got = hist.percentile(q)
    ordered = np.sort(values, axis=0)
    n = values.shape[0]
    rank = (n - 1) * q / 100.0
    low = ordered[max(0, math.floor(rank) - 1)]
    high = ordered[min(n - 1, math.ceil(rank) + 1)]
    assert (got >= low / BIN * (1 - 1e-12)).all()
    assert (got <= high * BIN * (1 + 1e-12)).all()


def test_streamed_percentiles_of_a_large_population_are_within_a_bin() -> None:
    rng = np.random.default_rng(8)
    values = np.exp(rng.normal(1.0, 0.8, (20_000, 3)))
    hist = LogHistogram(3)
    for part in np.array_split(values, 9):
        hist.add(part)
    for q in (5.0, 50.0, 95.0):
        assert hist.percentile(q) == pytest.approx(np.percentile(values, q, axis=0), rel=BIN - 1.0)


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 40)), elements=st.floats(0, 10)),
    st.integers(2, 12),
    st.floats(0.0, 1.0),
)
def test_first_crossing_streamed_equals_the_whole_series(
    values: np.ndarray, window: int, share: float
) -> None:
    """``FirstCrossing`` over windows sharing their boundary point equals
    ``pd.time_to_threshold_day`` on the whole series, including "never" (NaN)."""
    grid = np.arange(values.shape[1], dtype=np.float64)
    after = share * grid[-1]  # the whole-series function needs a point at or after it
    threshold = np.full(values.shape[0], 5.0)
    crossing = FirstCrossing(values.shape[0], threshold, after, math.inf)
    for first, last in window_bounds(grid.shape[0], window):
        crossing.add(grid[first : last + 1], values[:, first : last + 1])
    whole = time_to_threshold_day(grid, values, threshold, after_day=after)
    np.testing.assert_allclose(crossing.day, whole, equal_nan=True)
