"""Virtual populations in bounded memory, streamed over patients *and* over time.

Patients are simulated in chunks and the time grid in windows: windows are the outer loop, and
each chunk carries only its state from one window to the next (``population_window``). Within a
window every chunk's values go into a per-time-point histogram on log-spaced bins
(``BINS_PER_DECADE`` per decade, about 1.2 % wide); the window's 5th/50th/95th percentiles are
read from it by interpolation inside the bin and the histogram is reused for the next window.
Per-patient, per-interval summaries (Cmax, trough, AUC, time below, B-cell repletion, subset
nadirs) are accumulated window by window (``population_stats``) and kept for every patient, so
their percentiles are exact. Working memory is O(chunk x window + window x bins) plus a few
numbers per patient and interval: it does not grow with the simulated years.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.pharmacology.lymphocytes import SUBSETS, SubsetStats, stack_subset_stats
from msinfusion.pharmacology.models import (
    Course,
    DrugModel,
    Effect,
    Patients,
    rates_on_grid,
    sample_patients,
    simulation_grid,
)
from msinfusion.pharmacology.pd import ANTI_CD20_BCELL, time_to_threshold_day
from msinfusion.pharmacology.population_stats import (
    FirstCrossing,
    IntervalAccumulator,
    SubsetAccumulator,
)
from msinfusion.pharmacology.population_window import (
    ChunkState,
    simulate_window,
    start_chunk,
    window_bounds,
)
from msinfusion.pharmacology.summary import IntervalStats

Array = NDArray[np.float64]
PERCENTILES = (5.0, 50.0, 95.0)
BINS_PER_DECADE = 200
LOG10_LOW, LOG10_HIGH = -4.0, 4.0
DEFAULT_CHUNK = 500
DEFAULT_WINDOW = 64  # grid points per time window (days on the default one-day grid)


class LogHistogram:
    """Counts per (time, log10 bin); values below 10^LOG10_LOW share the first bin."""

    def __init__(self, n_times: int) -> None:
        self.n_bins = int((LOG10_HIGH - LOG10_LOW) * BINS_PER_DECADE)
        self.n_times = n_times
        self.counts = np.zeros(n_times * self.n_bins, dtype=np.int64)
        self.total = 0
        self.lowest, self.highest = self.n_bins, -1  # occupied bins: percentiles read only these

    def add(self, values: Array) -> None:
        """Add one row per patient, shape (n, T)."""
        # in place on one float and one integer temporary (fresh large temporaries cost more
        # than the arithmetic); the bin is floor((log10 x - low) * bins), clipped to the range
        work = np.maximum(values, 10.0**LOG10_LOW)
        np.log10(work, out=work)
        work -= LOG10_LOW
        work *= BINS_PER_DECADE
        np.clip(work, 0, self.n_bins - 1, out=work)
        idx = work.astype(np.int64)
        self.total += values.shape[0]
        if not idx.size:
            return
        low, high = int(idx.min()), int(idx.max())
        self.lowest, self.highest = min(self.lowest, low), max(self.highest, high)
        # count only over the bins this batch occupies (a far smaller array than all of them)
        width = high - low + 1
        idx += (np.arange(self.n_times) * width - low)[None, :]
        counts = np.bincount(idx.ravel(order="K"), minlength=self.n_times * width)
        table = self.counts.reshape(self.n_times, self.n_bins)
        table[:, low : high + 1] += counts.reshape(self.n_times, width)

    def clear(self) -> None:
        self.counts[:] = 0
        self.total = 0
        self.lowest, self.highest = self.n_bins, -1

    def percentile(self, q: float) -> Array:
        """The q-th percentile at every time (geometric interpolation inside the bin)."""
        return self.percentiles((q,))[q]

    def percentiles(self, qs: tuple[float, ...]) -> dict[float, Array]:
        """Several percentiles from one cumulative sum over the occupied bins (bins outside
        them are empty, so the answer is the same as over all bins, and 4-8x cheaper)."""
        first, last = (self.lowest, self.highest) if self.highest >= 0 else (0, self.n_bins - 1)
        counts = self.counts.reshape(self.n_times, self.n_bins)[:, first : last + 1]
        cum = np.cumsum(counts, axis=1)
        return {q: self._read(counts, cum, q, first) for q in qs}

    def _read(
        self, counts: NDArray[np.int64], cum: NDArray[np.int64], q: float, first: int
    ) -> Array:
        target = q / 100.0 * self.total
        b = np.minimum((cum < target).sum(axis=1), counts.shape[1] - 1)
        rows = np.arange(self.n_times)
        before = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0)
        inside = counts[rows, b]
        frac = np.where(inside > 0, (target - before) / np.maximum(inside, 1), 0.5)
        bin_number = first + b + np.clip(frac, 0, 1)
        return np.asarray(10.0 ** (LOG10_LOW + bin_number / BINS_PER_DECADE))


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
    window: int = DEFAULT_WINDOW,
    step_day: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> PopulationResult:
    """Simulate ``n_patients`` in chunks of patients and windows of ``window`` grid points.

    Windows are the outer loop: every chunk is advanced through one window (from its carried
    state), the window's histograms give its percentiles, then they are dropped, so working
    memory is O(chunk x window + window x bins + patients x intervals) whatever ``end_day``.
    ``progress(done)`` reports patient-equivalents simulated (``n_patients`` at the end).
    """
    grid = simulation_grid(schedule, end_day, step_day)
    rates = rates_on_grid(schedule, grid)
    rng = np.random.default_rng(seed)
    chunks: list[_Chunk] = []
    while sum(c.state.patients.size for c in chunks) < n_patients:
        size = min(chunk, n_patients - sum(c.state.patients.size for c in chunks))
        patients = sample_patients(model, size, rng, weight_kg=weight_kg, ada=ada)
        chunks.append(
            _Chunk.start(
                model=model,
                patients=patients,
                grid=grid,
                schedule=schedule,
                end_day=end_day,
                threshold=threshold_ug_per_ml,
            )
        )
    bands = _Bands(model, grid.shape[0])
    spans = window_bounds(grid.shape[0], window)
    for number, (first, last) in enumerate(spans):
        bands.open(last - first + 1)
        for c in chunks:
            c.add(first, simulate_window(c.state, grid[first : last + 1], rates[first:last]))
            bands.add(c.course)
            c.course = None
        bands.close(first)
        if progress is not None:
            progress(n_patients * (number + 1) // len(spans))
    return PopulationResult(
        grid_day=grid,
        n_patients=n_patients,
        seed=seed,
        conc_percentiles=bands.conc,
        effect_percentiles=bands.effect,
        stats=_stack([c.intervals.result() for c in chunks]),
        repletion_day=(
            None
            if model.effect is not Effect.B_CELLS
            else np.concatenate([c.repletion_day(schedule) for c in chunks])
        ),
        subset_percentiles=bands.subsets,
        subset_stats=(
            None
            if model.effect is not Effect.LYMPHOCYTE_SUBSETS
            else stack_subset_stats([c.subset_result() for c in chunks])
        ),
    )


@dataclass(slots=True, kw_only=True)
class _Chunk:
    """A chunk of patients: its carried state and its streamed per-patient summaries."""

    state: ChunkState
    intervals: IntervalAccumulator
    repletion: FirstCrossing | None
    subsets: SubsetAccumulator | None
    course: Course | None = None

    @classmethod
    def start(
        cls,
        *,
        model: DrugModel,
        patients: Patients,
        grid: Array,
        schedule: InfusionSchedule,
        end_day: float,
        threshold: float | None,
    ) -> _Chunk:
        n, doses = patients.size, schedule.dose_starts_day
        repletion = None
        if model.effect is Effect.B_CELLS:
            b0 = ANTI_CD20_BCELL.value("B0") * ANTI_CD20_BCELL.value("repletion_fraction")
            repletion = FirstCrossing(n, np.full(n, b0), doses[-1], math.inf)
        subsets = (
            SubsetAccumulator(grid, n, doses, SUBSETS)
            if model.effect is Effect.LYMPHOCYTE_SUBSETS
            else None
        )
        return cls(
            state=start_chunk(model, patients),
            intervals=IntervalAccumulator(grid, n, doses, end_day, threshold),
            repletion=repletion,
            subsets=subsets,
        )

    def add(self, first: int, course: Course) -> None:
        self.course = course
        self.intervals.add(first, course)
        if self.repletion is not None and course.effect is not None:
            self.repletion.add(course.grid_day, course.effect)
        if self.subsets is not None and course.subsets_pct_of_baseline is not None:
            self.subsets.add(first, course.grid_day, dict(course.subsets_pct_of_baseline))

    def repletion_day(self, schedule: InfusionSchedule) -> Array:
        assert self.repletion is not None
        return self.repletion.day - schedule.dose_starts_day[-1]

    def subset_result(self) -> SubsetStats:
        assert self.subsets is not None
        return self.subsets.result()


class _Bands:
    """Percentile bands over the whole grid, filled window by window from that window's
    histograms (reused between windows, so their size is the window's, not the course's)."""

    def __init__(self, model: DrugModel, n_times: int) -> None:
        self.n_times = n_times
        self.conc = {q: np.empty(n_times) for q in PERCENTILES}
        self.effect = (
            {q: np.empty(n_times) for q in PERCENTILES} if _has_single_effect(model) else None
        )
        self.subsets = (
            {s: {q: np.empty(n_times) for q in PERCENTILES} for s in SUBSETS}
            if model.effect is Effect.LYMPHOCYTE_SUBSETS
            else None
        )
        self._hists: dict[str, LogHistogram] = {}

    def open(self, n_times: int) -> None:
        names = ["conc", *(["effect"] if self.effect is not None else [])]
        names += list(self.subsets or ())
        for name in names:
            hist = self._hists.get(name)
            if hist is None or hist.n_times != n_times:
                self._hists[name] = LogHistogram(n_times)
            else:
                hist.clear()

    def add(self, course: Course | None) -> None:
        assert course is not None
        self._hists["conc"].add(course.conc_ug_per_ml)
        if self.effect is not None and course.effect is not None:
            self._hists["effect"].add(course.effect)
        for name, values in (course.subsets_pct_of_baseline or {}).items():
            self._hists[name].add(values)

    def close(self, first: int) -> None:
        targets: dict[str, dict[float, Array]] = {"conc": self.conc}
        if self.effect is not None:
            targets["effect"] = self.effect
        targets.update(self.subsets or {})
        for name, bands in targets.items():
            hist = self._hists[name]
            for q, values in hist.percentiles(PERCENTILES).items():
                bands[q][first : first + hist.n_times] = values


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
