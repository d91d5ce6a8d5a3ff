"""Speed of the clinic's natalizumab TDM fit (issue 23), as ratios measured in one run.

* The interval forecast at the forecast tolerances (``FORECAST_RTOL`` 1e-7) against the same
  forecast at the fit's 1e-10: the change that made a fit on the patient page take ~2 s.
* A whole ``advise`` (MAP fit, Laplace band, 9 interval forecasts, the curve) against one
  typical-patient simulation of 20 four-weekly doses (the reference a reader can picture).

Small by construction (one patient, 9 intervals, 40 posterior draws), so ``make bench-smoke``
runs it as is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology import Level, simulate, standard_regimen
from msinfusion.pharmacology import tdm as tdm_module
from msinfusion.pharmacology.tdm_advice import advise

BenchmarkFixture = Any
CATALOG = shipped_catalog()
PROTOCOL = CATALOG.get_protocol("natalizumab-300")
ORIGIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HISTORY = standard_regimen(
    "natalizumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=84)
)
LEVELS = [
    Level(day=HISTORY.day_of(ORIGIN + timedelta(days=55, hours=23)), conc_ug_per_ml=30.0),
    Level(day=HISTORY.day_of(ORIGIN + timedelta(days=83, hours=23)), conc_ug_per_ml=33.0),
]
ETAS = np.random.default_rng(0).normal(0.0, 0.4, (40, 3))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fastest(benchmark: BenchmarkFixture, fn: Callable[[], object]) -> float:
    if benchmark.stats is None:  # smoke run: benchmarks disabled
        return _timed(fn)
    return float(benchmark.stats.stats.min)


def _forecast() -> np.ndarray:
    return tdm_module.forecast_intervals(HISTORY, PROTOCOL, ETAS, range(4, 13))


def test_forecast_tolerance_vs_the_fits(
    benchmark: BenchmarkFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_result = benchmark.pedantic(_forecast, rounds=3, iterations=1)
    fast = _fastest(benchmark, _forecast)
    monkeypatch.setattr(tdm_module, "FORECAST_RTOL", 1e-10)
    monkeypatch.setattr(tdm_module, "FORECAST_ATOL", 1e-12)
    tight_result = _forecast()
    tight = min(_timed(_forecast) for _ in range(2))
    assert np.max(np.abs(fast_result - tight_result) / tight_result) < 1e-6
    benchmark.extra_info.update(forecast_s=fast, tight_s=tight, ratio=fast / tight)
    print(f"\nforecast 9 intervals x 40 draws: {fast:.2f} s vs {tight:.2f} s ({fast / tight:.2f}x)")


def test_advise_vs_one_simulation(benchmark: BenchmarkFixture) -> None:
    def run() -> object:
        return advise(HISTORY, LEVELS, PROTOCOL, target_ug_per_ml=10, weight_kg=70, samples=40)

    q4 = standard_regimen(
        "natalizumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(weeks=80)
    )
    benchmark.pedantic(run, rounds=2, iterations=1)
    fit = _fastest(benchmark, run)
    reference = min(_timed(lambda: simulate("natalizumab", q4, end_day=560.0)) for _ in range(3))
    benchmark.extra_info.update(advise_s=fit, simulation_s=reference, ratio=fit / reference)
    print(
        f"\nadvise {fit:.2f} s; one 20-dose simulation {reference:.3f} s ({fit / reference:.0f}x)"
    )
