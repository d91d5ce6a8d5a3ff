"""Linear models against closed-form solutions (relative error <= 1e-9) and a tight ODE solve."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.dosing import combine, schedule_from_events, schedule_from_protocol
from msinfusion.pharmacology.linear import TwoCompartment, propagate, terminal_half_life_day
from msinfusion.pharmacology.models import (
    get_model,
    rates_on_grid,
    simulation_grid,
    two_compartment,
    typical_patients,
)
from tests.unit.pharmacology.helpers import ORIGIN, closed_form_conc, ocrelizumab_600_with_pause


def _schedule():  # type: ignore[no-untyped-def]
    """A recorded 600 mg ladder with a 30-min pause, then planned 300 mg ladders."""
    recorded = schedule_from_events([ocrelizumab_600_with_pause()], origin=ORIGIN)
    p300 = shipped_catalog().get_protocol("ocrelizumab-300-initial")
    planned = schedule_from_protocol(
        [p300], [ORIGIN + timedelta(days=d) for d in (14.3, 60.0)], origin=ORIGIN
    )
    return combine([recorded, planned])


@pytest.mark.parametrize("therapy", ["ocrelizumab", "ublituximab", "rituximab", "alemtuzumab"])
def test_propagation_matches_closed_form_superposition(therapy: str) -> None:
    schedule = _schedule()
    grid = simulation_grid(schedule, 200.0, step_day=0.37)
    model = get_model(therapy)
    tc = two_compartment(model, typical_patients(weight_kg=83.0))
    if therapy == "ocrelizumab":  # the closed form exists for constant clearance only
        tc = TwoCompartment(CL=tc.CL, V1=tc.V1, Q=tc.Q, V2=tc.V2, CLT0=tc.CLT0 * 0, kdes=tc.kdes)
    amounts = propagate(tc, grid, rates_on_grid(schedule, grid))
    conc = amounts[0, :, 0] / tc.V1[0]
    expected = closed_form_conc(
        schedule, grid, cl=float(tc.CL[0]), v1=float(tc.V1[0]), q=float(tc.Q[0]), v2=float(tc.V2[0])
    )
    positive = expected > 0
    assert positive.sum() > 100
    rel = np.abs(conc[positive] - expected[positive]) / expected[positive]
    assert rel.max() <= 1e-9
    assert conc[~positive] == pytest.approx(0.0, abs=1e-300)


def test_time_varying_clearance_matches_a_tight_ode_solution() -> None:
    schedule = _schedule()
    grid = simulation_grid(schedule, 400.0)
    tc = two_compartment(get_model("ocrelizumab"), typical_patients())
    rates = rates_on_grid(schedule, grid)
    ours = propagate(tc, grid, rates)[0]
    cl, clt0, kdes = float(tc.CL[0]), float(tc.CLT0[0]), float(tc.kdes[0])
    v1, q, v2 = float(tc.V1[0]), float(tc.Q[0]), float(tc.V2[0])
    y = np.zeros(2)
    reference = [y]
    for k in range(grid.size - 1):
        r = rates[k] * 24.0

        def f(t: float, a: np.ndarray, r: float = r) -> np.ndarray:
            c = a[0] / v1
            clt = cl + clt0 * np.exp(-kdes * t)
            return np.array([r - clt * c - q * c + q * a[1] / v2, q * c - q * a[1] / v2])

        sol = solve_ivp(f, (grid[k], grid[k + 1]), y, method="DOP853", rtol=1e-13, atol=1e-14)
        y = sol.y[:, -1]
        reference.append(y)
    ref = np.asarray(reference)
    rel = np.abs(ours[:, 0] - ref[:, 0]) / np.maximum(ref[:, 0], 1e-12)
    assert rel[ref[:, 0] > 1e-6].max() <= 1e-8


def test_terminal_half_life_hand_worked_for_a_one_compartment_model() -> None:
    # ln 2 / (CL/V) = 0.6931 / (2.1714/14.1) = 4.5009 day
    assert terminal_half_life_day(14.1 * 0.154, 14.1, 0.0, 1.0) == pytest.approx(4.5009, abs=1e-4)
    # Ocrelizumab label values with CL = CLinf: the dossier computes 25.8 day (§1.3)
    assert terminal_half_life_day(0.17, 2.78, 0.294, 2.68) == pytest.approx(25.8, abs=0.05)
