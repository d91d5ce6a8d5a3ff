"""Natalizumab dosing advice for the clinic: the MAP fit, its band, the interval, the saturation.

``run_tdm`` (``tdm``) fits the patient's random effects and forecasts troughs per interval; this
module turns that into what a neurologist reads on the patient page and what the centre stores
with every recommendation: the longest interval whose MAP trough stays at or above the target,
the 5th-95th percentile band of that trough, the alpha-4 integrin saturation at the trough, the
fitted concentration curve with its credible band, the model and its version, and the basis and
assumptions in words. It also scores a stored prediction against a later measured trough.

Targets and the published accuracy benchmark are cited data (``TARGETS``, ``PUBLISHED_ACCURACY``).

>>> prediction_error_pct(predicted_ug_per_ml=11.0, measured_ug_per_ml=10.0)
10.0
>>> sorted(TARGETS)
[5.0, 10.0]
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from msinfusion.catalog.model import Protocol
from msinfusion.errors import PharmacologyError
from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.pharmacology.pd import NATALIZUMAB_SATURATION, alpha4_saturation_pct
from msinfusion.pharmacology.tdm import ETA_NAMES, Level, TdmResult, predict, run_tdm

NEXT_MS_URL = "https://pubmed.ncbi.nlm.nih.gov/37963723/"
MIPD_URL = "https://doi.org/10.1002/psp4.70014"
MIPD_ABSTRACT_URL = "https://m.booksci.cn/literature/143662980.htm"


@dataclass(frozen=True, slots=True, kw_only=True)
class TroughTarget:
    """A trough target a published personalised-interval protocol used."""

    ug_per_ml: float
    description: str
    source_url: str


TARGETS: dict[float, TroughTarget] = {
    10.0: TroughTarget(
        ug_per_ml=10.0,
        description="NEXT-MS EID10: personalised extended-interval dosing to a trough of "
        "10 ug/mL (non-inferior to 4-weekly dosing on new T2 lesions)",
        source_url=NEXT_MS_URL,
    ),
    5.0: TroughTarget(
        ug_per_ml=5.0,
        description="NEXT-MS EID5 (exploratory): a trough of 5 ug/mL, 'likely a safe target' "
        "to extend intervals beyond 6 weeks",
        source_url=NEXT_MS_URL,
    ),
}
"""The two targets the clinic may choose (Toorop et al., JNNP 2024;95:392-400)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedAccuracy:
    mean_prediction_error_pct: float
    method: str
    target_ug_per_ml: float
    source_url: str


PUBLISHED_ACCURACY = (
    PublishedAccuracy(
        mean_prediction_error_pct=4.8,
        method="model-informed precision dosing (Bayesian, two troughs)",
        target_ug_per_ml=10.0,
        source_url=MIPD_ABSTRACT_URL,
    ),
    PublishedAccuracy(
        mean_prediction_error_pct=24.0,
        method="TDM decision tree (stratified personalised dosing)",
        target_ug_per_ml=10.0,
        source_url=MIPD_ABSTRACT_URL,
    ),
)
"""van den Berg et al., CPT Pharmacometrics Syst Pharmacol 2025 (doi 10.1002/psp4.70014):
accuracy of the predicted dosing intervals aiming for 10 ug/mL."""

DEFAULT_SAMPLES = 100
CURVE_POINTS = 160
MODEL_ID = "natalizumab-2cmt-linear+MM-MAP-laplace"


def model_version() -> str:
    """The model's name and a digest of every PK parameter the fit uses.

    Any change to a parameter value, its random-effect variance or the residual gives another
    version, so the accuracy of each version is counted apart.

    >>> model_version().startswith(MODEL_ID + "/")
    True
    """
    from msinfusion.pharmacology.models import get_model  # noqa: PLC0415 - import cycle guard

    pk = get_model("natalizumab").pk
    parts = [pk.model_id]
    parts += [f"{n}={p.value!r}" for n, p in sorted(pk.typical.items())]
    parts += [f"omega2.{n}={p.value!r}" for n, p in sorted(pk.omega2.items())]
    digest = hashlib.sha256(";".join(parts).encode()).hexdigest()[:10]
    return f"{MODEL_ID}/{digest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    day: float
    map_ug_per_ml: float
    p5_ug_per_ml: float
    p95_ug_per_ml: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TdmAdvice:
    """One recommendation, as shown and as stored (with ``eta_map`` to score it later)."""

    status: str
    model_version: str
    target_ug_per_ml: float
    target_source_url: str
    interval_weeks: int | None
    predicted_trough_ug_per_ml: float | None
    trough_band_ug_per_ml: tuple[float, float] | None
    interval_band_weeks: tuple[int | None, int | None]
    """The longest interval kept above target with posterior probability >= 95 % and >= 50 %."""
    alpha4_saturation_pct_at_trough: float | None
    eta_map: dict[str, float]
    eta_sd: dict[str, float]
    fitted_levels_ug_per_ml: tuple[float, ...]
    forecasts: tuple[dict[str, float], ...]
    curve: tuple[CurvePoint, ...]
    basis: tuple[str, ...]


def advise(
    history: InfusionSchedule,
    levels: Sequence[Level],
    protocol: Protocol,
    *,
    target_ug_per_ml: float,
    weight_kg: float | None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> TdmAdvice:
    """Fit, forecast and explain; ``target_ug_per_ml`` must be one of ``TARGETS``."""
    target = TARGETS.get(float(target_ug_per_ml))
    if target is None:
        raise PharmacologyError(
            f"target_ug_per_ml must be 5 or 10 (NEXT-MS targets), not {target_ug_per_ml}",
            field="target_ug_per_ml",
        )
    result = run_tdm(
        history,
        levels,
        protocol,
        target_ug_per_ml=target.ug_per_ml,
        weight_kg=weight_kg,
        samples=samples,
        seed=seed,
    )
    chosen = next(
        (f for f in result.forecasts if f.interval_week == result.recommended_interval_week), None
    )
    saturation = None
    if chosen is not None:
        sat = alpha4_saturation_pct(
            np.asarray([chosen.map_trough_ug_per_ml]), NATALIZUMAB_SATURATION
        )
        saturation = float(sat[0])
    return TdmAdvice(
        status=result.status,
        model_version=model_version(),
        target_ug_per_ml=target.ug_per_ml,
        target_source_url=target.source_url,
        interval_weeks=result.recommended_interval_week,
        predicted_trough_ug_per_ml=None if chosen is None else chosen.map_trough_ug_per_ml,
        trough_band_ug_per_ml=None
        if chosen is None
        else (chosen.trough_p5_ug_per_ml, chosen.trough_p95_ug_per_ml),
        interval_band_weeks=(result.interval_95pct_week, result.interval_50pct_week),
        alpha4_saturation_pct_at_trough=saturation,
        eta_map=result.eta_map,
        eta_sd=result.eta_sd,
        fitted_levels_ug_per_ml=result.predicted_levels,
        forecasts=tuple(
            {
                "interval_week": float(f.interval_week),
                "map_trough_ug_per_ml": f.map_trough_ug_per_ml,
                "trough_p5_ug_per_ml": f.trough_p5_ug_per_ml,
                "trough_p95_ug_per_ml": f.trough_p95_ug_per_ml,
                "probability_above_target": f.probability_above_target,
            }
            for f in result.forecasts
        ),
        curve=fitted_curve(history, levels, result, weight_kg=weight_kg, seed=seed),
        basis=_basis(result, target, len(levels), weight_kg),
    )


def fitted_curve(
    history: InfusionSchedule,
    levels: Sequence[Level],
    result: TdmResult,
    *,
    weight_kg: float | None,
    samples: int = 60,
    seed: int = 0,
) -> tuple[CurvePoint, ...]:
    """The MAP concentration over the dosing history and its 5th-95th posterior band.

    The band samples the Laplace posterior as a normal with the MAP and per-effect SDs (the
    correlations are left out: the band is for reading, the interval uses the full covariance).
    """
    end = max(*(lv.day for lv in levels), history.dose_starts_day[-1] + 28.0)
    days = np.linspace(0.0, end, CURVE_POINTS)
    eta = np.asarray([result.eta_map[n] for n in ETA_NAMES])
    sd = np.asarray([result.eta_sd[n] for n in ETA_NAMES])
    rng = np.random.default_rng(seed)
    draws = eta[None, :] + rng.standard_normal((samples, eta.size)) * sd[None, :]
    conc = predict(history, days, np.vstack([eta, draws]), weight_kg=weight_kg)
    p5, p95 = np.percentile(conc[1:], [5.0, 95.0], axis=0)
    return tuple(
        CurvePoint(
            day=float(d), map_ug_per_ml=float(m), p5_ug_per_ml=float(lo), p95_ug_per_ml=float(hi)
        )
        for d, m, lo, hi in zip(days, conc[0], p5, p95, strict=True)
    )


def _basis(
    result: TdmResult, target: TroughTarget, n_levels: int, weight_kg: float | None
) -> tuple[str, ...]:
    weight = "no body weight on file (typical weight)" if weight_kg is None else f"{weight_kg} kg"
    return (
        f"Model: two-compartment PK with linear and Michaelis-Menten elimination "
        f"(van den Berg 2025 parameters, grade B-), version {model_version()}.",
        f"Data: {n_levels} measured trough(s); doses from the patient's record; {weight}.",
        f"Target: {target.ug_per_ml:g} ug/mL ({target.description}; {target.source_url}).",
        "Fit: maximum a posteriori random effects on CL, V2 and Vmax with a 21.9 % log-scale "
        "residual; band from a Laplace approximation of the posterior.",
        "Forecast: steady-state trough after 8 further 300 mg doses at each interval.",
        "Assumptions: the same assay as the model's data (Sanquin ELISA); no persistent "
        "anti-drug antibodies; adherence to the dates recorded.",
        "Decision support only: the interval is applied to the order by a physician, never "
        f"automatically. Optimiser: {result.message}.",
    )


def prediction_error_pct(*, predicted_ug_per_ml: float, measured_ug_per_ml: float) -> float:
    """Signed relative prediction error, (predicted - measured) / measured, in %."""
    if measured_ug_per_ml <= 0:
        raise PharmacologyError("a measured trough must be positive", field="trough_ug_per_ml")
    return round(100.0 * (predicted_ug_per_ml - measured_ug_per_ml) / measured_ug_per_ml, 10)


def predicted_level(
    history: InfusionSchedule, day: float, eta_map: dict[str, float], *, weight_kg: float | None
) -> float:
    """The concentration a stored fit predicts at ``day`` under the doses actually given."""
    eta = np.asarray([[eta_map[n] for n in ETA_NAMES]])
    return float(predict(history, np.asarray([day]), eta, weight_kg=weight_kg)[0, 0])


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionAccuracy:
    model_version: str
    n: int
    mean_prediction_error_pct: float
    mean_absolute_prediction_error_pct: float


def running_accuracy(errors: Iterable[tuple[str, float]]) -> tuple[VersionAccuracy, ...]:
    """Mean signed and absolute prediction error per model version, in version order.

    >>> running_accuracy([("v1", 10.0), ("v1", -4.0), ("v2", 2.0)])[0].mean_prediction_error_pct
    3.0
    """
    by_version: dict[str, list[float]] = {}
    for version, error in errors:
        if not math.isfinite(error):
            continue
        by_version.setdefault(version, []).append(error)
    return tuple(
        VersionAccuracy(
            model_version=v,
            n=len(values),
            mean_prediction_error_pct=sum(values) / len(values),
            mean_absolute_prediction_error_pct=sum(abs(x) for x in values) / len(values),
        )
        for v, values in sorted(by_version.items())
    )
