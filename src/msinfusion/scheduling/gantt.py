"""A Gantt chart of a day: chairs over time, and the nurse load against the nurses on shift.

matplotlib is imported lazily (Agg back end, no display), so importing the scheduling package
stays cheap. The file type follows the suffix: ``.png`` or ``.svg``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from msinfusion.errors import SchedulingError
from msinfusion.scheduling.assignment import timed_tasks
from msinfusion.scheduling.check import load_by_minute
from msinfusion.scheduling.schedule import Schedule

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_COLOURS = {
    "ocrelizumab": "#4C72B0",
    "ublituximab": "#55A868",
    "natalizumab": "#C44E52",
    "alemtuzumab": "#8172B2",
    "methylprednisolone": "#CCB974",
    "rituximab": "#64B5CD",
    "mitoxantrone": "#DD8452",
}


def _hours(problem_opens: datetime, moment: datetime) -> float:
    return (moment.astimezone(UTC) - problem_opens.astimezone(UTC)) / timedelta(hours=1)


def plot_schedule(schedule: Schedule, path: Path) -> None:
    """Write the chart to ``path`` (PNG or SVG)."""
    if path.suffix.lower() not in {".png", ".svg"}:
        raise SchedulingError(f"plot: '{path.name}' must end in .png or .svg", field="plot")
    import matplotlib as mpl  # noqa: PLC0415 (heavy; only when a chart is asked for)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    problem = schedule.problem
    opens = problem.opens
    rows = {chair.id: i for i, chair in enumerate(problem.chairs)}
    figure, (chairs_ax, load_ax) = plt.subplots(
        2,
        1,
        figsize=(12, 2 + 0.3 * len(rows)),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1]},
    )
    for placed in schedule.assignments:
        visit = problem.visit(placed.visit_id)
        row = rows[placed.chair_id]
        start = _hours(opens, placed.start)
        colour = _COLOURS.get(visit.protocol_id.split("-")[0], "#999999")
        lead = visit.infusion_offset / timedelta(hours=1)
        drug = (visit.infusion_end_offset - visit.infusion_offset) / timedelta(hours=1)
        rest = (visit.chair_time - visit.infusion_end_offset) / timedelta(hours=1)
        chairs_ax.broken_barh([(start, lead)], (row - 0.4, 0.8), color=colour, alpha=0.35)
        chairs_ax.broken_barh([(start + lead, drug)], (row - 0.4, 0.8), color=colour)
        chairs_ax.broken_barh(
            [(start + lead + drug, rest)], (row - 0.4, 0.8), color=colour, alpha=0.55
        )
        for task in timed_tasks(visit, placed.start):
            chairs_ax.plot(
                [_hours(opens, task.start), _hours(opens, task.end)],
                [row, row],
                color="black",
                linewidth=2,
            )
        chairs_ax.text(start + 0.05, row, visit.id, va="center", fontsize=6)
    chairs_ax.set_yticks(list(rows.values()), list(rows.keys()), fontsize=7)
    chairs_ax.invert_yaxis()
    chairs_ax.axvline(_hours(opens, problem.closes), color="red", linestyle="--", linewidth=1)
    chairs_ax.set_title(
        f"{problem.day} - {schedule.solver} ({schedule.status.value}); "
        "pale: premedication lead, solid: drug, mid: observation, black: nurse-held"
    )
    _plot_load(schedule, load_ax)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _plot_load(schedule: Schedule, axis: Axes) -> None:
    problem = schedule.problem
    visits = {v.id: v for v in problem.visits}
    load = load_by_minute(problem, [(visits[a.visit_id], a) for a in schedule.assignments])
    minutes = range(int((problem.latest_end - problem.opens) / timedelta(minutes=1)))
    start = problem.opens.astimezone(UTC)
    hours = [m / 60 for m in minutes]
    used = [load.get(start + timedelta(minutes=m), 0) / problem.nurse_ratio for m in minutes]
    on_shift = [
        sum(
            1
            for n in problem.nurses
            if n.shift_start <= problem.at_minute(m)
            and (problem.at_minute(m) < n.shift_end or n.shift_end >= problem.closes)
        )
        for m in minutes
    ]
    axis.step(hours, used, where="post", label="nurse load (nurse-equivalents)")
    axis.step(hours, on_shift, where="post", color="grey", linestyle=":", label="nurses on shift")
    axis.set_xlabel(f"hours after opening ({problem.opens:%H:%M})")
    axis.legend(fontsize=7, loc="upper right")
