"""``msinfusion schedule ...``: optimise a centre day or several weeks (chairs and nurses).

Exit codes: 0 a schedule was computed (read ``status``: optimal, feasible, infeasible or unknown -
an infeasible day is an answer, not an error), 2 bad input (unreadable or invalid instance file,
bad date, bad option).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table

from msinfusion.entrypoints.common import OutputFormat, fail, parse_date
from msinfusion.errors import MsinfusionError

if TYPE_CHECKING:
    from msinfusion.catalog.registry import Catalog
    from msinfusion.scheduling.problem import DayProblem
    from msinfusion.scheduling.schedule import Schedule
    from msinfusion.scheduling.weeks import WeeksPlan, WeeksProblem

schedule_app = typer.Typer(
    help="Optimise the infusion centre: chairs, nurses and linked regimens (CP-SAT or greedy).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


class Solver(StrEnum):
    cpsat = "cpsat"
    greedy = "greedy"


def _date(value: str) -> date:
    return parse_date(value, "--date", example="2026-03-02")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: unknown time zone '{name}'")


def _workers(value: int | None) -> int:
    return value if value is not None else min(8, os.cpu_count() or 1)


def _read_instance(path: Path, day: date, catalog: Catalog) -> DayProblem:
    from msinfusion.scheduling.instance_file import day_problem_from_json  # noqa: PLC0415  # slow import

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail(f"{path} is not valid JSON: {error.msg} (line {error.lineno})")
    try:
        problem = day_problem_from_json(data, catalog)
    except MsinfusionError as error:
        fail(f"{path}: {error.message}")
    if problem.day != day:
        fail(f"--date {day} does not match the instance file's date {problem.day}")
    return problem


def _solve_day(problem: DayProblem, solver: Solver, time_limit: float, workers: int) -> Schedule:
    from msinfusion.scheduling.backends.greedy import solve_greedy  # noqa: PLC0415  # slow import

    if solver is Solver.greedy:
        return solve_greedy(problem)
    from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat  # noqa: PLC0415

    options = CpSatOptions(time_limit=timedelta(seconds=time_limit), num_workers=workers)
    return solve_cpsat(problem, options)


@schedule_app.command("day")
def day_command(
    day: Annotated[str, typer.Option("--date", help="the day, e.g. 2026-03-02")],
    instance: Annotated[
        Path | None, typer.Option("--instance", help="instance file (msinfusion-day/1 JSON)")
    ] = None,
    generate: Annotated[
        int | None, typer.Option("--generate", help="generate a synthetic day with CHAIRS chairs")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the generated day")] = 0,
    solver: Annotated[Solver, typer.Option("--solver", help="cpsat or greedy")] = Solver.cpsat,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="CP-SAT seconds, all objective levels")
    ] = 10.0,
    workers: Annotated[int | None, typer.Option("--workers", help="CP-SAT workers")] = None,
    tz: Annotated[str, typer.Option("--tz", help="time zone of a generated day")] = "UTC",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="write a Gantt chart (.png/.svg)")
    ] = None,
    save_instance: Annotated[
        Path | None, typer.Option("--save-instance", help="write the (generated) instance file")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
) -> None:
    """Schedule one day: every visit's chair and start, nurse-held intervals, metrics."""
    from msinfusion.catalog.registry import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.generator import generate_day  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.instance_file import day_problem_to_json  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.report import schedule_to_json  # noqa: PLC0415  # slow import

    when = _date(day)
    if (generate is None) == (instance is None):
        fail("give exactly one of --instance FILE or --generate CHAIRS")
    if time_limit <= 0:
        fail("--time-limit must be positive")
    try:
        catalog = shipped_catalog()
        if generate is not None:
            problem = generate_day(
                chairs=generate, seed=seed, day=when, zone=_zone(tz), catalog=catalog
            )
        else:
            assert instance is not None
            problem = _read_instance(instance, when, catalog)
        if save_instance is not None:
            save_instance.write_text(json.dumps(day_problem_to_json(problem), indent=2) + "\n")
        schedule = _solve_day(problem, solver, time_limit, _workers(workers))
        if plot is not None:
            from msinfusion.scheduling.gantt import plot_schedule  # noqa: PLC0415

            plot_schedule(schedule, plot)
    except MsinfusionError as error:
        fail(error.message)
    view = schedule_to_json(schedule)
    if output is OutputFormat.json:
        typer.echo(json.dumps(view, indent=2))
        return
    _print_day(view)


def _print_day(view: dict[str, Any]) -> None:
    table = Table(title=f"{view['date']} ({view['solver']})")
    for column in ("visit", "protocol", "dose", "chair", "start", "drug", "end", "wait"):
        table.add_column(column)
    for v in view["visits"]:
        if not v["booked"]:
            table.add_row(
                v["id"], v["protocol_id"], str(v["dose_number"]), "-", "not booked", "", "", ""
            )
            continue
        table.add_row(
            v["id"],
            v["protocol_id"],
            str(v["dose_number"]),
            v["chair"],
            v["start"][11:16],
            v["infusion_start"][11:16],
            v["end"][11:16],
            _wait(v),
        )
    console.print(table)
    m = view["metrics"]
    console.print(
        f"status {m['status']}  bound_gap {m['bound_gap']}  booked {m['visits_booked']}/"
        f"{m['visits_requested']}  overtime {m['overtime_min']} min  waiting "
        f"{m['total_wait_min']} min  peak nurse load {m['peak_nurse_load']} nurses",
        highlight=False,
    )
    for violation in view["violations"]:
        console.print(f"[red]violation[/] {violation['rule']}: {violation['message']}")
    if view["message"]:
        console.print(view["message"], highlight=False)


def _wait(visit: dict[str, Any]) -> str:
    late = datetime.fromisoformat(visit["start"]) - datetime.fromisoformat(
        visit["window"]["start_by"]
    )
    return f"{max(0, int(late.total_seconds() // 60))} min"


@schedule_app.command("weeks")
def weeks_command(
    start: Annotated[str, typer.Option("--start", help="first day (a Monday), e.g. 2026-03-02")],
    generate: Annotated[int, typer.Option("--generate", help="chairs of the generated centre")],
    weeks: Annotated[int, typer.Option("--weeks", help="number of weeks")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="seed of the generated demand")] = 0,
    solver: Annotated[Solver, typer.Option("--solver", help="cpsat or greedy")] = Solver.cpsat,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="CP-SAT seconds per stage and per day")
    ] = 5.0,
    workers: Annotated[int | None, typer.Option("--workers", help="CP-SAT workers")] = None,
    tz: Annotated[str, typer.Option("--tz", help="time zone of the centre")] = "UTC",
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
) -> None:
    """Plan several weeks: days for linked regimens (day 1/15, consecutive days), then each day."""
    from msinfusion.catalog.registry import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.report import schedule_to_json  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.weeks_check import weeks_metrics  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.weeks_generator import generate_weeks  # noqa: PLC0415  # slow import

    if weeks < 1 or time_limit <= 0:
        fail("--weeks and --time-limit must be positive")
    try:
        problem = generate_weeks(
            chairs=generate,
            seed=seed,
            first_day=_date(start),
            weeks=weeks,
            zone=_zone(tz),
            catalog=shipped_catalog(),
        )
        plan = _plan_weeks(problem, solver, time_limit, _workers(workers))
    except MsinfusionError as error:
        fail(error.message)
    metrics = weeks_metrics(plan)
    view: dict[str, Any] = {
        "days": [schedule_to_json(day) for day in plan.days],
        "day_of": {rid: d.isoformat() for rid, d in plan.day_of},
        "links": [
            {"first": k.first, "second": k.second, "min_days": k.min_days, "max_days": k.max_days}
            for k in problem.links
        ],
        "metrics": {**asdict(metrics), "status": plan.status.value},
        "violations": [
            {"rule": v.rule, "message": v.message, "visit_id": v.visit_id} for v in plan.check()
        ],
        "message": plan.message,
    }
    if output is OutputFormat.json:
        typer.echo(json.dumps(view, indent=2))
        return
    _print_weeks(view, start)


def _print_weeks(view: dict[str, Any], start: str) -> None:
    table = Table(title=f"{len(view['days'])} open days from {start}")
    for column in ("day", "booked", "overtime min", "wait min", "peak nurses", "status"):
        table.add_column(column)
    for day in view["days"]:
        m = day["metrics"]
        table.add_row(
            day["date"],
            f"{m['visits_booked']}/{m['visits_requested']}",
            str(m["overtime_min"]),
            str(m["total_wait_min"]),
            str(m["peak_nurse_load"]),
            m["status"],
        )
    console.print(table)
    console.print(json.dumps(view["metrics"]), highlight=False)
    for violation in view["violations"]:
        console.print(f"[red]violation[/] {violation['rule']}: {violation['message']}")
    if view["message"]:
        console.print(view["message"], highlight=False)


def _plan_weeks(
    problem: WeeksProblem, solver: Solver, time_limit: float, workers: int
) -> WeeksPlan:
    from msinfusion.scheduling.backends.greedy import solve_greedy  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.weeks import plan_weeks  # noqa: PLC0415  # slow import
    from msinfusion.scheduling.weeks_assign import assign_days_greedy  # noqa: PLC0415  # slow import

    if solver is Solver.greedy:
        return plan_weeks(problem, assign=assign_days_greedy, solve_day=solve_greedy)
    from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat  # noqa: PLC0415
    from msinfusion.scheduling.backends.cpsat.weeks import assign_days_cpsat  # noqa: PLC0415

    options = CpSatOptions(time_limit=timedelta(seconds=time_limit), num_workers=workers)
    return plan_weeks(
        problem,
        assign=partial(assign_days_cpsat, options=options),
        solve_day=partial(solve_cpsat, options=options),
    )
