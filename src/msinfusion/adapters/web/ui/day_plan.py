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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from markupsafe import Markup

from msinfusion.adapters.web.ui import clock_time, parse_time
from msinfusion.application.audit import Actor
from msinfusion.application.centre import Centre
from msinfusion.application.schedule_day import MAX_NURSES, DaySettings, explain_nurse_shortfall
from msinfusion.application.scheduling import SolverChoice, SolverName
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.problem import ChairId, Pin, VisitId
from msinfusion.scheduling.report import schedule_to_json
from msinfusion.scheduling.schedule import Schedule

DAY_PLAN_TIME_LIMIT = timedelta(seconds=5)
"""CP-SAT time for the page (capped further by ``Settings.schedule_max_time_limit_s``)."""
DEFAULT_NURSES = 2
"""Nurses on shift when neither the request (``nurses``) nor the centre
(``Settings.nurses_on_duty``, ``MSINFUSION_NURSES_ON_DUTY``) says: an example, not a staffing
rule; the page's form changes it."""

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
    chair_id: str | None = None
    booked_chair_id: str | None = None

    @property
    def move(self) -> str | None:
        """The change to apply (``plan_apply.PlannedMove`` as one form value), or None."""
        if self.started or self.start is None or self.booked_start is None:
            return None
        if self.chair_id == self.booked_chair_id and self.change_min == 0:
            return None
        return "|".join(
            (
                self.appointment_id,
                self.booked_chair_id or "",
                self.booked_start.isoformat(),
                self.chair_id or "",
                self.start.isoformat(),
            )
        )


def read_query(params: Mapping[str, str], default_nurses: int = DEFAULT_NURSES) -> DayPlanQuery:
    """``solver`` (cpsat or greedy, default cpsat) and ``nurses`` (1 to 200; default the
    centre's nurses on duty)."""
    raw_solver = params.get("solver", SolverName.CPSAT.value)
    try:
        solver = SolverName(raw_solver)
    except ValueError:
        raise InvalidSchedulingProblem("solver must be cpsat or greedy", field="solver") from None
    raw_nurses = params.get("nurses", str(default_nurses))
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
                chair_id=visit["chair"],
                booked_chair_id=stored.get("chair_id"),
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


def _unique_labels(ids: list[str], names: Mapping[str, str]) -> dict[str, str]:
    """Each id's name (the id when unnamed), with a number after a name already used."""
    labels: dict[str, str] = {}
    used: set[str] = set()
    for key in ids:
        base = names.get(key) or key
        label, n = base, 1
        while label in used:
            n += 1
            label = f"{base} ({n})"
        used.add(label)
        labels[key] = label
    return labels


def named_schedule(
    schedule: Schedule, patients: Mapping[str, str], chairs: Mapping[str, str]
) -> Schedule:
    """The same schedule with visits named by patient and chairs by chair name (for the chart:
    its labels are the ids). Only relabelled, never re-solved or re-checked."""
    problem = schedule.problem
    visit = _unique_labels([v.id for v in problem.visits], patients)
    chair = _unique_labels([c.id for c in problem.chairs], chairs)

    def pin(value: Pin | None) -> Pin | None:
        return None if value is None else replace(value, chair_id=ChairId(chair[value.chair_id]))

    renamed = replace(
        problem,
        chairs=tuple(replace(c, id=ChairId(chair[c.id])) for c in problem.chairs),
        visits=tuple(replace(v, id=VisitId(visit[v.id]), pin=pin(v.pin)) for v in problem.visits),
    )
    assignments = tuple(
        Assignment(
            visit_id=VisitId(visit[a.visit_id]),
            chair_id=ChairId(chair.get(a.chair_id, a.chair_id)),
            start=a.start,
        )
        for a in schedule.assignments
    )
    return replace(schedule, problem=renamed, assignments=assignments)


def gantt_markup(schedule: Schedule) -> Markup:
    """The scheduling core's Gantt chart as inline SVG (prolog dropped, labelled as an image).

    Safe to mark up: matplotlib writes the SVG and draws its text (patient and chair names,
    the date, the solver) as paths, so no stored text reaches the markup.
    """
    from msinfusion.scheduling.gantt import plot_schedule  # noqa: PLC0415 (matplotlib)

    with tempfile.TemporaryDirectory(prefix="msinfusion-dayplan-") as folder:
        path = Path(folder) / "day.svg"
        plot_schedule(schedule, path)
        svg = path.read_text(encoding="utf-8")
    svg = svg[svg.index("<svg") :]
    label = 'role="img" aria-labelledby="gantt-caption" focusable="false" '
    return Markup(svg.replace("<svg ", f"<svg {label}", 1))  # safe: see the docstring


def _names(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def why_no_plan(
    schedule: Schedule,
    patients: Mapping[str, str],
    chairs: Mapping[str, str],
    zone: tzinfo,
) -> list[str]:
    """Why an infeasible or unknown day has no plan, in sentences naming patients and chairs."""
    problem = schedule.problem

    def who(visit_id: str) -> str:
        visit = problem.visit(VisitId(visit_id))
        chair = "" if visit.pin is None else f" ({chairs.get(visit.pin.chair_id, 'a chair')})"
        return f"{patients.get(visit_id, 'an unnamed patient')}{chair}"

    shortfall = explain_nurse_shortfall(problem)
    if shortfall is not None:
        parts = []
        if shortfall.held:
            verb = "is" if len(shortfall.held) == 1 else "are"
            parts.append(
                f"{_names([who(v) for v in shortfall.held])} {verb} in a nurse-held task "
                "(a whole nurse each)"
            )
        if shortfall.watched:
            verb = "is" if len(shortfall.watched) == 1 else "are"
            parts.append(
                f"{_names([who(v) for v in shortfall.watched])} {verb} infusing "
                f"(one nurse watches at most {shortfall.nurse_ratio})"
            )
        nurses = "1 nurse" if shortfall.nurses == 1 else f"{shortfall.nurses} nurses"
        return [
            f"At {clock_time(shortfall.at, zone)} the patients already started need more "
            f"nurse time than the {nurses} on shift give: {'; '.join(parts)}. That is "
            f"{shortfall.load_units} nurse-load units where {shortfall.capacity_units} are "
            "available.",
            "Started patients keep their chair and times, so no plan can book them: plan with "
            f"at least {shortfall.needed_nurses} nurses on shift.",
        ]
    if schedule.status.value == "unknown":
        return [
            "The solver found no complete plan in the time allowed: plan again, or choose the "
            "greedy solver."
        ]
    mandatory = [v.id for v in problem.visits if v.mandatory or v.pin is not None]
    if not mandatory:
        return []
    return [
        f"The started or mandatory visits of {_names([who(v) for v in mandatory])} do not fit "
        "together in the chairs, opening hours and overtime: more chairs or nurses, or a "
        "longer day, are needed."
    ]


def named_violations(
    report: Mapping[str, Any], patients: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The report's violations with the patient's name beside each visit's."""
    return [
        {**v, "patient": patients.get(v["visit_id"]) if v.get("visit_id") else None}
        for v in report["violations"]
    ]


def day_plan_page(
    centre: Centre,
    actor: Actor,
    *,
    day: date,
    zone: tzinfo,
    query: DayPlanQuery,
    choice: SolverChoice,
    opens: time = time(8, 0),
    closes: time = time(18, 0),
) -> dict[str, Any]:
    """The page's context: solve first (refused unless ``plan_schedule``), then read names.
    ``opens``/``closes``: the centre's opening hours (``Settings``)."""
    settings = DaySettings(day=day, zone=zone, nurses=query.nurses, opens=opens, closes=closes)
    schedule = centre.scheduling.solve_stored(actor, settings, choice)
    report = schedule_to_json(schedule)
    board = [row.to_json_dict(zone) for row in centre.queries.get_board(actor, day, zone)]
    chairs = {c.id: c.name for c in centre.queries.list_chairs(actor)}
    patients = {row["appointment_id"]: row["patient_display_name"] for row in board}
    status = report["metrics"]["status"]
    symbol, words = STATUS_WORDS.get(status, ("•", status))
    rows = plan_rows(report["visits"], board, chairs)
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
        "rows": rows,
        "change_words": change_words,
        "gantt": gantt_markup(named_schedule(schedule, patients, chairs))
        if schedule.assignments
        else None,
        "why": why_no_plan(schedule, patients, chairs, zone)
        if status in ("infeasible", "unknown")
        else [],
        "violations": named_violations(report, patients),
        "solvers": [s.value for s in SolverName],
        "moves": [r.move for r in rows if r.move]
        if status in ("optimal", "feasible") and not report["violations"]
        else [],
    }
