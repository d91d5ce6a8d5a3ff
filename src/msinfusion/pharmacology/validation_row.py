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
    kind: str  # "rel" (relative error), "pp" (percentage points), "max"/"min" (stay below/above)
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
        if self.kind == "min":
            return self.typical > self.target_value
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
            if row.kind in {"max", "min"}
            else f"{row.error:+.1f} pp"
        )
        tolerance = {
            "rel": f"+-{100 * row.tolerance:.0f} %",
            "pp": f"+-{row.tolerance:.0f} pp",
            "max": "below target",
            "min": "above target",
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


TABLE_START = "<!-- generated table: do not edit by hand -->\n"
TABLE_END = "<!-- end of generated table -->"


def parse_table(markdown: str) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """(drug, quantity) -> (typical, population, result, use) of a generated table (the rows
    between the markers when present; every row of ``markdown_table``'s shape otherwise).

    >>> parse_table("| a | q | 1 | A | 2.5 | - | - | - | pass | development |\\n")
    {('a', 'q'): ('2.5', '-', 'pass', 'development')}
    """
    if TABLE_START in markdown:
        markdown = markdown.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    out: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or cells[0] in {"drug", ""} or cells[0].startswith("---"):
            continue
        out[(cells[0], cells[1])] = (cells[4], cells[5], cells[8], cells[9])
    return out


def change_table(before_markdown: str, rows: list[Row]) -> str:
    """Before -> after for every row of ``rows`` (and any row that disappeared): the typical
    patient's value and result, and whether the population band or the row's use changed."""
    before = parse_table(before_markdown)
    after = parse_table(markdown_table(rows))
    lines = [
        "| drug | quantity | before: typical (result) | after: typical (result) | change "
        "| use (after) |",
        "|---|---|---|---|---|---|",
    ]
    for key, (value, population, result, use) in after.items():
        old = before.get(key)
        was = "-" if old is None else f"{old[0]} ({old[2]})"
        lines.append(
            f"| {key[0]} | {key[1]} | {was} | {value} ({result}) "
            f"| {_change(old, (value, population, result, use))} | {use} |"
        )
    for key, (value, _, result, use) in before.items():
        if key not in after:
            lines.append(f"| {key[0]} | {key[1]} | {value} ({result}) | - | removed | {use} |")
    return "\n".join(lines) + "\n"


def _change(old: tuple[str, str, str, str] | None, new: tuple[str, str, str, str]) -> str:
    if old is None:
        return "new row"
    notes = []
    if old[2] != new[2]:
        notes.append(f"{old[2]} -> {new[2]}")
    elif old[0] != new[0]:
        notes.append("value moved, same result")
    if old[1] != new[1]:
        notes.append("population band changed")
    if old[3] != new[3]:
        notes.append(f"use: {old[3]} -> {new[3]}")
    return "; ".join(notes) or "unchanged"
