"""The matrices of the time-indexed formulation (``timeindexed``), built sparse with numpy.

One *column* per (free visit, chair class, start slot) the CP-SAT model allows; rows count, per
slot of the grid, the chairs of a class and the nurse-load units a column occupies there.
Started (pinned) visits are constants: their chair and load minutes come off the capacities and
their load is added to the peak. Everything is in whole minutes from the opening, as in
``variables`` and ``constraints``, so a column's costs equal the CP-SAT expressions exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

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
    return grid.min(axis=1) if low else grid.max(axis=1)


def _slot_profile(day: DayVars, number: int, step: int) -> tuple[int, IntArray]:
    """Length in slots and nurse-load units per slot of one free visit (constant in a slot)."""
    shape = day.visits[number].shape
    demand = np.zeros(shape.length // step, dtype=np.int64)
    for piece in shape.pieces:
        demand[piece.offset // step : (piece.offset + piece.length) // step] = piece.demand
    return shape.length // step, demand


def build_time_indexed(day: DayVars) -> TimeIndexedDay:
    """The time-indexed matrices of ``day`` (the CP-SAT variables must already exist)."""
    problem, step = day.problem, whole_minutes(day.problem.slot)
    closes = problem.minute(problem.closes)
    ends = [horizon(problem)] + [
        v.start + v.shape.length for v in day.visits if isinstance(v.start, int)
    ]
    slots = -(-max(ends) // step)
    units, pinned_load, most = _per_minute(day, slots * step)
    rows_c: list[IntArray] = []
    rows_l: list[IntArray] = []
    cols_c: list[IntArray] = []
    cols_l: list[IntArray] = []
    data_l: list[IntArray] = []
    visit_of: list[IntArray] = []
    cls_of: list[IntArray] = []
    slot_of: list[IntArray] = []
    wait_of: list[IntArray] = []
    late_of: list[IntArray] = []
    chair_busy = np.zeros((len(day.classes), slots * step), dtype=np.int64)
    free: list[int] = []
    mandatory: list[bool] = []
    pinned_wait = pinned_late = 0
    count = 0
    for number, v in enumerate(day.visits):
        if isinstance(v.start, int):
            (cls,) = v.presence
            chair_busy[cls, v.start : v.start + v.shape.length] += 1
            pinned_wait += int(v.wait) if isinstance(v.wait, int) else 0
            pinned_late = max(pinned_late, v.start + v.shape.length - closes)
            continue
        free.append(number)
        mandatory.append(v.visit.mandatory)
        low = earliest_start(problem, v.visit) // step
        high = latest_start(problem, v.visit) // step
        if low > high:  # cannot fit today: no column, never booked (as in ``variables``)
            continue
        length, demand = _slot_profile(day, number, step)
        starts = np.arange(low, high + 1, dtype=np.int64)
        busy = np.flatnonzero(demand)
        for cls in sorted(v.presence):
            ids = np.arange(count, count + len(starts), dtype=np.int64)
            count += len(starts)
            offsets = np.arange(length, dtype=np.int64)
            rows_c.append((cls * slots + starts[:, None] + offsets[None, :]).ravel())
            cols_c.append(np.repeat(ids, length))
            rows_l.append((starts[:, None] + busy[None, :]).ravel())
            cols_l.append(np.repeat(ids, len(busy)))
            data_l.append(np.tile(demand[busy], len(starts)))
            visit_of.append(np.full(len(starts), number, dtype=np.int64))
            cls_of.append(np.full(len(starts), cls, dtype=np.int64))
            slot_of.append(starts)
            wait_of.append(np.maximum(0, starts * step - v.start_by))
            late_of.append(np.maximum(0, (starts + length) * step - closes))
    chair_room = np.concatenate(
        [
            len(members) - _slot_reduce(chair_busy[c], step, slots, low=False)
            for c, members in enumerate(day.classes)
        ]
    )
    empty = np.zeros(0, dtype=np.int64)

    def cat(parts: list[IntArray]) -> IntArray:
        return np.concatenate(parts) if parts else empty

    chair = sparse.csr_array(
        (np.ones(len(cat(rows_c)), dtype=np.int64), (cat(rows_c), cat(cols_c))),
        shape=(len(day.classes) * slots, count),
    )
    load = sparse.csr_array((cat(data_l), (cat(rows_l), cat(cols_l))), shape=(slots, count))
    return TimeIndexedDay(
        columns=Columns(
            visit=cat(visit_of), cls=cat(cls_of), slot=cat(slot_of), wait=cat(wait_of),
            late=cat(late_of),
        ),
        chair=chair,
        chair_room=chair_room,
        load=load,
        load_room=_slot_reduce(units - pinned_load, step, slots, low=True),
        pinned_peak=_slot_reduce(pinned_load, step, slots, low=False),
        most_units=most,
        free=np.asarray(free, dtype=np.int64),
        mandatory=np.asarray(mandatory, dtype=np.bool_),
        pinned_wait=pinned_wait,
        pinned_late=max(0, pinned_late),
    )
