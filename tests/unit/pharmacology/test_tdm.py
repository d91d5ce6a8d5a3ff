"""Natalizumab TDM: MAP recovers known parameters from simulated noisy troughs."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.errors import PharmacologyError
from msinfusion.pharmacology.dosing import schedule_from_protocol
from msinfusion.pharmacology.tdm import Level, fit_map, predict, run_tdm
from tests.unit.pharmacology.helpers import ORIGIN

PROTOCOL = shipped_catalog().get_protocol("natalizumab-300")


def _history(every: int = 28, doses: int = 6):  # type: ignore[no-untyped-def]
    starts = [ORIGIN + timedelta(days=every * k) for k in range(doses)]
    return schedule_from_protocol([PROTOCOL], starts, origin=ORIGIN)


def _levels(history, true_eta: np.ndarray, noise_sd: float, seed: int) -> list[Level]:  # type: ignore[no-untyped-def]
    days = np.array(
        [d - 0.01 for d in history.dose_starts_day[1:]] + [history.dose_starts_day[-1] + 7.0]
    )
    conc = predict(history, days, true_eta[None, :])[0]
    noisy = conc * np.exp(np.random.default_rng(seed).normal(0.0, noise_sd, conc.size))
    return [Level(day=float(d), conc_ug_per_ml=float(c)) for d, c in zip(days, noisy, strict=True)]


def test_map_recovers_known_parameters_from_noisy_troughs() -> None:
    history = _history()
    true = np.array([0.35, 0.0, -0.25])
    levels = _levels(history, true, 0.05, seed=1)
    eta, cov, converged = fit_map(history, levels, residual_sd=0.05)
    assert converged
    sd = np.sqrt(np.diag(cov))
    assert abs(eta[0] - true[0]) < 0.1  # CL: the best-identified parameter
    assert np.all(np.abs(eta - true) < 2.5 * sd)
    predicted = predict(history, np.array([lv.day for lv in levels]), eta[None, :])[0]
    observed = np.array([lv.conc_ug_per_ml for lv in levels])
    assert np.all(np.abs(np.log(predicted / observed)) < 0.15)


def test_with_the_model_residual_the_map_shrinks_towards_the_prior() -> None:
    history = _history()
    true = np.array([0.35, 0.0, 0.0])
    eta, _cov, _ok = fit_map(history, _levels(history, true, 0.05, seed=1))
    assert 0.0 < eta[0] < true[0]


def test_without_information_the_map_is_the_prior_mode() -> None:
    history = _history(doses=2)
    typical = predict(history, np.array([27.99]), np.zeros((1, 3)))[0, 0]
    eta, _cov, _ok = fit_map(history, [Level(day=27.99, conc_ug_per_ml=float(typical))])
    assert eta == pytest.approx(np.zeros(3), abs=1e-3)


def test_interval_recommendation_is_longest_above_target_with_a_band() -> None:
    history = _history()
    levels = _levels(history, np.array([-0.4, 0.0, -0.3]), 0.05, seed=2)
    result = run_tdm(
        history, levels, PROTOCOL, target_ug_per_ml=10.0, samples=60, intervals_week=(4, 5, 6, 7, 8)
    )
    troughs = [f.map_trough_ug_per_ml for f in result.forecasts]
    assert troughs == sorted(troughs, reverse=True)
    rec = result.recommended_interval_week
    assert rec is not None
    above = [f for f in result.forecasts if f.map_trough_ug_per_ml >= 10.0]
    assert rec == max(f.interval_week for f in above)
    if result.interval_95pct_week is not None:
        assert result.interval_95pct_week <= rec


def test_levels_must_be_positive_and_present() -> None:
    with pytest.raises(PharmacologyError, match="at least one"):
        fit_map(_history(), [])
    with pytest.raises(PharmacologyError, match="positive"):
        fit_map(_history(), [Level(day=10.0, conc_ug_per_ml=0.0)])
