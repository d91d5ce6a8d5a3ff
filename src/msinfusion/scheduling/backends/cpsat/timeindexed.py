"""A time-indexed MIP per objective level: a proven lower bound, and often the optimum itself.

Formulation (Sousa and Wolsey's time-indexed model, with identical chairs aggregated). A binary
``x[v, c, s]`` books free visit ``v`` in chair class ``c`` at start slot ``s``, for every slot
the CP-SAT model allows (``timeindexed_build``). Constraints:

* each visit at most once (exactly once if mandatory);
* per class and slot, the visits in the chair at most the class size, less the chairs started
  (pinned) visits hold in that slot: the class cumulative of ``constraints``;
* per slot, the nurse-load units at most those on shift less the pinned load: the nurse
  cumulative with its off-shift fillers.

Why this is a valid bound (and here even exact). On the grid a free visit starts at a slot
boundary and every load piece, chair time and task offset is a whole number of slots
(``DayProblem`` validates it), so a free visit's chair and load use is constant inside a slot.
A per-minute capacity over the minutes of slot ``k`` therefore holds exactly when it holds
against the tightest minute of ``k``; chair classes are exact because chairs in a class are
identical and colouring assigns them afterwards (``colouring``). The objectives are the CP-SAT
expressions column by column: unbooked visits, ``overtime >= late(v, s)`` per visit, waiting
``max(0, start - start_by)``, and ``peak >= load(k) + pinned peak(k)``. Every CP-SAT schedule
is thus an ``x`` with the same level values and vice versa, and the levels above are held at
the values found in both models, so HiGHS's dual bound is a lower bound on the level's optimum.
The formulation only drops the redundant constraints of ``bounds`` and the symmetry breaking
(both implied), so were it not exact it would still be a relaxation and its bound still valid.

Fixing a level above shrinks the model: a start whose own overtime, or own waiting, exceeds the
value found cannot be used, so its column is left out (the total waiting stays one row).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]  # scipy ships no type stubs

from msinfusion.scheduling.backends.cpsat.mip import Mip, MipStatus, solve_mip, step_form
from msinfusion.scheduling.backends.cpsat.solver_values import Values
from msinfusion.scheduling.backends.cpsat.timeindexed_build import TimeIndexedDay

LEVELS = ("visits_booked", "overtime_min", "total_wait_min", "peak_nurse_load")


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelSolution:
    """A solution of the time-indexed model and every level's value in it."""

    values: Values
    levels: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelOutcome:
    """What HiGHS proved for one level: a lower bound (None: nothing) and a solution if any."""

    status: MipStatus
    bound: int | None
    solution: LevelSolution | None


def _kept(day: TimeIndexedDay, fixed: Mapping[str, int]) -> npt.NDArray[np.bool_]:
    keep = np.ones(len(day.columns.slot), dtype=np.bool_)
    if "overtime_min" in fixed:
        keep &= day.columns.late <= fixed["overtime_min"]
    if "total_wait_min" in fixed:
        keep &= day.columns.wait <= fixed["total_wait_min"] - day.pinned_wait
    return keep


def _visit_rows(day: TimeIndexedDay, visits: npt.NDArray[np.int64]) -> sparse.csr_array:
    position = {int(number): i for i, number in enumerate(day.free)}
    rows = np.asarray([position[int(v)] for v in visits], dtype=np.int64)
    ones = np.ones(len(visits))
    return sparse.csr_array(
        (ones, (rows, np.arange(len(visits)))), shape=(len(day.free), len(visits))
    )


def build_level(
    day: TimeIndexedDay, objective: str | None, fixed: Mapping[str, int]
) -> tuple[Mip, npt.NDArray[np.bool_]] | None:
    """The MIP minimising ``objective`` (None: any feasible point) with every level in
    ``fixed`` held at most at its value; None if that is proven empty without solving."""
    keep = _kept(day, fixed)
    cols = day.columns
    n = int(keep.sum())
    extra = 1 if objective in ("overtime_min", "peak_nurse_load") else 0
    assign = _visit_rows(day, cols.visit[keep])
    has_column = np.asarray(assign.sum(axis=1)).ravel() > 0
    if np.any(day.mandatory & ~has_column):
        return None
    load_room = day.load_room.astype(np.float64)
    if "peak_nurse_load" in fixed:
        if fixed["peak_nurse_load"] < int(day.pinned_peak.max(initial=0)):
            return None
        load_room = np.minimum(load_room, fixed["peak_nurse_load"] - day.pinned_peak)
    blocks: list[sparse.csr_array] = [assign, day.chair[:, keep], day.load[:, keep]]
    low = [
        day.mandatory.astype(np.float64),
        np.full(day.chair.shape[0], -np.inf),
        np.full(day.load.shape[0], -np.inf),
    ]
    high = [np.ones(len(day.free)), day.chair_room.astype(np.float64), load_room]
    if "visits_booked" in fixed:
        blocks.append(sparse.csr_array(np.ones((1, n))))
        low.append(np.asarray([len(day.free) - fixed["visits_booked"]], dtype=np.float64))
        high.append(np.asarray([np.inf]))
    if "total_wait_min" in fixed:
        blocks.append(sparse.csr_array(cols.wait[keep][None, :].astype(np.float64)))
        low.append(np.asarray([-np.inf]))
        high.append(np.asarray([float(fixed["total_wait_min"] - day.pinned_wait)]))
    matrix = sparse.vstack(blocks, format="csr")
    var_low, var_high, c = np.zeros(n + extra), np.ones(n + extra), np.zeros(n + extra)
    if extra:
        matrix = sparse.hstack([matrix, sparse.csr_array((matrix.shape[0], 1))], format="csr")
    if objective == "visits_booked":
        c[:n] = -1.0
    elif objective == "total_wait_min":
        c[:n] = cols.wait[keep]
    elif objective == "overtime_min":
        c[n] = 1.0
        late_rows = _late_rows(day, keep)
        matrix = sparse.vstack([matrix, late_rows], format="csr")
        low.append(np.full(late_rows.shape[0], -np.inf))
        high.append(np.zeros(late_rows.shape[0]))
        var_low[n] = day.pinned_late
        var_high[n] = max(day.pinned_late, int(cols.late.max(initial=0)))
    elif objective == "peak_nurse_load":  # load(k) - P <= -pinned_peak(k)
        c[n] = 1.0
        peak_rows = sparse.hstack(
            [day.load[:, keep], sparse.csr_array(-np.ones((day.load.shape[0], 1)))], format="csr"
        )
        matrix = sparse.vstack([matrix, peak_rows], format="csr")
        low.append(np.full(day.load.shape[0], -np.inf))
        high.append(-day.pinned_peak.astype(np.float64))
        var_low[n] = float(day.pinned_peak.max(initial=0))
        var_high[n] = max(var_low[n], float(day.most_units))
    mip = Mip(
        c=c,
        a=matrix,
        row_low=np.concatenate(low),
        row_high=np.concatenate(high),
        low=var_low,
        high=var_high,
    )
    return mip, keep


def _late_rows(day: TimeIndexedDay, keep: npt.NDArray[np.bool_]) -> sparse.csr_array:
    """``sum_s late(v, s) x[v, s] - overtime <= 0`` for every visit with a late start."""
    cols = day.columns
    late = cols.late[keep].astype(np.float64)
    visits = cols.visit[keep]
    late_visits = np.unique(visits[late > 0])
    row_of = {int(v): i for i, v in enumerate(late_visits)}
    picked = np.flatnonzero(late > 0)
    rows = np.asarray([row_of[int(visits[j])] for j in picked], dtype=np.int64)
    n = len(late)
    body = sparse.csr_array((late[picked], (rows, picked)), shape=(len(late_visits), n))
    return sparse.hstack([body, sparse.csr_array(-np.ones((len(late_visits), 1)))], format="csr")


def solve_level(
    day: TimeIndexedDay,
    level: str | None,
    fixed: Mapping[str, int],
    *,
    time_limit_s: float,
    steps: bool = True,
) -> LevelOutcome:
    """HiGHS's bound for ``level`` (with its constants) and its solution, if any. With
    ``level`` None it only looks for a point that keeps every ``fixed`` level at its value."""
    built = build_level(day, level, fixed)
    if built is None:
        return LevelOutcome(status=MipStatus.INFEASIBLE, bound=None, solution=None)
    mip, keep = built
    cols = day.columns
    block = np.full(len(mip.c), -1, dtype=np.int64)
    block[: int(keep.sum())] = (cols.visit * len(day.chair_room) + cols.cls)[keep]
    if steps:
        stepped, d = step_form(mip, block)
        result = solve_mip(stepped, time_limit_s=time_limit_s)
        if result.x is not None:
            result = replace(result, x=d @ np.round(result.x))
    else:
        result = solve_mip(mip, time_limit_s=time_limit_s)
    offset = {"visits_booked": len(day.free), "total_wait_min": day.pinned_wait}.get(level or "", 0)
    bound = None if result.bound is None or level is None else result.bound + offset
    solution = None
    if result.x is not None:
        chosen = np.flatnonzero(keep)[result.x[: int(keep.sum())] > 0.5]
        solution = read_solution(day, chosen)
        if bound is not None and level is not None:
            bound = min(bound, solution.levels[level])  # never above a value it reached
    return LevelOutcome(status=result.status, bound=bound, solution=solution)


def read_solution(day: TimeIndexedDay, chosen: npt.NDArray[np.int64]) -> LevelSolution:
    """Solver values and level values of the columns ``chosen``."""
    cols = day.columns
    values: Values = {int(number): (False, 0, -1) for number in day.free}
    for j in chosen:
        values[int(cols.visit[j])] = (True, int(cols.slot[j]), int(cols.cls[j]))
    picked = np.zeros(len(cols.slot))
    picked[chosen] = 1.0
    load = day.load @ picked + day.pinned_peak
    levels = {
        "visits_booked": len(day.free) - len(chosen),
        "overtime_min": max([day.pinned_late, *(int(cols.late[j]) for j in chosen)]),
        "total_wait_min": day.pinned_wait + int(cols.wait[chosen].sum()),
        "peak_nurse_load": int(load.max(initial=0)),
    }
    return LevelSolution(values=values, levels=levels)


def probe_values(day: TimeIndexedDay, level: str, lower: int, upper: int) -> list[int]:
    """The values of ``level`` in ``[lower, upper)`` a schedule can take, for the probes:
    overtime is one visit's lateness (or a started visit's), the peak any integer; booked and
    waiting are not probed (the optimising MIP proves them, a probe per minute would not)."""
    if level == "overtime_min":
        late = {day.pinned_late, *(int(t) for t in np.unique(day.columns.late))}
        return sorted(t for t in late if lower <= t < upper)
    if level == "peak_nurse_load":
        return list(range(lower, upper))
    return []
