"""Natalizumab dosing advice: the fit against an independent ODE solution, the interval rule,
alpha-4 saturation by hand, prediction error and running accuracy, and a Hypothesis invariant
(a longer interval never raises the predicted trough)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.catalog import shipped_catalog
from msinfusion.errors import PharmacologyError
from msinfusion.pharmacology.dosing import schedule_from_protocol
from msinfusion.pharmacology.tdm import Level, forecast_intervals, run_tdm
from msinfusion.pharmacology.tdm_advice import (
    TARGETS,
    advise,
    model_version,
    predicted_level,
    prediction_error_pct,
    running_accuracy,
)
from tests.unit.pharmacology.helpers import ORIGIN

PROTOCOL = shipped_catalog().get_protocol("natalizumab-300")
STARTS = [ORIGIN + timedelta(weeks=4 * k) for k in range(5)]
HISTORY = schedule_from_protocol([PROTOCOL] * 5, STARTS, origin=ORIGIN)
LEVELS = [Level(day=83.9, conc_ug_per_ml=30.0), Level(day=111.9, conc_ug_per_ml=33.0)]


def _ode_concentration(params: dict[str, float], days: list[float]) -> list[float]:
    """An independent solution of the two-compartment model with parallel linear and
    Michaelis-Menten elimination (scipy's LSODA, the infusion as a piecewise-constant input)."""
    from scipy.integrate import solve_ivp  # type: ignore[import-untyped]

    cl, v1, q, v2 = params["CL"], params["V1"], params["Q"], params["V2"]
    vmax, km = params["Vmax"], params["Km"]

    def rhs(t: float, a: np.ndarray) -> list[float]:
        c = a[0] / v1
        rate = HISTORY.rate_at(t) * 24.0  # mg/h -> mg/day
        return [
            rate - cl * c - vmax * c / (km + c) - q * c + q * a[1] / v2,
            q * c - q * a[1] / v2,
        ]

    bounds = sorted({0.0, *HISTORY.breakpoints_day(), *days})
    state, out = np.zeros(2), {}
    for lo, hi in itertools.pairwise(bounds):
        sol = solve_ivp(rhs, (lo, hi), state, method="LSODA", rtol=1e-10, atol=1e-12)
        state = sol.y[:, -1]
        out[hi] = state[0] / v1
    return [float(out[d]) for d in days]


def test_the_fitted_levels_match_an_independent_ode_solution() -> None:
    result = run_tdm(HISTORY, LEVELS, PROTOCOL, samples=20)
    assert result.status == "converged"
    oracle = _ode_concentration(result.parameters_map, [lv.day for lv in LEVELS])
    assert result.predicted_levels == pytest.approx(oracle, rel=1e-4)


def test_the_map_is_a_stationary_point_of_an_independently_built_posterior() -> None:
    """Rebuild -log posterior from the ODE oracle (log residual SD 21.9 %, prior variances from
    the dossier's CVs) and check its gradient vanishes at the MAP, by central differences."""
    result = run_tdm(HISTORY, LEVELS, PROTOCOL, samples=20)
    names = ("CL", "V2", "Vmax")
    omega2 = {"CL": np.log(1 + 0.227**2), "V2": np.log(1 + 0.303**2), "Vmax": np.log(1 + 0.261**2)}
    typical = {k: v * np.exp(-result.eta_map.get(k, 0.0)) for k, v in result.parameters_map.items()}

    def objective(eta: dict[str, float]) -> float:
        params = {k: v * np.exp(eta.get(k, 0.0)) for k, v in typical.items()}
        pred = _ode_concentration(params, [lv.day for lv in LEVELS])
        resid = sum(
            (np.log(lv.conc_ug_per_ml) - np.log(p)) ** 2 for lv, p in zip(LEVELS, pred, strict=True)
        )
        return float(resid / (2 * 0.219**2) + sum(eta[n] ** 2 / (2 * omega2[n]) for n in names))

    h = 1e-3
    for name in names:
        up = dict(result.eta_map, **{name: result.eta_map[name] + h})
        down = dict(result.eta_map, **{name: result.eta_map[name] - h})
        assert (objective(up) - objective(down)) / (2 * h) == pytest.approx(0.0, abs=2e-2)


def test_the_advice_is_the_longest_interval_above_target_with_its_saturation() -> None:
    advice = advise(HISTORY, LEVELS, PROTOCOL, target_ug_per_ml=10, weight_kg=70, samples=40)
    forecasts = {int(f["interval_week"]): f for f in advice.forecasts}
    weeks = advice.interval_weeks
    assert weeks is not None
    assert all(forecasts[w]["map_trough_ug_per_ml"] >= 10 for w in range(4, weeks + 1))
    assert forecasts[weeks + 1]["map_trough_ug_per_ml"] < 10
    trough = advice.predicted_trough_ug_per_ml
    assert trough == forecasts[weeks]["map_trough_ug_per_ml"]
    # Saturation by hand: E0 17.7 %, Emax and EC50 through (36 ug/mL, 87.4 %), (18, 78.2 %).
    y1, y2 = 87.4 - 17.7, 78.2 - 17.7
    ec50 = (y1 - y2) / (y2 / 18 - y1 / 36)
    emax = y1 * (ec50 + 36) / 36
    assert ec50 == pytest.approx(6.456, abs=1e-3)
    assert advice.alpha4_saturation_pct_at_trough == pytest.approx(
        17.7 + emax * trough / (ec50 + trough)
    )
    assert advice.model_version == model_version()
    assert (
        advice.curve[0].p5_ug_per_ml
        <= advice.curve[0].map_ug_per_ml
        <= advice.curve[0].p95_ug_per_ml
    )
    assert any("never" in line and "automatically" in line for line in advice.basis)


def test_a_target_other_than_the_published_two_is_refused() -> None:
    assert set(TARGETS) == {5.0, 10.0}
    with pytest.raises(PharmacologyError) as refused:
        advise(HISTORY, LEVELS, PROTOCOL, target_ug_per_ml=7, weight_kg=None)
    assert refused.value.field == "target_ug_per_ml"


def test_prediction_error_and_running_accuracy_by_hand() -> None:
    assert prediction_error_pct(predicted_ug_per_ml=9.0, measured_ug_per_ml=12.0) == -25.0
    rows = running_accuracy([("a", 10.0), ("b", 4.0), ("a", -20.0), ("a", 1.0)])
    assert [(r.model_version, r.n) for r in rows] == [("a", 3), ("b", 1)]
    assert rows[0].mean_prediction_error_pct == pytest.approx(-3.0)
    assert rows[0].mean_absolute_prediction_error_pct == pytest.approx(31.0 / 3)
    with pytest.raises(PharmacologyError):
        prediction_error_pct(predicted_ug_per_ml=1.0, measured_ug_per_ml=0.0)


def test_a_stored_fit_predicts_a_later_trough_under_the_doses_given() -> None:
    eta = {"CL": 0.0, "V2": 0.0, "Vmax": 0.0}
    level = predicted_level(HISTORY, 139.9, eta, weight_kg=None)
    typical = run_tdm(HISTORY, [Level(day=111.9, conc_ug_per_ml=25.0)], PROTOCOL, samples=10)
    oracle = _ode_concentration(
        {k: v * np.exp(-typical.eta_map.get(k, 0.0)) for k, v in typical.parameters_map.items()},
        [139.9],
    )
    assert level == pytest.approx(oracle[0], rel=1e-4)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    eta=st.lists(st.floats(-0.5, 0.5), min_size=3, max_size=3),
    weeks=st.lists(st.integers(4, 12), min_size=2, max_size=4, unique=True),
)
def test_a_longer_interval_never_raises_the_predicted_trough(
    eta: list[float], weeks: list[int]
) -> None:
    ordered = sorted(weeks)
    troughs = forecast_intervals(HISTORY, PROTOCOL, np.asarray([eta]), ordered)[0]
    assert all(a >= b for a, b in itertools.pairwise(troughs))
