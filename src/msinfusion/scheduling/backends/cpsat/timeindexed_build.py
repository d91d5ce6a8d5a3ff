"""The matrices of the time-indexed formulation (``timeindexed``), built sparse with numpy.

One *column* per (free visit, chair class, start slot) the CP-SAT model allows; rows count, per
slot of the grid, the chairs of a class and the nurse-load units a column occupies there.
Started (pinned) visits are constants: their chair and load minutes come off the capacities and
their load is added to the peak. Everything is in whole minutes from the opening, as in
``variables`` and ``constraints``, so a column's costs equal the CP-SAT expressions exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]  # scipy ships no type stubs

from msinfusion.scheduling.backends.cpsat.variables import DayVars
from msinfusion.scheduling.timeline import (
    earliest_start,
    horizon,
    latest_start,
    nurses_on_shift,
    whole_minutes,
)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Columns:
    """Per column: index into ``DayVars.visits``, chair class, start slot, and its costs."""

    visit: IntArray
    cls: IntArray
    slot: IntArray
    wait: IntArray  # minutes after the visit's start_by, the CP-SAT ``wait``
    late: IntArray  # minutes its end is after closing (0 if not), the visit's overtime


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeIndexedDay:
    """A day on the slot grid. Rows of ``chair`` are (class, slot), of ``load`` slots.

    ``load_room[k]`` is the least free nurse-load capacity over the minutes of slot ``k`` (units
    on shift less pinned load); ``pinned_peak[k]`` the most pinned load in one of its minutes.
    ``free`` lists the free visits (indices into ``DayVars.visits``) and ``mandatory`` marks them.
    """

    columns: Columns
    chair: sparse.csr_array
    chair_room: IntArray
    load: sparse.csr_array
    load_room: IntArray
    pinned_peak: IntArray
    most_units: int
    free: IntArray
    mandatory: npt.NDArray[np.bool_]
    pinned_wait: int
    pinned_late: int


def _per_minute(day: DayVars, minutes: int) -> tuple[IntArray, IntArray, int]:
    """Nurse-load units on shift and pinned load per minute, and the most units on shift."""
    problem = day.problem
    shift = np.asarray(nurses_on_shift(problem), dtype=np.int64) * problem.nurse_ratio
    most = int(shift.max(initial=0))
    units = np.full(minutes, most, dtype=np.int64)  # past the hard end only `most` applies
    units[: len(shift)] = shift
    pinned = np.zeros(minutes, dtype=np.int64)
    for v in day.visits:
        if isinstance(v.start, int):
            for piece in v.shape.pieces:
                first = v.start + piece.offset
                pinned[first : first + piece.length] += piece.demand
    return units, pinned, most


def _slot_reduce(values: IntArray, step: int, slots: int, *, low: bool) -> IntArray:
    padded = np.full(slots * step, values[-1] if len(values) else 0, dtype=np.int64)
    padded[: len(values)] = values
    grid = padded.reshape(slots, step)
    reduced: IntArray = grid.min(axis=1) if low else grid.max(axis=1)
    return reduced


def _slot_profile(day: DayVars, number: int, step: int) -> tuple[int, IntArray]:
    """Length in slots and nurse-load units per slot of one free visit (constant in a slot)."""
    shape = day.visits[number].shape
    demand = np.zeros(shape.length // step, dtype=np.int64)
    for piece in shape.pieces:
        demand[piece.offset // step : (piece.offset + piece.length) // step] = piece.demand
    return shape.length // step, demand


@dataclass(slots=True)
class _Parts:
    """Column and matrix pieces gathered visit by visit."""

    count: int = 0
    rows_c: list[IntArray] = field(default_factory=list)
    cols_c: list[IntArray] = field(default_factory=list)
    rows_l: list[IntArray] = field(default_factory=list)
    cols_l: list[IntArray] = field(default_factory=list)
    data_l: list[IntArray] = field(default_factory=list)
    visit: list[IntArray] = field(default_factory=list)
    cls: list[IntArray] = field(default_factory=list)
    slot: list[IntArray] = field(default_factory=list)
    wait: list[IntArray] = field(default_factory=list)
    late: list[IntArray] = field(default_factory=list)


def _add_columns(day: DayVars, number: int, slots: int, parts: _Parts) -> None:
    """The columns of one free visit: each compatible class x each start slot it may use."""
    problem, step = day.problem, whole_minutes(day.problem.slot)
    v = day.visits[number]
    low = earliest_start(problem, v.visit) // step
    high = latest_start(problem, v.visit) // step
    if low > high:  # cannot fit today: no column, never booked (as in ``variables``)
        return
    length, demand = _slot_profile(day, number, step)
    starts = np.arange(low, high + 1, dtype=np.int64)
    busy = np.flatnonzero(demand)
    offsets = np.arange(length, dtype=np.int64)
    closes = problem.minute(problem.closes)
    for cls in sorted(v.presence):
        ids = np.arange(parts.count, parts.count + len(starts), dtype=np.int64)
        parts.count += len(starts)
        parts.rows_c.append((cls * slots + starts[:, None] + offsets[None, :]).ravel())
        parts.cols_c.append(np.repeat(ids, length))
        parts.rows_l.append((starts[:, None] + busy[None, :]).ravel())
        parts.cols_l.append(np.repeat(ids, len(busy)))
        parts.data_l.append(np.tile(demand[busy], len(starts)))
        parts.visit.append(np.full(len(starts), number, dtype=np.int64))
        parts.cls.append(np.full(len(starts), cls, dtype=np.int64))
        parts.slot.append(starts)
        parts.wait.append(np.maximum(0, starts * step - v.start_by))
        parts.late.append(np.maximum(0, (starts + length) * step - closes))


def _cat(pieces: list[IntArray]) -> IntArray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def build_time_indexed(day: DayVars) -> TimeIndexedDay:
    """The time-indexed matrices of ``day`` (the CP-SAT variables must already exist)."""
    problem, step = day.problem, whole_minutes(day.problem.slot)
    closes = problem.minute(problem.closes)
    pinned = [(v, v.start) for v in day.visits if isinstance(v.start, int)]
    ends = [horizon(problem)] + [start + v.shape.length for v, start in pinned]
    slots = -(-max(ends) // step)
    units, pinned_load, most = _per_minute(day, slots * step)
    chair_busy = np.zeros((len(day.classes), slots * step), dtype=np.int64)
    for v, start in pinned:
        (cls,) = v.presence
        chair_busy[cls][start : start + v.shape.length] += 1
    parts = _Parts()
    free = [number for number, v in enumerate(day.visits) if not isinstance(v.start, int)]
    for number in free:
        _add_columns(day, number, slots, parts)
    chair_room = np.concatenate(
        [
            len(members) - _slot_reduce(chair_busy[c], step, slots, low=False)
            for c, members in enumerate(day.classes)
        ]
    )
    chair = sparse.csr_array(
        (
            np.ones(len(_cat(parts.rows_c)), dtype=np.int64),
            (_cat(parts.rows_c), _cat(parts.cols_c)),
        ),
        shape=(len(day.classes) * slots, parts.count),
    )
    load = sparse.csr_array(
        (_cat(parts.data_l), (_cat(parts.rows_l), _cat(parts.cols_l))), shape=(slots, parts.count)
    )
    return TimeIndexedDay(
        columns=Columns(
            visit=_cat(parts.visit),
            cls=_cat(parts.cls),
            slot=_cat(parts.slot),
            wait=_cat(parts.wait),
            late=_cat(parts.late),
        ),
        chair=chair,
        chair_room=chair_room,
        load=load,
        load_room=_slot_reduce(units - pinned_load, step, slots, low=True),
        pinned_peak=_slot_reduce(pinned_load, step, slots, low=False),
        most_units=most,
        free=np.asarray(free, dtype=np.int64),
        mandatory=np.asarray([day.visits[n].visit.mandatory for n in free], dtype=np.bool_),
        pinned_wait=sum(v.wait for v, _ in pinned if isinstance(v.wait, int)),
        pinned_late=max([0, *(start + v.shape.length - closes for v, start in pinned)]),
    )
