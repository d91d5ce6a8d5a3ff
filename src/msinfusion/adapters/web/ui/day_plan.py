"""The "Day plan" page: today's stored day solved as ``POST /api/schedule/day`` solves it.

The schedule comes from ``Centre.scheduling.solve_stored`` (permission ``plan_schedule``,
audited as ``schedule.solve``) and is shown through ``scheduling.report.schedule_to_json``, the
same contract as the JSON API, so the page and the API cannot disagree. Names, chair names and
booked starts come from the board query (``board.read``). The plan is a proposal: nothing is
re-booked.

Query parameters are read here, not by FastAPI, so that a bad value is an HTML page naming the
field (``InvalidSchedulingProblem``, 422) rather than a JSON body.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from markupsafe import Markup

from msinfusion.adapters.web.ui import parse_time
from msinfusion.application.audit import Actor
from msinfusion.application.centre import Centre
from msinfusion.application.schedule_day import MAX_NURSES, DaySettings
from msinfusion.application.scheduling import SolverChoice, SolverName
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.report import schedule_to_json
from msinfusion.scheduling.schedule import Schedule

DAY_PLAN_TIME_LIMIT = timedelta(seconds=5)
"""CP-SAT time for the page (capped further by ``Settings.schedule_max_time_limit_s``)."""
DEFAULT_NURSES = 2
"""Nurses on shift when the page is opened without ``nurses``: an example site setting (like
``DaySettings``' opening hours), not a staffing rule; the page's form changes it."""

STATUS_WORDS = {
    "optimal": ("✓", "Optimal: proven best in the stated objective order"),
    "feasible": ("◑", "Feasible: every rule is kept, but not proven best in the time allowed"),
    "infeasible": ("✕", "Infeasible: no plan books every started and mandatory visit"),
    "unknown": ("?", "Unknown: no complete plan was found"),
}
"""Solve status → (symbol, words): colour is never the only signal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPlanQuery:
    solver: SolverName
    nurses: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRow:
    appointment_id: str
    patient_id: str
    patient: str
    protocol_id: str
    dose_number: int
    chair: str | None
    start: datetime | None
    end: datetime | None
    booked_start: datetime | None
    change_min: int | None
    started: bool
    synthetic: bool = False


def read_query(params: Mapping[str, str]) -> DayPlanQuery:
    """``solver`` (cpsat or greedy, default cpsat) and ``nurses`` (1 to 200)."""
    raw_solver = params.get("solver", SolverName.CPSAT.value)
    try:
        solver = SolverName(raw_solver)
    except ValueError:
        raise InvalidSchedulingProblem("solver must be cpsat or greedy", field="solver") from None
    raw_nurses = params.get("nurses", str(DEFAULT_NURSES))
    if not re.fullmatch(r"\d{1,3}", raw_nurses) or not 1 <= int(raw_nurses) <= MAX_NURSES:
        raise InvalidSchedulingProblem(
            f"nurses must be a whole number from 1 to {MAX_NURSES}", field="nurses"
        )
    return DayPlanQuery(solver=solver, nurses=int(raw_nurses))


def solver_choice(query: DayPlanQuery, cap_s: float, workers: int) -> SolverChoice:
    limit = min(DAY_PLAN_TIME_LIMIT, timedelta(seconds=cap_s))
    return SolverChoice(solver=query.solver, time_limit=limit, workers=workers)


def _minutes(later: datetime, earlier: datetime) -> int:
    return round((later.astimezone(UTC) - earlier.astimezone(UTC)) / timedelta(minutes=1))


def plan_rows(
    visits: list[dict[str, Any]], board: list[dict[str, Any]], chair_names: Mapping[str, str]
) -> list[PlanRow]:
    """One row per visit of the solved day, in planned start order (unbooked last)."""
    booked = {row["appointment_id"]: row for row in board}
    rows: list[PlanRow] = []
    for visit in visits:
        stored = booked.get(visit["id"], {})
        start = parse_time(visit["start"])
        booked_start = parse_time(stored.get("starts_at"))
        change = None if start is None or booked_start is None else _minutes(start, booked_start)
        rows.append(
            PlanRow(
                appointment_id=visit["id"],
                patient_id=visit["patient_id"],
                patient=stored.get("patient_display_name", visit["patient_id"]),
                protocol_id=visit["protocol_id"],
                dose_number=visit["dose_number"],
                chair=None
                if visit["chair"] is None
                else chair_names.get(visit["chair"], visit["chair"]),
                start=start,
                end=parse_time(visit["end"]),
                booked_start=booked_start,
                change_min=change,
                started=visit["started"],
                synthetic=bool(stored.get("patient_synthetic", False)),
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.start or far, r.chair or ""))


def change_words(minutes: int | None) -> str:
    """``+25 min (later)``, ``-10 min (earlier)``, ``no change``; a dash when not booked."""
    if minutes is None:
        return "—"
    if minutes == 0:
        return "no change"
    return f"+{minutes} min (later)" if minutes > 0 else f"-{-minutes} min (earlier)"


def gap_words(gap: float | None, status: str) -> str:
    if gap is None:
        return "none proven (the greedy baseline proves no bound)"
    if gap == 0:
        return "0% — proven optimal" if status == "optimal" else "0%"
    return f"{gap * 100:.1f}% from the best possible the solver could prove"


def gantt_markup(schedule: Schedule) -> Markup:
    """The scheduling core's Gantt chart as inline SVG (prolog dropped, labelled as an image).

    Safe to mark up: matplotlib writes the SVG and draws its text (appointment ids, the date,
    the solver) as paths, so no stored text reaches the markup.
    """
    from msinfusion.scheduling.gantt import plot_schedule  # noqa: PLC0415 (matplotlib)

    with tempfile.TemporaryDirectory(prefix="msinfusion-dayplan-") as folder:
        path = Path(folder) / "day.svg"
        plot_schedule(schedule, path)
        svg = path.read_text(encoding="utf-8")
    svg = svg[svg.index("<svg") :]
    label = 'role="img" aria-labelledby="gantt-caption" focusable="false" '
    return Markup(svg.replace("<svg ", f"<svg {label}", 1))  # safe: see the docstring


def day_plan_page(
    centre: Centre,
    actor: Actor,
    *,
    day: date,
    zone: tzinfo,
    query: DayPlanQuery,
    choice: SolverChoice,
) -> dict[str, Any]:
    """The page's context: solve first (refused unless ``plan_schedule``), then read names."""
    settings = DaySettings(day=day, zone=zone, nurses=query.nurses)
    schedule = centre.scheduling.solve_stored(actor, settings, choice)
    report = schedule_to_json(schedule)
    board = [row.to_json_dict(zone) for row in centre.queries.get_board(actor, day, zone)]
    chairs = {c.id: c.name for c in centre.queries.list_chairs(actor)}
    status = report["metrics"]["status"]
    symbol, words = STATUS_WORDS.get(status, ("•", status))
    return {
        "day": day,
        "query": query,
        "settings": settings,
        "time_limit_s": choice.time_limit.total_seconds(),
        "report": report,
        "metrics": report["metrics"],
        "status_symbol": symbol,
        "status_words": words,
        "bound_gap": gap_words(report["metrics"]["bound_gap"], status),
        "rows": plan_rows(report["visits"], board, chairs),
        "change_words": change_words,
        "gantt": gantt_markup(schedule) if schedule.assignments else None,
        "solvers": [s.value for s in SolverName],
    }
