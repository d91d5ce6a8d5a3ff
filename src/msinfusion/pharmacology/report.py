"""One simulation run as a value: typical patient, optional population, JSON and CSV views.

>>> from datetime import UTC, datetime, timedelta
>>> from msinfusion.catalog import shipped_catalog
>>> from msinfusion.pharmacology.regimen import standard_regimen
>>> origin = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
>>> end = origin + timedelta(days=364)
>>> schedule = standard_regimen("natalizumab", catalog=shipped_catalog(), origin=origin, end=end)
>>> report = simulate("natalizumab", schedule, end_day=364.0)
>>> round(report.to_json_dict()["summary"]["intervals"][-1]["trough_ug_per_ml"], 1)
25.6
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.pharmacology.linear import terminal_half_life_day
from msinfusion.pharmacology.lymphocytes import (
    ALEMTUZUMAB_SUBSETS,
    BASELINE_PCT,
    REPORT_MONTHS,
    SUBSET_LABELS,
    SubsetStats,
    subset_stats,
)
from msinfusion.pharmacology.models import (
    Course,
    DrugModel,
    Effect,
    get_model,
    simulate_patients,
    simulation_grid,
    two_compartment,
    typical_patients,
)
from msinfusion.pharmacology.population import PopulationResult, repletion_days, run_population
from msinfusion.pharmacology.summary import IntervalStats, apparent_half_life_day, interval_stats

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationReport:
    model: DrugModel
    schedule: InfusionSchedule
    end_day: float
    weight_kg: float | None
    typical: Course
    typical_stats: IntervalStats
    terminal_half_life_day: float
    half_life_method: str
    population: PopulationResult | None
    typical_subsets: SubsetStats | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "therapy": self.model.therapy_id,
            "model": self.model.pk.model_id,
            "effect": self.model.effect.value,
            "placeholders": list(self.model.placeholders()),
            "notes": list(self.model.notes),
            "weight_kg": self.weight_kg,
            "days": self.end_day,
            "total_dose_mg": round(self.schedule.total_dose_mg, 6),
            "patients": None if self.population is None else self.population.n_patients,
            "seed": None if self.population is None else self.population.seed,
            "summary": {
                "intervals": self._intervals(),
                "terminal_half_life_day": _num(self.terminal_half_life_day),
                "terminal_half_life_method": self.half_life_method,
                "repletion_weeks_after_last_dose": self._repletion(),
                "lymphocyte_subsets": self._subsets(),
            },
        }

    def _intervals(self) -> list[dict[str, Any]]:
        stats = self.population.stats if self.population is not None else self.typical_stats
        rows = []
        for j, start in enumerate(stats.start_day):
            row: dict[str, Any] = {
                "start": (self.schedule.origin + timedelta(days=float(start))).isoformat(),
                "start_day": round(float(start), 6),
                "end_day": round(float(stats.end_day[j]), 6),
                "complete": j + 1 < len(stats.start_day),
            }
            columns = {
                "cmax_ug_per_ml": stats.cmax,
                "trough_ug_per_ml": stats.trough,
                "auc_ug_day_per_ml": stats.auc,
            }
            if stats.time_below_day is not None:
                columns["time_below_threshold_day"] = stats.time_below_day
            for key, values in columns.items():
                row[key] = _describe(values[:, j], population=self.population is not None)
            rows.append(row)
        return rows

    def _repletion(self) -> Any:
        if self.model.effect is not Effect.B_CELLS:
            return None
        if self.population is not None and self.population.repletion_day is not None:
            return _describe(self.population.repletion_day / 7.0, population=True)
        return _describe(repletion_days(self.typical, self.schedule) / 7.0, population=False)

    def _subsets(self) -> dict[str, Any] | None:
        """Per subset and course: nadir, its day, months to LLN; % of baseline at months."""
        pop = self.population
        stats = pop.subset_stats if pop is not None else self.typical_subsets
        if stats is None:
            return None
        many = pop is not None
        out: dict[str, Any] = {
            "unit": "% of the patient's baseline",
            "lln_pct_of_baseline": BASELINE_PCT * ALEMTUZUMAB_SUBSETS.value("lln_fraction"),
            "lln_is_placeholder": True,
        }
        for name, label in SUBSET_LABELS.items():
            courses = []
            for j, start in enumerate(stats.course_start_day):
                courses.append(
                    {
                        "start": (self.schedule.origin + timedelta(days=float(start))).isoformat(),
                        "start_day": round(float(start), 6),
                        "nadir_pct_of_baseline": _describe(
                            stats.nadir_pct[name][:, j], population=many
                        ),
                        "nadir_day_after_start": _describe(
                            stats.nadir_day_after_start[name][:, j], population=many
                        ),
                        "months_to_lln": _describe_censored(
                            stats.months_to_lln[name][:, j], population=many
                        ),
                    }
                )
            at_month = {
                f"{m:g}": _describe(stats.pct_at_month[name][:, i], population=many)
                for i, m in enumerate(REPORT_MONTHS)
            }
            out[name] = {"label": label, "courses": courses, "pct_of_baseline_at_month": at_month}
        return out

    def to_csv(self) -> str:
        """Time course: day, typical concentration and effect, population percentiles."""
        out = io.StringIO()
        writer = csv.writer(out)
        header, columns = self.time_course_columns()
        writer.writerow(header)
        for row in np.column_stack(columns):
            writer.writerow([f"{v:.6g}" for v in row])
        return out.getvalue()

    def time_course_columns(self) -> tuple[list[str], list[Array]]:
        """Column names and values of the time course (one row per grid day), for CSV/Parquet."""
        header = ["day", "conc_ug_per_ml_typical"]
        columns: list[Array] = [self.typical.grid_day, self.typical.conc_ug_per_ml[0]]
        effect = self.model.effect.value
        if self.typical.effect is not None:
            header.append(f"{effect}_typical")
            columns.append(self.typical.effect[0])
        for name, values in (self.typical.subsets_pct_of_baseline or {}).items():
            header.append(f"{name}_pct_of_baseline_typical")
            columns.append(values[0])
        if self.population is not None:
            pop = self.population
            for q, values in pop.conc_percentiles.items():
                header.append(f"conc_ug_per_ml_p{q:g}")
                columns.append(_on(values, pop.grid_day, self.typical.grid_day))
            for q, values in (pop.effect_percentiles or {}).items():
                header.append(f"{effect}_p{q:g}")
                columns.append(_on(values, pop.grid_day, self.typical.grid_day))
            for name, bands in (pop.subset_percentiles or {}).items():
                for q, values in bands.items():
                    header.append(f"{name}_pct_of_baseline_p{q:g}")
                    columns.append(_on(values, pop.grid_day, self.typical.grid_day))
        return header, columns


def _on(values: Array, grid: Array, target: Array) -> Array:
    return np.asarray(np.interp(target, grid, values), dtype=np.float64)


def _num(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)


def _describe(values: Array, *, population: bool) -> Any:
    if not population:
        return _num(float(values[0]))
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"median": None, "p5": None, "p95": None, "n": 0}
    p5, p50, p95 = np.percentile(finite, [5.0, 50.0, 95.0])
    return {"median": _num(p50), "p5": _num(p5), "p95": _num(p95), "n": int(finite.size)}


def _describe_censored(values: Array, *, population: bool) -> Any:
    """Like ``_describe`` for times to an event; NaN = not reached in the window, counted as
    later than every reached time (so the median is not biased towards the fast patients)."""
    if not population:
        return _num(float(values[0]))
    later = np.where(np.isnan(values), np.inf, values)
    p5, p50, p95 = np.percentile(later, [5.0, 50.0, 95.0], method="lower")
    return {
        "median": _num(p50),
        "p5": _num(p5),
        "p95": _num(p95),
        "n": int(values.size),
        "not_reached_fraction": round(float(np.isnan(values).mean()), 6),
    }


def typical_half_life(
    model: DrugModel,
    course: Course,
    schedule: InfusionSchedule,
    end_day: float,
    weight_kg: float | None = None,
) -> tuple[float, str]:
    """Linear models: ln 2 / beta with the constant (late) clearance. Natalizumab: the apparent
    half-life of the typical patient over the second half of the last dosing interval."""
    if not model.nonlinear:
        tc = two_compartment(model, typical_patients(weight_kg=weight_kg))
        half_life = terminal_half_life_day(
            float(tc.CL[0]), float(tc.V1[0]), float(tc.Q[0]), float(tc.V2[0])
        )
        return half_life, "ln 2 / beta of the linear system with the constant (late) CL"
    starts = [d for d in schedule.dose_starts_day if d < end_day]
    begin, finish = (starts[-2], starts[-1]) if len(starts) > 1 else (starts[-1], end_day)
    mid = 0.5 * (begin + finish)
    return (
        apparent_half_life_day(course.grid_day, course.conc_ug_per_ml[0], mid, finish),
        "log-linear fit over the second half of the last complete dosing interval",
    )


def simulate(
    therapy_id: str,
    schedule: InfusionSchedule,
    *,
    end_day: float,
    weight_kg: float | None = None,
    ada: bool = False,
    n_patients: int = 0,
    seed: int = 0,
    threshold_ug_per_ml: float | None = None,
    progress: Callable[[int], None] | None = None,
    step_day: float = 1.0,
) -> SimulationReport:
    """Typical patient always; a population of ``n_patients`` when it is positive."""
    model = get_model(therapy_id)
    grid = simulation_grid(schedule, end_day, step_day)
    typical = simulate_patients(
        model, schedule, grid, typical_patients(weight_kg=weight_kg, ada=ada)
    )
    stats = interval_stats(typical, schedule.dose_starts_day, end_day, threshold_ug_per_ml)
    half_life, method = typical_half_life(model, typical, schedule, end_day, weight_kg)
    population = None
    if n_patients > 0:
        population = run_population(
            model,
            schedule,
            end_day,
            n_patients=n_patients,
            seed=seed,
            weight_kg=weight_kg,
            ada=ada,
            threshold_ug_per_ml=threshold_ug_per_ml,
            progress=progress,
            step_day=step_day,
        )
    return SimulationReport(
        model=model,
        schedule=schedule,
        end_day=end_day,
        weight_kg=weight_kg,
        typical=typical,
        typical_stats=stats,
        terminal_half_life_day=half_life,
        half_life_method=method,
        population=population,
        typical_subsets=_typical_subsets(typical, schedule),
    )


def _typical_subsets(course: Course, schedule: InfusionSchedule) -> SubsetStats | None:
    subsets = course.subsets_pct_of_baseline
    if subsets is None:
        return None
    return subset_stats(course.grid_day, subsets, schedule.dose_starts_day)
