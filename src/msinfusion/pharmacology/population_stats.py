"""Per-patient summaries accumulated window by window (the streamed population's post-processing).

Each accumulator sees the windows of one chunk of patients in time order (neighbouring windows
share their boundary point) and ends with exactly what the whole-course function returns:
``summary.interval_stats``, ``population.repletion_days`` (through ``FirstCrossing``, the
streamed ``pd.time_to_threshold_day``) and ``lymphocytes.subset_stats``. Memory is a few numbers
per patient and interval, never a time course.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.lymphocytes import (
    ALEMTUZUMAB_SUBSETS,
    BASELINE_PCT,
    DAYS_PER_MONTH,
    REPORT_MONTHS,
    SubsetStats,
    course_starts_day,
)
from msinfusion.pharmacology.models import Course
from msinfusion.pharmacology.summary import IntervalStats, interval_bounds, time_below

Array = NDArray[np.float64]


class FirstCrossing:
    """First time after ``after_day`` each row rises to ``threshold`` having been below it
    (linear interpolation), as ``pd.time_to_threshold_day``; NaN while it has not."""

    def __init__(self, n: int, threshold: Array, after_day: float, until_day: float) -> None:
        self.threshold, self.after, self.until = threshold, after_day, until_day
        self.day = np.full(n, math.nan)
        self.below_seen = np.zeros(n, dtype=bool)

    def add(self, grid: Array, values: Array) -> None:
        if grid[-1] < self.after or grid[0] > self.until:
            return
        open_rows = np.flatnonzero(np.isnan(self.day))  # rows still waiting for their crossing
        if open_rows.size == 0:
            return
        # the grid is sorted: the selected points are one slice (a view, not a copy)
        lo, hi = (
            np.searchsorted(grid, self.after, "left"),
            np.searchsorted(grid, self.until, "right"),
        )
        t = grid[lo:hi]
        v = values[:, lo:hi] if open_rows.size == values.shape[0] else values[open_rows, lo:hi]
        above = v >= self.threshold[open_rows, None]
        if not above.any():  # all still below (a depleted stretch): nothing to search
            self.below_seen[open_rows] |= v.shape[1] > 0
            return
        seen = self.below_seen[open_rows, None] | np.logical_or.accumulate(~above, axis=1)
        hit = above & seen
        found = np.flatnonzero(hit.any(axis=1))
        j = hit[found].argmax(axis=1)
        ok = j > 0  # a crossing needs the point before it, inside this window
        found, j = found[ok], j[ok]
        v0, v1 = v[found, j - 1], v[found, j]
        rows = open_rows[found]
        step = np.where(v1 != v0, v1 - v0, 1.0)
        frac = np.where(v1 != v0, (self.threshold[rows] - v0) / step, 0.0)
        self.day[rows] = t[j - 1] + frac * (t[j] - t[j - 1])
        self.below_seen[open_rows] |= seen[:, -1]


class IntervalAccumulator:
    """``summary.interval_stats`` of one chunk, from its windows."""

    def __init__(
        self, grid: Array, n: int, doses: tuple[float, ...], end_day: float, threshold: float | None
    ) -> None:
        self.starts, self.ends = interval_bounds(doses, end_day)
        self.lo = np.searchsorted(grid, self.starts - 1e-12)
        self.hi = np.searchsorted(grid, self.ends + 1e-12) - 1
        k = self.starts.shape[0]
        self.cmax = np.full((n, k), -np.inf)
        self.trough, self.auc, self.cum_lo = np.empty((n, k)), np.empty((n, k)), np.empty((n, k))
        self.threshold = threshold
        self.below = np.zeros((n, k)) if threshold is not None else None

    def add(self, first: int, course: Course) -> None:
        """``first``: the global index of the window's first point."""
        conc, cum, grid = course.conc_ug_per_ml, course.cum_auc_ug_day_per_ml, course.grid_day
        last = first + grid.shape[0] - 1
        for j in np.flatnonzero((self.lo <= last) & (self.hi >= first)):
            a, b = max(self.lo[j], first) - first, min(self.hi[j], last) - first
            self.cmax[:, j] = np.maximum(self.cmax[:, j], conc[:, a : b + 1].max(axis=1))
            if first <= self.lo[j]:
                self.cum_lo[:, j] = cum[:, a]
            if self.hi[j] <= last:
                self.trough[:, j] = conc[:, b]
                self.auc[:, j] = cum[:, b] - self.cum_lo[:, j]
            if self.below is not None and self.threshold is not None and b > a:
                self.below[:, j] += time_below(grid[a : b + 1], conc[:, a : b + 1], self.threshold)

    def result(self) -> IntervalStats:
        return IntervalStats(
            start_day=self.starts,
            end_day=self.ends,
            cmax=self.cmax,
            trough=self.trough,
            auc=self.auc,
            time_below_day=self.below,
        )


class SubsetAccumulator:
    """``lymphocytes.subset_stats`` of one chunk, from its windows: per course the running
    nadir and its day, the first rise to LLN, and the % of baseline at ``REPORT_MONTHS``."""

    def __init__(
        self, grid: Array, n: int, doses: tuple[float, ...], names: tuple[str, ...]
    ) -> None:
        end = float(grid[-1])
        self.grid, self.n, self.names = grid, n, names
        self.starts = course_starts_day(doses, end)
        self.stops = np.append(self.starts[1:], end)
        lln = np.full(n, BASELINE_PCT * ALEMTUZUMAB_SUBSETS.value("lln_fraction"))
        k = self.starts.size
        self.nadir = {s: np.full((n, k), np.inf) for s in names}
        self.nadir_day = {s: np.full((n, k), math.nan) for s in names}
        self.to_lln = {
            s: [
                FirstCrossing(n, lln, float(a), float(b))
                for a, b in zip(self.starts, self.stops, strict=True)
            ]
            for s in names
        }
        # lymphocytes.values_at: the step (j, j+1) holding each report day (-1: beyond the grid)
        self.month_steps = [
            (m, day, int(np.clip(np.searchsorted(grid, day, side="right") - 1, 0, grid.size - 2)))
            for m, day in enumerate(d * DAYS_PER_MONTH for d in REPORT_MONTHS)
            if grid[0] <= day <= grid[-1]
        ]
        self.at_month = {s: np.full((n, len(REPORT_MONTHS)), math.nan) for s in names}

    def add(self, first: int, grid: Array, subsets: dict[str, Array]) -> None:
        for name, values in subsets.items():
            for j, (start, stop) in enumerate(zip(self.starts, self.stops, strict=True)):
                lo, hi = np.searchsorted(grid, start, "left"), np.searchsorted(grid, stop, "right")
                if hi > lo:  # the course's points in this window: one slice of the sorted grid
                    t, v = grid[lo:hi], values[:, lo:hi]
                    low = v.argmin(axis=1)
                    value = v[np.arange(self.n), low]
                    better = value < self.nadir[name][:, j]
                    self.nadir[name][better, j] = value[better]
                    self.nadir_day[name][better, j] = t[low[better]] - start
                self.to_lln[name][j].add(grid, values)
            self._months(first, grid, name, values)

    def _months(self, first: int, grid: Array, name: str, values: Array) -> None:
        """Interpolate in the one window that holds both points of the report day's step."""
        last = first + grid.shape[0] - 1
        for m, day, j in self.month_steps:
            if first <= j and j + 1 <= last:
                frac = (day - self.grid[j]) / (self.grid[j + 1] - self.grid[j])
                a, b = values[:, j - first], values[:, j + 1 - first]
                self.at_month[name][:, m] = a + frac * (b - a)

    def result(self) -> SubsetStats:
        to_lln = {
            s: np.stack(
                [
                    (c.day - start) / DAYS_PER_MONTH
                    for c, start in zip(self.to_lln[s], self.starts, strict=True)
                ],
                axis=1,
            ).reshape(self.n, self.starts.size)
            for s in self.names
        }
        return SubsetStats(
            course_start_day=self.starts,
            nadir_pct=self.nadir,
            nadir_day_after_start=self.nadir_day,
            months_to_lln=to_lln,
            pct_at_month=self.at_month,
        )
