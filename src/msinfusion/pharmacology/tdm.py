"""Bayesian forecasting for natalizumab therapeutic drug monitoring.

From measured concentrations and the dosing history, the maximum a posteriori (MAP) estimate of
the patient's random effects (CL, V2, Vmax: the parameters with IIV in dossier §2.3) under the
log-normal priors, with a log-scale residual of SD ``prop_residual`` (21.9 %, dossier §2.3 B-).
The posterior is approximated by a Laplace (Gaussian) approximation around the MAP (Hessian by
central differences, all points solved at once as one stacked system). For each candidate
interval the steady-state trough is predicted for the MAP patient and for posterior samples; the
recommendation is the longest interval whose MAP trough stays at or above the target, with the
band of intervals where the posterior probability of staying above it is >= 95 % and >= 50 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from msinfusion.catalog.model import Protocol
from msinfusion.errors import PharmacologyError
from msinfusion.pharmacology.dosing import InfusionSchedule, combine, schedule_from_protocol
from msinfusion.pharmacology.models import (
    Patients,
    get_model,
    michaelis_menten,
    rates_on_grid,
    simulation_grid,
)
from msinfusion.pharmacology.nonlinear import propagate_mm

Array = NDArray[np.float64]
ETA_NAMES = ("CL", "V2", "Vmax")
FUTURE_DOSES = 8
DEFAULT_INTERVALS_WEEK = (4, 5, 6, 7, 8, 9, 10, 11, 12)
_GRADIENT_STEP = 1e-4
_RTOL, _ATOL = 1e-10, 1e-12
FORECAST_RTOL, FORECAST_ATOL = 1e-7, 1e-9
"""Forecast tolerances: troughs within 1e-7 (relative) of the fit's 1e-10, about 4x faster."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    day: float
    conc_ug_per_ml: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalForecast:
    interval_week: int
    map_trough_ug_per_ml: float
    trough_p5_ug_per_ml: float
    trough_p95_ug_per_ml: float
    probability_above_target: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TdmResult:
    status: str
    message: str
    eta_map: dict[str, float]
    parameters_map: dict[str, float]
    eta_sd: dict[str, float]
    predicted_levels: tuple[float, ...]
    forecasts: tuple[IntervalForecast, ...]
    recommended_interval_week: int | None
    interval_95pct_week: int | None
    interval_50pct_week: int | None
    target_ug_per_ml: float


def _patients(etas: Array, weight_kg: float | None, ada: bool) -> Patients:
    n = etas.shape[0]
    weight = np.full(n, np.nan if weight_kg is None else weight_kg)
    eta = {f"pk.{name}": etas[:, i] for i, name in enumerate(ETA_NAMES)}
    return Patients(weight_kg=weight, ada_positive=np.full(n, ada), eta=eta)


def predict(
    schedule: InfusionSchedule,
    days: Array,
    etas: Array,
    *,
    weight_kg: float | None = None,
    ada: bool = False,
    rtol: float = _RTOL,
    atol: float = _ATOL,
) -> Array:
    """Concentrations (n_etas, len(days)) for each row of random effects.

    The fit uses tight tolerances (its gradients are finite differences); a forecast may pass
    looser ones (``FORECAST_RTOL``): its troughs are read to three significant figures."""
    model = get_model("natalizumab")
    end = float(max(days.max(), *(s.end_day for s in schedule.segments)))
    grid = np.unique(np.concatenate([simulation_grid(schedule, end, 7.0), days]))
    mm = michaelis_menten(model, _patients(etas, weight_kg, ada))
    states = propagate_mm(mm, grid, rates_on_grid(schedule, grid), rtol=rtol, atol=atol)
    idx = np.searchsorted(grid, days)
    return np.asarray(states[:, idx, 0] / mm.V1[:, None], dtype=np.float64)


def _omega2() -> Array:
    omega = get_model("natalizumab").pk.omega2
    return np.asarray([omega[name].value for name in ETA_NAMES])


@dataclass(frozen=True, slots=True, kw_only=True)
class _Problem:
    schedule: InfusionSchedule
    levels: Sequence[Level]
    weight_kg: float | None
    ada: bool
    sigma: float

    def objective(self, etas: Array) -> Array:
        """Negative log posterior (up to a constant) for each row of random effects."""
        days = np.asarray([lv.day for lv in self.levels])
        observed = np.log(np.asarray([lv.conc_ug_per_ml for lv in self.levels]))
        conc = predict(self.schedule, days, etas, weight_kg=self.weight_kg, ada=self.ada)
        pred = np.log(np.maximum(conc, 1e-12))
        residual = ((observed[None, :] - pred) ** 2).sum(axis=1) / (2 * self.sigma**2)
        prior = (etas**2 / (2 * _omega2()[None, :])).sum(axis=1)
        return np.asarray(residual + prior, dtype=np.float64)

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Objective and central-difference gradient, all 2k + 1 points in one stacked solve."""
        h = _GRADIENT_STEP
        points = np.vstack([x, x + h * np.eye(x.size), x - h * np.eye(x.size)])
        values = self.objective(points)
        gradient = (values[1 : x.size + 1] - values[x.size + 1 :]) / (2 * h)
        return float(values[0]), np.asarray(gradient, dtype=np.float64)


def fit_map(
    schedule: InfusionSchedule,
    levels: Sequence[Level],
    *,
    weight_kg: float | None = None,
    ada: bool = False,
    residual_sd: float | None = None,
) -> tuple[Array, Array, bool]:
    """MAP random effects, their Laplace covariance, and whether the optimiser converged.

    ``residual_sd`` (log scale) defaults to the model's 21.9 % (dossier §2.3); an assay with a
    known smaller error may pass its own.
    """
    from scipy.optimize import minimize  # type: ignore[import-untyped]  # noqa: PLC0415 - lazy

    if not levels:
        raise PharmacologyError("TDM needs at least one measured level", field="levels")
    if any(lv.conc_ug_per_ml <= 0 for lv in levels):
        raise PharmacologyError("measured levels must be positive", field="levels")
    sigma = residual_sd or get_model("natalizumab").pk.value("prop_residual")
    problem = _Problem(schedule=schedule, levels=levels, weight_kg=weight_kg, ada=ada, sigma=sigma)

    best = minimize(
        problem.value_and_gradient,
        np.zeros(len(ETA_NAMES)),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-6, "maxiter": 200},
    )
    return best.x, _laplace_covariance(problem, best.x), bool(best.success)


def _laplace_covariance(problem: _Problem, x: Array) -> Array:
    """Inverse Hessian of the objective at ``x`` (central differences, one stacked solve)."""
    k, h = x.shape[0], 1e-2
    points = [x.copy()]
    pairs = []
    for i in range(k):
        for j in range(i, k):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                p = x.copy()
                p[i] += si * h
                p[j] += sj * h
                pairs.append((i, j, si * sj, len(points)))
                points.append(p)
    values = problem.objective(np.asarray(points))
    hess = np.zeros((k, k))
    for i, j, sign, index in pairs:
        hess[i, j] += sign * values[index] / (4 * h * h)
    # on the diagonal the four points are x + 2h e_i, x, x, x - 2h e_i: a central difference
    hess = np.triu(hess) + np.triu(hess, 1).T
    eigvals, eigvecs = np.linalg.eigh(hess)
    eigvals = np.maximum(eigvals, 1e-9)
    return np.asarray(eigvecs @ np.diag(1.0 / eigvals) @ eigvecs.T, dtype=np.float64)


def forecast_intervals(
    history: InfusionSchedule,
    protocol: Protocol,
    etas: Array,
    intervals_week: Sequence[int],
    *,
    weight_kg: float | None = None,
    ada: bool = False,
) -> Array:
    """Steady-state troughs (n_etas, n_intervals): FUTURE_DOSES doses after the last one."""
    last = history.dose_starts_day[-1]
    out = np.empty((etas.shape[0], len(intervals_week)))
    for col, weeks in enumerate(intervals_week):
        starts = [
            history.origin + timedelta(days=last + 7.0 * weeks * (k + 1))
            for k in range(FUTURE_DOSES)
        ]
        future = schedule_from_protocol([protocol], starts, origin=history.origin)
        trough_day = last + 7.0 * weeks * FUTURE_DOSES
        conc = predict(
            combine([history, future]),
            np.asarray([trough_day - 1e-9]),
            etas,
            weight_kg=weight_kg,
            ada=ada,
            rtol=FORECAST_RTOL,
            atol=FORECAST_ATOL,
        )
        out[:, col] = conc[:, 0]
    return out


def run_tdm(
    history: InfusionSchedule,
    levels: Sequence[Level],
    protocol: Protocol,
    *,
    target_ug_per_ml: float = 10.0,
    intervals_week: Sequence[int] = DEFAULT_INTERVALS_WEEK,
    weight_kg: float | None = None,
    ada: bool = False,
    samples: int = 200,
    seed: int = 0,
    residual_sd: float | None = None,
) -> TdmResult:
    eta, cov, converged = fit_map(
        history, levels, weight_kg=weight_kg, ada=ada, residual_sd=residual_sd
    )
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(eta, cov, size=samples)
    troughs = forecast_intervals(
        history, protocol, np.vstack([eta, draws]), intervals_week, weight_kg=weight_kg, ada=ada
    )
    map_trough, sampled = troughs[0], troughs[1:]
    prob = (sampled >= target_ug_per_ml).mean(axis=0)
    forecasts = tuple(
        IntervalForecast(
            interval_week=int(w),
            map_trough_ug_per_ml=float(map_trough[i]),
            trough_p5_ug_per_ml=float(np.percentile(sampled[:, i], 5)),
            trough_p95_ug_per_ml=float(np.percentile(sampled[:, i], 95)),
            probability_above_target=float(prob[i]),
        )
        for i, w in enumerate(intervals_week)
    )
    model = get_model("natalizumab")
    mm = michaelis_menten(model, _patients(eta[None, :], weight_kg, ada))
    days = np.asarray([lv.day for lv in levels])
    return TdmResult(
        status="converged" if converged else "not-converged",
        message="MAP found" if converged else "optimiser stopped before convergence",
        eta_map={n: float(eta[i]) for i, n in enumerate(ETA_NAMES)},
        parameters_map={n: float(getattr(mm, n)[0]) for n in ("CL", "V1", "Q", "V2", "Vmax", "Km")},
        eta_sd={n: float(math.sqrt(cov[i, i])) for i, n in enumerate(ETA_NAMES)},
        predicted_levels=tuple(
            float(v) for v in predict(history, days, eta[None, :], weight_kg=weight_kg, ada=ada)[0]
        ),
        forecasts=forecasts,
        recommended_interval_week=_longest(intervals_week, map_trough >= target_ug_per_ml),
        interval_95pct_week=_longest(intervals_week, prob >= 0.95),
        interval_50pct_week=_longest(intervals_week, prob >= 0.5),
        target_ug_per_ml=target_ug_per_ml,
    )


def _longest(intervals: Sequence[int], ok: Array) -> int | None:
    """The longest interval such that it and every shorter one keep the trough up."""
    best = None
    for weeks, good in sorted(zip(intervals, ok, strict=True)):
        if not good:
            break
        best = int(weeks)
    return best
