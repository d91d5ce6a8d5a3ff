"""Virtual populations in bounded memory: patients are simulated in chunks and streamed.

Per-interval summaries (a few numbers per patient and interval) are kept for every patient, so
their percentiles are exact. Time courses are never all held: each chunk adds its values to a
per-time-point histogram on log-spaced bins (``BINS_PER_DECADE`` per decade, about 1 % wide),
from which the 5th/50th/95th percentiles are read by interpolation inside the bin, so memory is
O(T x bins) whatever the number of patients.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.pharmacology.lymphocytes import (
    SUBSETS,
    SubsetStats,
    stack_subset_stats,
    subset_stats,
)
from msinfusion.pharmacology.models import (
    Course,
    DrugModel,
    Effect,
    sample_patients,
    simulate_patients,
    simulation_grid,
)
from msinfusion.pharmacology.pd import ANTI_CD20_BCELL, time_to_threshold_day
from msinfusion.pharmacology.summary import IntervalStats, interval_stats

Array = NDArray[np.float64]
PERCENTILES = (5.0, 50.0, 95.0)
BINS_PER_DECADE = 200
LOG10_LOW, LOG10_HIGH = -4.0, 4.0
DEFAULT_CHUNK = 500


class LogHistogram:
    """Counts per (time, log10 bin); values below 10^LOG10_LOW share the first bin."""

    def __init__(self, n_times: int) -> None:
        self.n_bins = int((LOG10_HIGH - LOG10_LOW) * BINS_PER_DECADE)
        self.n_times = n_times
        self.counts = np.zeros(n_times * self.n_bins, dtype=np.int64)
        self.total = 0

    def add(self, values: Array) -> None:
        """Add one row per patient, shape (n, T)."""
        logs = np.log10(np.maximum(values, 10.0**LOG10_LOW))
        idx = np.clip(((logs - LOG10_LOW) * BINS_PER_DECADE).astype(np.int64), 0, self.n_bins - 1)
        flat = idx + (np.arange(self.n_times) * self.n_bins)[None, :]
        self.counts += np.bincount(flat.ravel(), minlength=self.counts.shape[0])
        self.total += values.shape[0]

    def percentile(self, q: float) -> Array:
        """The q-th percentile at every time (geometric interpolation inside the bin)."""
        return self.percentiles((q,))[q]

    def percentiles(self, qs: tuple[float, ...]) -> dict[float, Array]:
        """Several percentiles from one cumulative sum over the bins."""
        counts = self.counts.reshape(self.n_times, self.n_bins)
        cum = np.cumsum(counts, axis=1)
        return {q: self._read(counts, cum, q) for q in qs}

    def _read(self, counts: NDArray[np.int64], cum: NDArray[np.int64], q: float) -> Array:
        target = q / 100.0 * self.total
        b = np.minimum((cum < target).sum(axis=1), self.n_bins - 1)
        rows = np.arange(self.n_times)
        before = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0)
        inside = counts[rows, b]
        frac = np.where(inside > 0, (target - before) / np.maximum(inside, 1), 0.5)
        return np.asarray(10.0 ** (LOG10_LOW + (b + np.clip(frac, 0, 1)) / BINS_PER_DECADE))


@dataclass(frozen=True, slots=True, kw_only=True)
class PopulationResult:
    grid_day: Array
    n_patients: int
    seed: int
    conc_percentiles: dict[float, Array]
    effect_percentiles: dict[float, Array] | None
    stats: IntervalStats
    repletion_day: Array | None
    subset_percentiles: dict[str, dict[float, Array]] | None = None
    subset_stats: SubsetStats | None = None


def run_population(
    model: DrugModel,
    schedule: InfusionSchedule,
    end_day: float,
    *,
    n_patients: int,
    seed: int,
    weight_kg: float | None = None,
    ada: bool = False,
    threshold_ug_per_ml: float | None = None,
    chunk: int = DEFAULT_CHUNK,
    step_day: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> PopulationResult:
    """Simulate ``n_patients`` in chunks; ``progress(done)`` is called after each chunk."""
    grid = simulation_grid(schedule, end_day, step_day)
    rng = np.random.default_rng(seed)
    conc_hist = LogHistogram(grid.shape[0])
    effect_hist = LogHistogram(grid.shape[0]) if _has_single_effect(model) else None
    subsets = (
        _SubsetAccumulator(grid, schedule) if model.effect is Effect.LYMPHOCYTE_SUBSETS else None
    )
    parts: list[IntervalStats] = []
    repletion: list[Array] = []
    done = 0
    while done < n_patients:
        size = min(chunk, n_patients - done)
        patients = sample_patients(model, size, rng, weight_kg=weight_kg, ada=ada)
        course = simulate_patients(model, schedule, grid, patients)
        conc_hist.add(course.conc_ug_per_ml)
        if effect_hist is not None and course.effect is not None:
            effect_hist.add(course.effect)
        parts.append(interval_stats(course, schedule.dose_starts_day, end_day, threshold_ug_per_ml))
        if model.effect is Effect.B_CELLS:
            repletion.append(repletion_days(course, schedule))
        if subsets is not None:
            subsets.add(course)
        done += size
        if progress is not None:
            progress(done)
    return PopulationResult(
        grid_day=grid,
        n_patients=n_patients,
        seed=seed,
        conc_percentiles=conc_hist.percentiles(PERCENTILES),
        effect_percentiles=(None if effect_hist is None else effect_hist.percentiles(PERCENTILES)),
        stats=_stack(parts),
        repletion_day=np.concatenate(repletion) if repletion else None,
        subset_percentiles=None if subsets is None else subsets.percentiles(),
        subset_stats=None if subsets is None else stack_subset_stats(subsets.parts),
    )


class _SubsetAccumulator:
    """Streamed percentile bands and per-patient course statistics of the lymphocyte subsets."""

    def __init__(self, grid: Array, schedule: InfusionSchedule) -> None:
        self.grid, self.schedule = grid, schedule
        self.hists = {s: LogHistogram(grid.shape[0]) for s in SUBSETS}
        self.parts: list[SubsetStats] = []

    def add(self, course: Course) -> None:
        if course.subsets_pct_of_baseline is None:  # pragma: no cover - subsets model only
            return
        for name, values in course.subsets_pct_of_baseline.items():
            self.hists[name].add(values)
        self.parts.append(
            subset_stats(self.grid, course.subsets_pct_of_baseline, self.schedule.dose_starts_day)
        )

    def percentiles(self) -> dict[str, dict[float, Array]]:
        return {s: h.percentiles(PERCENTILES) for s, h in self.hists.items()}


def _has_single_effect(model: DrugModel) -> bool:
    return model.effect in {Effect.B_CELLS, Effect.ALPHA4_SATURATION}


def repletion_days(course: Course, schedule: InfusionSchedule) -> Array:
    """Days from the last dose start until B cells reach the repletion fraction of B0."""
    if course.effect is None:
        return np.full(course.conc_ug_per_ml.shape[0], math.nan)
    last = schedule.dose_starts_day[-1]
    b0 = ANTI_CD20_BCELL.value("B0") * ANTI_CD20_BCELL.value("repletion_fraction")
    threshold = np.full(course.effect.shape[0], b0)
    return time_to_threshold_day(course.grid_day, course.effect, threshold, after_day=last) - last


def _stack(parts: list[IntervalStats]) -> IntervalStats:
    first = parts[0]
    below = [p.time_below_day for p in parts]
    return IntervalStats(
        start_day=first.start_day,
        end_day=first.end_day,
        cmax=np.concatenate([p.cmax for p in parts]),
        trough=np.concatenate([p.trough for p in parts]),
        auc=np.concatenate([p.auc for p in parts]),
        time_below_day=(
            None
            if any(b is None for b in below)
            else np.concatenate([b for b in below if b is not None])
        ),
    )
