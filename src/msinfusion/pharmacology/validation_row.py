"""A row of the validation report and its markdown table (shared by the per-drug row builders).

Tolerances follow the dossier's suggestion: +-20 % for Cmax, AUC, trough and half-life, +-25 %
for recovery times, +-10 percentage points for percentages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from msinfusion.catalog.registry import Catalog
from msinfusion.pharmacology.dosing import InfusionSchedule, schedule_from_protocol
from msinfusion.pharmacology.report import SimulationReport
from msinfusion.pharmacology.summary import IntervalStats

ORIGIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POPULATION = 1000
SEED = 20260105


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    drug: str
    quantity: str
    target: str
    target_value: float
    typical: float
    population: str
    kind: str  # "rel" (relative error), "pp" (percentage points), "max" (must stay below)
    tolerance: float
    grade: str
    use: str = "development"

    @property
    def error(self) -> float:
        if self.kind == "rel":
            return (self.typical - self.target_value) / self.target_value
        return self.typical - self.target_value

    @property
    def passed(self) -> bool:
        if self.kind == "max":
            return self.typical <= self.target_value
        return abs(self.error) <= self.tolerance


def starts_at(days: list[float]) -> list[datetime]:
    return [ORIGIN + timedelta(days=d) for d in days]


def schedule_at(protocol_ids: list[str], days: list[float], catalog: Catalog) -> InfusionSchedule:
    protocols = [catalog.get_protocol(p) for p in protocol_ids]
    return schedule_from_protocol(protocols, starts_at(days), origin=ORIGIN)


def band(values: np.ndarray) -> str:
    p5, p50, p95 = np.nanpercentile(values, [5, 50, 95])
    return f"{p50:.3g} ({p5:.3g}-{p95:.3g})"


def _fmt(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4g}"


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| drug | quantity | target | grade | typical patient | population median (5th-95th) "
        "| error | tolerance | result | use |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        error = (
            f"{100 * row.error:+.1f} %"
            if row.kind == "rel"
            else "-"
            if row.kind == "max"
            else f"{row.error:+.1f} pp"
        )
        tolerance = {
            "rel": f"+-{100 * row.tolerance:.0f} %",
            "pp": f"+-{row.tolerance:.0f} pp",
            "max": "below target",
        }[row.kind]
        lines.append(
            f"| {row.drug} | {row.quantity} | {row.target} | {row.grade} | {_fmt(row.typical)} "
            f"| {row.population} | {error} | {tolerance} | {'pass' if row.passed else 'FAIL'} "
            f"| {row.use} |"
        )
    return "\n".join(lines) + "\n"


def population_stats(report: SimulationReport) -> IntervalStats:
    if report.population is None:  # pragma: no cover - every caller asks for a population
        raise RuntimeError("validation row needs a population run")
    return report.population.stats
