"""Speed of the pharmacology core: 1,000 virtual patients x 2 years, ratios measured in one run.

* Linear (ocrelizumab, time-dependent CL; ublituximab, constant CL): the vectorised exact
  propagation against a per-patient ``solve_ivp`` loop (DOP853, piecewise between rate changes).
* Natalizumab: the stacked ``solve_ivp`` against the same per-patient loop and against R deSolve
  (lsoda) run by ``Rscript`` on the same model, tolerance and output grid.

Accuracy is measured, not assumed: each method's largest relative error against a per-patient
DOP853 solve at rtol 1e-13 on a handful of patients is stored in ``extra_info`` and printed.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from scipy.integrate import solve_ivp

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
from msinfusion.pharmacology.regimen import standard_regimen
from tests.unit.pharmacology.helpers import ORIGIN

CATALOG = shipped_catalog()

N = 1_000
DAYS = 730.0
LOOP_RTOL, LOOP_ATOL = 1e-8, 1e-10
CHECKED = 5
R_SCRIPT = Path(__file__).with_name("pharmacology_desolve.R")


def _setup(therapy: str):  # type: ignore[no-untyped-def]
    schedule = standard_regimen(
        therapy, catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=DAYS)
    )
    grid = simulation_grid(schedule, DAYS)
    model = get_model(therapy)
    patients = sample_patients(model, N, np.random.default_rng(2026), weight_kg=None)
    return grid, rates_on_grid(schedule, grid), model, patients


def _pieces(grid: np.ndarray, rates: np.ndarray) -> list[tuple[int, int]]:
    out, k = [], 0
    while k < rates.size:
        j = k + 1
        while j < rates.size and rates[j] == rates[k]:
            j += 1
        out.append((k, j))
        k = j
    return out


def _loop(
    *,
    rhs: Callable[[int, float], Callable[[float, np.ndarray], np.ndarray]],
    n_states: int,
    patients: range,
    grid: np.ndarray,
    rates: np.ndarray,
    rtol: float,
    atol: float,
) -> np.ndarray:
    """Per-patient solve_ivp, restarted at every rate change; central amount on the grid."""
    out = np.zeros((len(patients), grid.size))
    pieces = _pieces(grid, rates)
    for row, i in enumerate(patients):
        y = np.zeros(n_states)
        for k, j in pieces:
            sol = solve_ivp(
                rhs(i, rates[k] * 24.0),
                (grid[k], grid[j]),
                y,
                method="DOP853",
                t_eval=grid[k + 1 : j + 1],
                rtol=rtol,
                atol=atol,
            )
            out[row, k + 1 : j + 1] = sol.y[0]
            y = sol.y[:, -1]
    return out


def _linear_rhs(tc):  # type: ignore[no-untyped-def]
    def make(i: int, r: float) -> Callable[[float, np.ndarray], np.ndarray]:
        cl, clt0, kdes = tc.CL[i], tc.CLT0[i], tc.kdes[i]
        v1, q, v2 = tc.V1[i], tc.Q[i], tc.V2[i]

        def f(t: float, a: np.ndarray) -> np.ndarray:
            c = a[0] / v1
            flow = q * (c - a[1] / v2)
            return np.array([r - (cl + clt0 * np.exp(-kdes * t)) * c - flow, flow])

        return f

    return make


def _mm_rhs(mm):  # type: ignore[no-untyped-def]
    def make(i: int, r: float) -> Callable[[float, np.ndarray], np.ndarray]:
        cl, v1, q, v2, vmax, km = mm.CL[i], mm.V1[i], mm.Q[i], mm.V2[i], mm.Vmax[i], mm.Km[i]

        def f(_t: float, a: np.ndarray) -> np.ndarray:
            c = a[0] / v1
            flow = q * (c - a[1] / v2)
            return np.array([r - cl * c - vmax * c / (km + c) - flow, flow])

        return f

    return make


def _rel_error(values: np.ndarray, reference: np.ndarray) -> float:
    sel = reference > 1e-6 * reference.max()
    return float(np.max(np.abs(values[sel] - reference[sel]) / reference[sel]))


def _fastest(benchmark: BenchmarkFixture, fn: Callable[[], np.ndarray]) -> float:
    """The benchmark's fastest round; in the smoke run (benchmarks disabled) one timed call."""
    if benchmark.stats is None:
        return _timed(fn)[0]
    return float(benchmark.stats.stats.min)


def _timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@pytest.mark.parametrize("therapy", ["ocrelizumab", "ublituximab"])
def test_linear_vectorised_vs_solve_ivp_loop(benchmark: BenchmarkFixture, therapy: str) -> None:
    grid, rates, model, patients = _setup(therapy)
    tc = two_compartment(model, patients)
    fast = benchmark.pedantic(lambda: propagate(tc, grid, rates), rounds=3, iterations=1)
    vec_s = _fastest(benchmark, lambda: propagate(tc, grid, rates))
    loop_s, loop = _timed(
        lambda: _loop(
            rhs=_linear_rhs(tc),
            n_states=2,
            patients=range(N),
            grid=grid,
            rates=rates,
            rtol=LOOP_RTOL,
            atol=LOOP_ATOL,
        )
    )
    ref = _loop(
        rhs=_linear_rhs(tc),
        n_states=2,
        patients=range(CHECKED),
        grid=grid,
        rates=rates,
        rtol=1e-13,
        atol=1e-14,
    )
    info = {
        "patients": N,
        "days": DAYS,
        "vectorised_s": vec_s,
        "loop_s": loop_s,
        "speedup": loop_s / vec_s,
        "vectorised_max_rel_error": _rel_error(fast[:CHECKED, :, 0], ref),
        "loop_max_rel_error": _rel_error(loop[:CHECKED], ref),
    }
    benchmark.extra_info.update(info)
    print(therapy, info)
    assert info["vectorised_max_rel_error"] <= info["loop_max_rel_error"]
    assert info["speedup"] >= 100


def test_natalizumab_stacked_vs_loop_and_desolve(
    benchmark: BenchmarkFixture, tmp_path: Path
) -> None:
    grid, rates, model, patients = _setup("natalizumab")
    mm = michaelis_menten(model, patients)
    fast = benchmark.pedantic(
        lambda: propagate_mm(mm, grid, rates, rtol=LOOP_RTOL, atol=LOOP_ATOL),
        rounds=3,
        iterations=1,
    )
    vec_s = _fastest(
        benchmark, lambda: propagate_mm(mm, grid, rates, rtol=LOOP_RTOL, atol=LOOP_ATOL)
    )
    loop_s, loop = _timed(
        lambda: _loop(
            rhs=_mm_rhs(mm),
            n_states=2,
            patients=range(N),
            grid=grid,
            rates=rates,
            rtol=LOOP_RTOL,
            atol=LOOP_ATOL,
        )
    )
    ref = _loop(
        rhs=_mm_rhs(mm),
        n_states=2,
        patients=range(CHECKED),
        grid=grid,
        rates=rates,
        rtol=1e-13,
        atol=1e-14,
    )
    info: dict[str, object] = {
        "patients": N,
        "days": DAYS,
        "vectorised_s": vec_s,
        "loop_s": loop_s,
        "speedup_vs_loop": loop_s / vec_s,
        "vectorised_max_rel_error": _rel_error(fast[:CHECKED, :, 0], ref),
        "loop_max_rel_error": _rel_error(loop[:CHECKED], ref),
    }
    info |= _desolve(mm, grid=grid, rates=rates, tmp=tmp_path, ref=ref, vec_s=vec_s)
    benchmark.extra_info.update(info)
    print("natalizumab", info)
    assert float(info["speedup_vs_loop"]) >= 20  # type: ignore[arg-type]


def _desolve(mm, *, grid, rates, tmp: Path, ref: np.ndarray, vec_s: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {
            "desolve": "blocked: Rscript not found (apt-get install r-base-core r-cran-desolve)"
        }
    with (tmp / "params.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["CL", "V1", "Q", "V2", "Vmax", "Km"])
        w.writerows(zip(mm.CL, mm.V1, mm.Q, mm.V2, mm.Vmax, mm.Km, strict=True))
    with (tmp / "pieces.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["start", "end", "rate_mg_per_day"])
        w.writerows((grid[k], grid[j], rates[k] * 24.0) for k, j in _pieces(grid, rates))
    with (tmp / "grid.csv").open("w", newline="") as f:
        f.write("day\n" + "\n".join(repr(float(t)) for t in grid) + "\n")
    done = subprocess.run(
        [
            rscript,
            str(R_SCRIPT),
            *(str(tmp / n) for n in ("params.csv", "pieces.csv", "grid.csv")),
            str(LOOP_RTOL),
            str(LOOP_ATOL),
            str(tmp / "out.csv"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    r_s = float(done.stdout.strip().splitlines()[-1])
    r_conc = np.loadtxt(tmp / "out.csv", delimiter=",", skiprows=1)
    v1 = np.asarray(mm.V1[:CHECKED])[:, None]
    return {
        "desolve_lsoda_s": r_s,
        "speedup_vs_desolve": r_s / vec_s,
        "desolve_max_rel_error": _rel_error(r_conc[:CHECKED] * v1, ref),
    }
