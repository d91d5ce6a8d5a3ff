"""Natalizumab's nonlinear model against a tight-tolerance per-patient reference solve."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.dosing import schedule_from_protocol
from msinfusion.pharmacology.models import (
    get_model,
    michaelis_menten,
    rates_on_grid,
    sample_patients,
    simulate_patients,
    simulation_grid,
    typical_patients,
)
from msinfusion.pharmacology.nonlinear import propagate_mm
from msinfusion.pharmacology.pd import NATALIZUMAB_SATURATION, alpha4_saturation_pct
from tests.unit.pharmacology.helpers import ORIGIN


def _schedule(every_day: int = 28, doses: int = 4):  # type: ignore[no-untyped-def]
    protocol = shipped_catalog().get_protocol("natalizumab-300")
    starts = [ORIGIN + timedelta(days=every_day * k) for k in range(doses)]
    return schedule_from_protocol([protocol], starts, origin=ORIGIN)


def _reference(mm, i: int, grid: np.ndarray, rates: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    cl, v1, q, v2 = mm.CL[i], mm.V1[i], mm.Q[i], mm.V2[i]
    vmax, km = mm.Vmax[i], mm.Km[i]
    y = np.zeros(2)
    out = [y[0] / v1]
    for k in range(grid.size - 1):
        r = rates[k] * 24.0

        def f(_t: float, a: np.ndarray, r: float = r) -> np.ndarray:
            c = a[0] / v1
            flow = q * (c - a[1] / v2)
            return np.array([r - cl * c - vmax * c / (km + c) - flow, flow])

        y = solve_ivp(f, (grid[k], grid[k + 1]), y, method="DOP853", rtol=1e-12, atol=1e-12).y[
            :, -1
        ]
        out.append(y[0] / v1)
    return np.asarray(out)


def test_stacked_population_matches_per_patient_tight_reference() -> None:
    schedule = _schedule()
    grid = simulation_grid(schedule, 90.0, step_day=3.0)
    model = get_model("natalizumab")
    patients = sample_patients(model, 3, np.random.default_rng(7), weight_kg=80.0)
    mm = michaelis_menten(model, patients)
    rates = rates_on_grid(schedule, grid)
    ours = propagate_mm(mm, grid, rates)
    for i in range(3):
        ref = _reference(mm, i, grid, rates)
        conc = ours[i, :, 0] / mm.V1[i]
        sel = ref > 1e-3
        assert np.max(np.abs(conc[sel] - ref[sel]) / ref[sel]) <= 1e-6


def test_typical_patient_reproduces_the_dossier_plausibility_check() -> None:
    # dossier §2.3: q4w steady-state Cmax 111, trough 25.6; q6w trough 7.6 ug/mL
    model = get_model("natalizumab")
    for every, cmax, trough in ((28, 111.0, 25.6), (42, None, 7.6)):
        schedule = _schedule(every, 20)
        grid = simulation_grid(schedule, every * 20.0)
        conc = simulate_patients(model, schedule, grid, typical_patients()).conc_ug_per_ml[0]
        assert conc[-1] == pytest.approx(trough, abs=0.05)
        if cmax is not None:
            assert conc[grid >= every * 19].max() == pytest.approx(cmax, abs=0.5)


def test_anti_drug_antibodies_lower_the_trough() -> None:
    model = get_model("natalizumab")
    schedule = _schedule()
    grid = simulation_grid(schedule, 112.0)
    plain = simulate_patients(model, schedule, grid, typical_patients()).conc_ug_per_ml[0, -1]
    ada = simulate_patients(model, schedule, grid, typical_patients(ada=True)).conc_ug_per_ml[0, -1]
    assert ada < 0.5 * plain


def test_saturation_goes_through_its_two_calibration_points() -> None:
    values = alpha4_saturation_pct(np.array([36.0, 18.0, 0.0]), NATALIZUMAB_SATURATION)
    assert values == pytest.approx([87.4, 78.2, 17.7], abs=1e-9)
