"""Population simulation: post-processing against the PK itself, and memory against years.

* **Post-processing ratio.** ``run_population`` (PK, PD, cumulative AUC, interval statistics,
  repletion or subset statistics, streamed percentiles) against the PK kernel alone
  (``linear.propagate`` / ``nonlinear.propagate_mm``) run on the same patients, chunks and time
  windows, in the same run. ``post_over_pk`` = (population - PK) / PK; the target is < 1.
  Each is the fastest of ``REPEATS`` alternating runs in process CPU time (the machine is
  shared, so wall time would mostly measure the neighbours). ``post_over_pk_whole_grid``
  uses the PK kernel on the whole grid instead (how the population ran before windows: the
  windowed kernel is up to 2x faster for the linear models, its arrays stay in cache).
* **Memory.** tracemalloc peak of a 10-year population against a 1-year one (same patients).

Full size: 1,000 patients x 730 days. With ``--benchmark-disable`` (CI's smoke run): 40
patients x 60 days, one repeat.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.linear import propagate
from msinfusion.pharmacology.models import (
    get_model,
    michaelis_menten,
    rates_on_grid,
    sample_patients,
    simulation_grid,
    two_compartment,
)
from msinfusion.pharmacology.nonlinear import propagate_mm
from msinfusion.pharmacology.population import (
    DEFAULT_CHUNK,
    DEFAULT_WINDOW,
    run_population,
)
from msinfusion.pharmacology.population_window import window_bounds
from msinfusion.pharmacology.regimen import standard_regimen
from tests.unit.pharmacology.helpers import ORIGIN

CATALOG = shipped_catalog()
N, DAYS, REPEATS = 1_000, 730.0, 5
SMOKE_N, SMOKE_DAYS = 40, 60.0
SEED = 2026


def _schedule(therapy: str, days: float):  # type: ignore[no-untyped-def]
    return standard_regimen(
        therapy, catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=days)
    )


def _pk_only(therapy: str, n: int, days: float) -> None:
    """The PK kernel alone, chunk by chunk and window by window as ``run_population`` runs it."""
    model, schedule = get_model(therapy), _schedule(therapy, days)
    grid = simulation_grid(schedule, days)
    rates = rates_on_grid(schedule, grid)
    rng = np.random.default_rng(SEED)
    sizes = [min(DEFAULT_CHUNK, n - done) for done in range(0, n, DEFAULT_CHUNK)]
    kernels: list[Callable[[int, int, np.ndarray], np.ndarray]] = []
    states: list[np.ndarray] = []
    for size in sizes:
        patients = sample_patients(model, size, rng)
        if model.nonlinear:
            mm = michaelis_menten(model, patients)
            kernels.append(
                lambda a, b, y, mm=mm: propagate_mm(mm, grid[a : b + 1], rates[a:b], y0=y)
            )
            states.append(np.zeros((size, 3)))
        else:
            tc = two_compartment(model, patients)
            kernels.append(lambda a, b, x, tc=tc: propagate(tc, grid[a : b + 1], rates[a:b], x))
            states.append(np.zeros((size, 2)))
    for first, last in window_bounds(grid.shape[0], DEFAULT_WINDOW):
        for i, kernel in enumerate(kernels):
            states[i] = kernel(first, last, states[i])[:, -1, :]


def _pk_whole(therapy: str, n: int, days: float) -> None:
    """The PK kernel on the whole grid per chunk (how the population ran before issue 22)."""
    model, schedule = get_model(therapy), _schedule(therapy, days)
    grid = simulation_grid(schedule, days)
    rates = rates_on_grid(schedule, grid)
    rng = np.random.default_rng(SEED)
    for done in range(0, n, DEFAULT_CHUNK):
        patients = sample_patients(model, min(DEFAULT_CHUNK, n - done), rng)
        if model.nonlinear:
            propagate_mm(michaelis_menten(model, patients), grid, rates)
        else:
            propagate(two_compartment(model, patients), grid, rates)


def _population(therapy: str, n: int, days: float) -> None:
    run_population(get_model(therapy), _schedule(therapy, days), days, n_patients=n, seed=SEED)


def _cpu(fn: Callable[[], None]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


@pytest.mark.parametrize("therapy", ["ocrelizumab", "natalizumab", "alemtuzumab"])
def test_post_processing_against_the_pk_itself(benchmark: BenchmarkFixture, therapy: str) -> None:
    n, days, repeats = (SMOKE_N, SMOKE_DAYS, 1) if benchmark.disabled else (N, DAYS, REPEATS)
    benchmark.pedantic(_population, args=(therapy, n, days), rounds=1, iterations=1)
    pk, whole, full = [], [], []
    for _ in range(repeats):
        pk.append(_cpu(lambda: _pk_only(therapy, n, days)))
        whole.append(_cpu(lambda: _pk_whole(therapy, n, days)))
        full.append(_cpu(lambda: _population(therapy, n, days)))
    info = {
        "patients": n,
        "days": days,
        "pk_cpu_s": round(min(pk), 4),
        "population_cpu_s": round(min(full), 4),
        "post_over_pk": round((min(full) - min(pk)) / min(pk), 3),
        "pk_whole_grid_cpu_s": round(min(whole), 4),
        "post_over_pk_whole_grid": round((min(full) - min(whole)) / min(whole), 3),
    }
    benchmark.extra_info.update(info)
    print(therapy, info)
    assert min(full) > 0


def _peak_bytes(years: float, n: int) -> int:
    days = 365.0 * years
    tracemalloc.start()
    try:
        run_population(
            get_model("ocrelizumab"), _schedule("ocrelizumab", days), days, n_patients=n, seed=SEED
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_against_simulated_years(benchmark: BenchmarkFixture) -> None:
    n, years = (SMOKE_N, 2.0) if benchmark.disabled else (N, 10.0)
    one = benchmark.pedantic(_peak_bytes, args=(1.0, n), rounds=1, iterations=1)
    many = _peak_bytes(years, n)
    info = {
        "patients": n,
        "peak_1_year_mib": round(one / 2**20, 2),
        f"peak_{years:g}_years_mib": round(many / 2**20, 2),
        "ratio": round(many / one, 3),
    }
    benchmark.extra_info.update(info)
    print(info)
    assert many <= 1.5 * one
