"""Summaries per dosing interval: Cmax, trough, AUC, time below a threshold; half-lives.

An interval runs from one dose start to the next (the last to the end of the simulation). Cmax
is the largest grid value (the grid holds every rate change, where an IV infusion peaks); the
trough is the value at the interval's end, just before the next dose; the AUC is the difference
of the cumulative AUC (exact for the linear models, solver-accurate for natalizumab); time below
a threshold interpolates linearly between grid points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.models import Course

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalStats:
    """Per patient (rows) and interval (columns)."""

    start_day: Array
    end_day: Array
    cmax: Array
    trough: Array
    auc: Array
    time_below_day: Array | None


def interval_bounds(dose_starts_day: tuple[float, ...], end_day: float) -> tuple[Array, Array]:
    starts = np.asarray([d for d in dose_starts_day if d < end_day], dtype=np.float64)
    ends = np.append(starts[1:], end_day)
    return starts, ends


def interval_stats(
    course: Course,
    dose_starts_day: tuple[float, ...],
    end_day: float,
    threshold_ug_per_ml: float | None = None,
) -> IntervalStats:
    grid, conc, cum = course.grid_day, course.conc_ug_per_ml, course.cum_auc_ug_day_per_ml
    starts, ends = interval_bounds(dose_starts_day, end_day)
    lo = np.searchsorted(grid, starts - 1e-12)
    hi = np.searchsorted(grid, ends + 1e-12) - 1
    n, k = conc.shape[0], starts.shape[0]
    cmax, trough, auc = np.empty((n, k)), np.empty((n, k)), np.empty((n, k))
    below = np.empty((n, k)) if threshold_ug_per_ml is not None else None
    for j in range(k):
        cmax[:, j] = conc[:, lo[j] : hi[j] + 1].max(axis=1)
        trough[:, j] = conc[:, hi[j]]
        auc[:, j] = cum[:, hi[j]] - cum[:, lo[j]]
        if below is not None and threshold_ug_per_ml is not None:
            below[:, j] = time_below(
                grid[lo[j] : hi[j] + 1], conc[:, lo[j] : hi[j] + 1], threshold_ug_per_ml
            )
    return IntervalStats(
        start_day=starts, end_day=ends, cmax=cmax, trough=trough, auc=auc, time_below_day=below
    )


def time_below(t: Array, c: Array, threshold: float) -> Array:
    """Time each row spends below ``threshold``, linear between grid points."""
    h = np.diff(t)[None, :]
    a, b = c[:, :-1] - threshold, c[:, 1:] - threshold
    both = (a < 0) & (b < 0)
    cross = (a < 0) != (b < 0)
    denom = np.where(cross, a - b, 1.0)
    # share of a crossing step spent below: before the crossing when rising, after it when falling
    frac_below = np.where(a < 0, a / denom, 1.0 - a / denom)
    part = np.where(both, 1.0, np.where(cross, np.clip(frac_below, 0.0, 1.0), 0.0))
    return np.asarray((part * h).sum(axis=1), dtype=np.float64)


def apparent_half_life_day(grid: Array, conc: Array, start_day: float, end_day: float) -> float:
    """ln 2 / slope of a log-linear fit of one concentration series on [start, end]."""
    sel = (grid >= start_day) & (grid <= end_day) & (conc > 0)
    if sel.sum() < 3:
        return math.nan
    slope = np.polyfit(grid[sel], np.log(conc[sel]), 1)[0]
    return float(math.log(2.0) / -slope) if slope < 0 else math.inf
