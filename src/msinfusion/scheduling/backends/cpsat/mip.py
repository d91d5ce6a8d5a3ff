"""One mixed-integer programme solved by HiGHS (``scipy.optimize.milp``) within a time limit.

"No solution in time" and "infeasible" are statuses with whatever bound HiGHS proved, never
exceptions: the caller uses the bound even when there is no solution, and the solution even
when it is not proven optimal.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]  # scipy ships no type stubs
from scipy.optimize import (  # type: ignore[import-untyped]  # scipy ships no type stubs
    Bounds,
    LinearConstraint,
    milp,
)

FloatArray = npt.NDArray[np.float64]

# HiGHS's relative gap at which it stops; our objectives are integers, so a proof to 1e-6 of
# values below 10^5 is a proof of the integer optimum once the bound is rounded up.
MIP_REL_GAP = 1e-6
BOUND_TOLERANCE = 1e-6  # a dual bound within this of an integer rounds down to it


class MipStatus(enum.StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution, not proven optimal (time limit)
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # no solution within the time limit


@dataclass(frozen=True, slots=True, kw_only=True)
class MipResult:
    """``bound``: the proven lower bound on the (integer) objective, rounded up; None if none."""

    status: MipStatus
    x: FloatArray | None
    objective: float | None
    bound: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mip:
    """Minimise ``c @ x`` subject to ``row_low <= A @ x <= row_high``, ``low <= x <= high``,
    every variable integer."""

    c: FloatArray
    a: sparse.csr_array
    row_low: FloatArray
    row_high: FloatArray
    low: FloatArray
    high: FloatArray


def integer_bound(value: float) -> int:
    """The smallest integer a dual bound proves, tolerant of HiGHS's floating point.

    >>> integer_bound(40.0000001), integer_bound(40.3), integer_bound(-0.0)
    (40, 41, 0)
    """
    return math.ceil(value - BOUND_TOLERANCE)


def _solve_empty(mip: Mip) -> MipResult:
    """A programme without variables: optimal at x = () if 0 meets every row, else infeasible."""
    if np.all(mip.row_low <= 0) and np.all(mip.row_high >= 0):
        return MipResult(status=MipStatus.OPTIMAL, x=np.zeros(0), objective=0.0, bound=0)
    return MipResult(status=MipStatus.INFEASIBLE, x=None, objective=None, bound=None)


def solve_mip(mip: Mip, *, time_limit_s: float) -> MipResult:
    """HiGHS on ``mip`` for at most ``time_limit_s`` seconds (presolve included)."""
    if len(mip.c) == 0:  # nothing to choose (HiGHS wants one variable)
        return _solve_empty(mip)
    if time_limit_s <= 0:
        return MipResult(status=MipStatus.UNKNOWN, x=None, objective=None, bound=None)
    result = milp(
        mip.c,
        integrality=np.ones(len(mip.c), dtype=np.int64),
        bounds=Bounds(mip.low, mip.high),
        constraints=[LinearConstraint(mip.a, mip.row_low, mip.row_high)],
        options={"time_limit": time_limit_s, "disp": False, "mip_rel_gap": MIP_REL_GAP},
    )
    if result.status == 2:  # scipy: "infeasible"
        return MipResult(status=MipStatus.INFEASIBLE, x=None, objective=None, bound=None)
    dual = getattr(result, "mip_dual_bound", None)
    bound = integer_bound(dual) if dual is not None and math.isfinite(dual) else None
    x = result.x if result.x is not None else None
    if x is None:
        return MipResult(status=MipStatus.UNKNOWN, x=None, objective=None, bound=bound)
    objective = float(result.fun)
    if result.status == 0:
        bound = integer_bound(objective) if bound is None else max(bound, integer_bound(objective))
        return MipResult(status=MipStatus.OPTIMAL, x=x, objective=objective, bound=bound)
    return MipResult(status=MipStatus.FEASIBLE, x=x, objective=objective, bound=bound)


def step_form(mip: Mip, block: npt.NDArray[np.int64]) -> tuple[Mip, sparse.csr_array]:
    """The same programme in cumulative ("step") variables; returns it and ``D`` with x = D z.

    Consecutive variables with the same ``block`` id (one visit in one chair class, by start)
    become ``z_j = x_first + ... + x_j`` ("started by slot j"); ids < 0 stay as they are. A
    chair or load row of a visit then has two non-zeros (``+1`` where it starts, ``-1`` where
    it ends) instead of one per slot, and branching on ``z`` splits "starts by s" from "after".
    ``D`` is invertible and integral both ways, so the feasible integer points, the objective
    values and the LP bound are the same: ``x >= 0`` becomes the rows ``D z >= 0``.
    """
    n = len(mip.c)
    same = np.zeros(n, dtype=np.bool_)
    same[1:] = (block[1:] == block[:-1]) & (block[1:] >= 0)
    rows = np.concatenate([np.arange(n), np.flatnonzero(same)])
    cols = np.concatenate([np.arange(n), np.flatnonzero(same) - 1])
    data = np.concatenate([np.ones(n), -np.ones(int(same.sum()))])
    d = sparse.csr_array((data, (rows, cols)), shape=(n, n))
    a = (mip.a @ d).tocsr()
    a.eliminate_zeros()
    stepped = np.flatnonzero(block >= 0)
    monotone = d[stepped]
    return (
        Mip(
            c=d.T @ mip.c,
            a=sparse.vstack([a, monotone], format="csr"),
            row_low=np.concatenate([mip.row_low, np.zeros(len(stepped))]),
            row_high=np.concatenate([mip.row_high, np.full(len(stepped), np.inf)]),
            low=mip.low,
            high=mip.high,
        ),
        d,
    )
