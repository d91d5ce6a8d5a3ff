"""Solve a centre day with CP-SAT and a time-indexed MIP: lexicographic levels, a time limit.

Each level (``objective``) is solved in three phases within its share of the time:

1. CP-SAT, hinted with the best schedule so far (the greedy one at first), for a quarter of the
   share: it proves the easy levels (visits booked, often overtime) outright;
2. if a gap is left, the time-indexed MIP of that level (``timeindexed``, HiGHS): optimised for
   waiting and the peak, whose LP bound is strong, then *probes* ("is there a schedule with
   overtime <= v?") from the proven bound upwards for overtime and the peak, where HiGHS proves
   "no" in about a second even at 60 chairs. Every MIP solution is turned into a schedule and
   must pass ``check()`` before it is used;
3. if a gap is still left, CP-SAT again with the rest of the share, hinted with the best
   schedule and bounded below by what the MIP proved.

The level's gap is its value against the best bound either solver proved; the value is then
held in both models and the next level starts. The time limit covers everything from the call
to the answer: building both models, the greedy warm start and every level. It is shared out
level by level (the time left divided by the levels left, less a margin for CP-SAT's own
set-up, so time a level does not need passes on), measured with a monotonic clock. A level that
gets no time keeps the value it has in the schedule found so far and is reported unproven.
"Infeasible" and "no answer in time" are statuses.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import timedelta

from ortools.sat.python import cp_model

from msinfusion.errors import SchedulingError
from msinfusion.scheduling.backends.cpsat.mip import MipStatus
from msinfusion.scheduling.backends.cpsat.objective import Level, build_levels
from msinfusion.scheduling.backends.cpsat.solver_values import (
    Values,
    add_hint,
    assignments_of,
    read_values,
    values_of,
)
from msinfusion.scheduling.backends.cpsat.timeindexed import (
    LevelSolution,
    probe_values,
    solve_level,
)
from msinfusion.scheduling.backends.cpsat.timeindexed_build import (
    TimeIndexedDay,
    build_time_indexed,
)
from msinfusion.scheduling.backends.cpsat.variables import DayVars, build_variables
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.check import check_schedule
from msinfusion.scheduling.problem import DayProblem
from msinfusion.scheduling.schedule import Schedule, SolveStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class CpSatOptions:
    """``time_limit`` for all levels together; ``warm_start`` hints the greedy schedule;
    ``mip_bound`` adds the time-indexed MIP phase to every level."""

    time_limit: timedelta = timedelta(seconds=10)
    num_workers: int = 8
    random_seed: int = 0
    warm_start: bool = True
    mip_bound: bool = True


_log = logging.getLogger(__name__)

_SETUP_MARGIN = 0.05  # seconds per level: CP-SAT's model copy and presolve start-up
_MIN_LEVEL_TIME = 0.05
_MIN_MIP_TIME = 0.2  # seconds: below this HiGHS cannot even solve the root LP at 30 chairs
_CP_FIRST = 0.25  # share of a level's time for the first CP-SAT phase
_CP_LAST = 0.15  # share kept for the last CP-SAT phase when the MIP leaves a gap
# levels where CP-SAT's first phase never closed a gap at 30 or 60 chairs and the MIP did
_MIP_FIRST = frozenset({"total_wait_min", "peak_nurse_load"})
_OPTIMISED = frozenset({"visits_booked", "total_wait_min", "peak_nurse_load"})
_PROBED = frozenset({"overtime_min", "peak_nurse_load"})


@dataclass(slots=True, kw_only=True)
class _Search:
    """The models, the solver and the best schedule so far with every level's value in it."""

    day: DayVars
    levels: tuple[Level, ...]
    relaxed: TimeIndexedDay | None
    solver: cp_model.CpSolver
    values: Values | None = None
    level_values: dict[str, int] = field(default_factory=dict)
    found_at: dict[str, int] = field(default_factory=dict)


def solve_cpsat(
    problem: DayProblem, options: CpSatOptions | None = None, *, hint: Schedule | None = None
) -> Schedule:
    """The best schedule found within the time limit; never raises for "infeasible"."""
    options = options or CpSatOptions()
    deadline = time.monotonic() + options.time_limit.total_seconds()
    day = build_variables(problem)
    levels = build_levels(day)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, options.num_workers)
    solver.parameters.random_seed = options.random_seed
    search = _Search(
        day=day,
        levels=levels,
        relaxed=build_time_indexed(day) if options.mip_bound else None,
        solver=solver,
    )
    if options.warm_start:
        add_hint(day, values_of(day, hint or solve_greedy(problem)))
    bounds: dict[str, int] = {}
    for number, level in enumerate(levels):
        share = (deadline - time.monotonic()) / (len(levels) - number) - _SETUP_MARGIN
        if share < _MIN_LEVEL_TIME and search.values is not None:
            break  # the levels left keep the last solution's values against the bound 0
        if level.prepare is not None:
            level.prepare(search.found_at)
            share = (deadline - time.monotonic()) / (len(levels) - number) - _SETUP_MARGIN
        proven = _solve_level(search, level, max(_MIN_LEVEL_TIME, share))
        if isinstance(proven, Schedule):
            return proven
        if proven is None and search.values is None:
            return _no_schedule(problem, cp_model.UNKNOWN, "UNKNOWN")
        if proven is None:  # no answer at this level: keep the last solution's values
            break
        found, bounds[level.name] = proven
        search.found_at[level.name] = found
        day.model.add(level.expression <= found)
        assert search.values is not None
        add_hint(day, search.values)
    _revisit(search, bounds, deadline)
    assert search.values is not None
    gaps = [(lv.name, _gap(search.level_values[lv.name], bounds.get(lv.name, 0))) for lv in levels]
    first_open = next((gap for _, gap in gaps if gap > 0), 0.0)
    return Schedule(
        problem=problem,
        assignments=assignments_of(day, search.values),
        status=SolveStatus.OPTIMAL if first_open == 0 else SolveStatus.FEASIBLE,
        solver="cpsat",
        bound_gap=round(first_open, 4),
        level_gaps=tuple((name, round(gap, 4)) for name, gap in gaps),
    )


def _revisit(search: _Search, bounds: dict[str, int], deadline: float) -> None:
    """Give the time the levels left unused back to the most important open probed level.

    A level's share is fixed before later levels run, so a day whose waiting and peak levels
    close early used to end with its overtime gap open and time on the clock. The probes of a
    level hold only the levels above it (``above``), so a bound proven now is a bound of that
    level; a schedule a probe finds is lexicographically better (the levels above unchanged,
    this one lower), and the bounds proven for the later levels stay valid lower bounds, since
    holding this level lower only shrinks the schedules they range over.
    """
    if search.relaxed is None or search.values is None:
        return
    for number, level in enumerate(search.levels):
        name = level.name
        if name not in bounds:
            return  # no level below an unsolved one was solved either
        if name not in _PROBED or search.level_values[name] <= bounds[name]:
            continue
        if deadline - time.monotonic() < _MIN_MIP_TIME:
            return
        above = {lv.name: search.level_values[lv.name] for lv in search.levels[:number]}
        bounds[name] = max(bounds[name], _probe(search, name, bounds[name], deadline, above))
        _log.debug("revisit %s: found %s, bound %s", name, search.level_values[name], bounds[name])


def _solve_level(search: _Search, level: Level, share: float) -> tuple[int, int] | Schedule | None:
    """(value found, proven bound) of one level; a Schedule when the day has none; None when
    neither solver found a schedule at this level in time."""
    level_deadline = time.monotonic() + share
    bound: int | Schedule = 0
    if search.relaxed is None or level.name not in _MIP_FIRST:
        first = max(share * _CP_FIRST, min(share, _MIN_MIP_TIME)) if search.relaxed else share
        bound = _run_cpsat(search, level, first)
    if isinstance(bound, Schedule):
        return bound
    found = search.level_values.get(level.name) if search.values is not None else None
    if search.relaxed is not None and (found is None or found > bound):
        bound = _close_gap(search, level, bound, level_deadline, share)
        if isinstance(bound, Schedule):
            return bound
    if search.values is None or level.name not in search.level_values:
        return None
    found = search.level_values[level.name]
    return found, min(found, bound)


def _close_gap(
    search: _Search, level: Level, bound: int, level_deadline: float, share: float
) -> int | Schedule:
    """The MIP phase, then CP-SAT for the rest of the level's time; returns the bound."""
    bound = _mip_phase(search, level, bound, level_deadline - share * _CP_LAST)
    found = search.level_values.get(level.name) if search.values is not None else None
    left = level_deadline - time.monotonic()
    if (found is not None and found <= bound) or left < _MIN_LEVEL_TIME:
        return bound
    if bound > 0:
        search.day.model.add(level.expression >= bound)  # proven by the MIP
    last = _run_cpsat(search, level, left)
    return last if isinstance(last, Schedule) else max(bound, last)


def _run_cpsat(search: _Search, level: Level, seconds: float) -> int | Schedule:
    """CP-SAT on ``level`` for ``seconds``; keeps a better schedule; returns its proven bound."""
    day, solver = search.day, search.solver
    if search.values is not None:
        add_hint(day, search.values)
    solver.parameters.max_time_in_seconds = max(_MIN_LEVEL_TIME, seconds)
    day.model.minimize(level.expression)
    status = solver.solve(day.model)
    if status == cp_model.INFEASIBLE and search.values is None:
        return _no_schedule(day.problem, status, solver.status_name(status))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return 0
    found = round(solver.objective_value)
    if search.values is None or found < search.level_values[level.name]:
        search.values = read_values(day, solver)
        search.level_values = {lv.name: round(solver.value(lv.expression)) for lv in search.levels}
    _log.debug(
        "cpsat %s %s found %s (%.2fs given)", level.name, solver.status_name(status), found, seconds
    )
    if status == cp_model.OPTIMAL:
        return found
    return math.ceil(solver.best_objective_bound - 1e-6)


def _mip_phase(search: _Search, level: Level, bound: int, mip_deadline: float) -> int:
    """The time-indexed MIP on ``level``: optimise, then probe upwards; returns the bound."""
    relaxed = search.relaxed
    assert relaxed is not None
    name = level.name
    if name in _OPTIMISED and mip_deadline - time.monotonic() >= _MIN_MIP_TIME:
        seconds = mip_deadline - time.monotonic()
        outcome = solve_level(
            relaxed,
            name,
            search.found_at,
            time_limit_s=seconds * 0.7 if name in _PROBED else seconds,
        )
        _log.debug("mip %s %s bound %s", name, outcome.status, outcome.bound)
        if outcome.bound is not None:
            bound = max(bound, outcome.bound)
        _take(search, name, outcome.solution)
    if name not in _PROBED or name not in search.level_values:
        return bound
    return _probe(search, name, bound, mip_deadline)


def _probe(
    search: _Search,
    name: str,
    bound: int,
    mip_deadline: float,
    above: dict[str, int] | None = None,
) -> int:
    """Binary search over the values the level can take between the bound and the value found:
    "no schedule keeps the level <= v" raises the bound above v, a schedule lowers the value
    found. A probe that gets no answer in time ends the search above it; returns the bound.
    ``above`` holds the levels above this one (the values found so far by default)."""
    relaxed = search.relaxed
    assert relaxed is not None
    found = search.level_values[name]
    values = [*probe_values(relaxed, name, bound, found), found]
    low, high = 0, len(values) - 1  # values[high] is reached; below values[low] is impossible
    while low < high:
        seconds = mip_deadline - time.monotonic()
        if seconds < _MIN_MIP_TIME:
            break
        middle = (low + high) // 2 if name == "overtime_min" else high - max(1, (high - low) // 4)
        fixed = {**(search.found_at if above is None else above), name: values[middle]}
        # a pure feasibility question in the plain form: HiGHS proves "no" fastest that way
        outcome = solve_level(relaxed, None, fixed, time_limit_s=seconds, steps=False)
        _log.debug(
            "probe %s <= %s: %s (%.2fs given)", name, values[middle], outcome.status, seconds
        )
        if outcome.status is MipStatus.INFEASIBLE:
            low = middle + 1
        elif _take(search, name, outcome.solution):
            reached = search.level_values[name]
            high = next(i for i, v in enumerate(values) if v >= reached)
            values[high] = reached
        else:
            high = middle  # unknown: nothing is proven at or above this value
    return values[low] if low < len(values) - 1 else search.level_values[name]


def _take(search: _Search, level: str, solution: LevelSolution | None) -> bool:
    """Keep a MIP solution if it passes ``check()`` and is better at ``level``; True if the
    best schedule now has the solution's value there."""
    if solution is None:
        return False
    if search.values is not None and solution.levels[level] >= search.level_values[level]:
        return solution.levels[level] == search.level_values[level]
    try:
        placed = assignments_of(search.day, solution.values)
    except SchedulingError:
        return False
    if check_schedule(search.day.problem, placed):
        return False
    search.values = dict(solution.values)
    search.level_values = dict(solution.levels)
    return True


def _gap(found: int, bound: float) -> float:
    return max(0.0, found - bound) / max(1.0, abs(found))


def _no_schedule(problem: DayProblem, status: object, name: str) -> Schedule:
    verdict = SolveStatus.INFEASIBLE if status == cp_model.INFEASIBLE else SolveStatus.UNKNOWN
    reason = (
        "no schedule books every mandatory and started visit"
        if verdict is SolveStatus.INFEASIBLE
        else f"no schedule found within the time limit (CP-SAT: {name})"
    )
    return Schedule(
        problem=problem,
        assignments=(),
        status=verdict,
        solver="cpsat",
        bound_gap=None,
        message=reason,
    )
