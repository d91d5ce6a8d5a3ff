"""The independent feasibility check and the metrics of any day schedule.

Written from the problem's own fields with datetime arithmetic, minute by minute, and sharing no
code with the back ends (``timeline``), so a modelling bug in a solver shows up as a violation.
Rules (stable names): unknown-visit, duplicate-visit, unknown-chair, chair-attributes,
pin-moved, mandatory-unbooked, off-grid, before-opening, before-arrival, before-now,
drug-not-ready, after-hard-end, chair-overlap, nurse-capacity.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from msinfusion.scheduling.assignment import Assignment, Metrics, Violation, end_of
from msinfusion.scheduling.problem import DayProblem, Visit

_MINUTE = timedelta(minutes=1)


def check_schedule(problem: DayProblem, assignments: Iterable[Assignment]) -> tuple[Violation, ...]:
    """Every hard constraint the schedule breaks; empty means feasible."""
    placed = tuple(assignments)
    found: list[Violation] = []
    valid: list[tuple[Visit, Assignment]] = []
    seen: set[str] = set()
    visits = {v.id: v for v in problem.visits}
    chairs = {c.id: c for c in problem.chairs}
    for item in placed:
        visit = visits.get(item.visit_id)
        if visit is None:
            found.append(_v("unknown-visit", "no such visit in the problem", item))
            continue
        if item.visit_id in seen:
            found.append(_v("duplicate-visit", "visit placed twice", item))
            continue
        seen.add(item.visit_id)
        chair = chairs.get(item.chair_id)
        if chair is None:
            found.append(_v("unknown-chair", f"no chair '{item.chair_id}'", item))
            continue
        if not chair.can_host(visit):
            found.append(_v("chair-attributes", f"chair {chair.id} lacks {visit.requires}", item))
        found.extend(_timing(problem, visit, item))
        valid.append((visit, item))
    for visit in problem.visits:
        if visit.id not in seen and (visit.mandatory or visit.pin is not None):
            rule = "pin-moved" if visit.pin is not None else "mandatory-unbooked"
            found.append(Violation(rule=rule, message="visit not booked", visit_id=visit.id))
    found.extend(_chair_overlaps(valid))
    found.extend(_nurse_capacity(problem, valid))
    return tuple(found)


def _v(rule: str, message: str, item: Assignment) -> Violation:
    return Violation(rule=rule, message=message, visit_id=item.visit_id, at=item.start)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _timing(problem: DayProblem, visit: Visit, item: Assignment) -> Iterator[Violation]:
    start = _utc(item.start)
    if visit.pin is not None:
        if visit.pin.chair_id != item.chair_id or _utc(visit.pin.start) != start:
            yield _v("pin-moved", "a started visit was moved", item)
    else:
        if (start - _utc(problem.opens)) % problem.slot:
            yield _v("off-grid", f"start is not on the {problem.slot} grid", item)
        if start < _utc(visit.window.earliest):
            yield _v("before-arrival", "starts before the patient's earliest time", item)
        if problem.not_before is not None and start < _utc(problem.not_before):
            yield _v("before-now", "a re-planned visit starts in the past", item)
        if visit.drug_ready_at is not None and start + visit.infusion_offset < _utc(
            visit.drug_ready_at
        ):
            yield _v("drug-not-ready", "drug starts before pharmacy has it ready", item)
    if start < _utc(problem.opens):
        yield _v("before-opening", "starts before the centre opens", item)
    if _utc(end_of(visit, item.start)) > _utc(problem.latest_end):
        yield _v("after-hard-end", "ends after the day's hard end", item)


def _chair_overlaps(valid: list[tuple[Visit, Assignment]]) -> Iterator[Violation]:
    by_chair: dict[str, list[tuple[datetime, datetime, Assignment]]] = defaultdict(list)
    for visit, item in valid:
        by_chair[item.chair_id].append((_utc(item.start), _utc(end_of(visit, item.start)), item))
    for stays in by_chair.values():
        stays.sort(key=lambda stay: stay[0])
        for (_, end, _first), (start, _, second) in itertools.pairwise(stays):
            if start < end:
                yield _v("chair-overlap", f"chair {second.chair_id} is still occupied", second)


def _demand_by_minute(problem: DayProblem, visit: Visit, start: datetime) -> dict[datetime, int]:
    """Nurse-load units of one visit for each whole minute it occupies the chair."""
    load: dict[datetime, int] = {}
    first = _utc(start).replace(second=0, microsecond=0)
    drug = first + visit.infusion_offset
    monitored_until = first + (
        visit.chair_time if problem.observation_monitored else visit.infusion_end_offset
    )
    for i in range(int(visit.chair_time // _MINUTE)):
        moment = first + i * _MINUTE
        if any(
            first + task.offset <= moment < first + task.offset + task.duration
            for task in visit.nurse_tasks
        ):
            load[moment] = problem.nurse_ratio
        elif drug <= moment < monitored_until:
            load[moment] = 1
    return load


def _nurses_at(problem: DayProblem, moment: datetime) -> int:
    count = 0
    for nurse in problem.nurses:
        stays_late = _utc(nurse.shift_end) >= _utc(problem.closes)
        end = _utc(problem.latest_end) if stays_late else _utc(nurse.shift_end)
        if _utc(nurse.shift_start) <= moment and moment + _MINUTE <= end:
            count += 1
    return count


def load_by_minute(
    problem: DayProblem, placed: Iterable[tuple[Visit, Assignment]]
) -> dict[datetime, int]:
    """Total nurse-load units in every minute of the day that has any (UTC minute keys)."""
    total: dict[datetime, int] = defaultdict(int)
    for visit, item in placed:
        for moment, units in _demand_by_minute(problem, visit, item.start).items():
            total[moment] += units
    return dict(total)


def _nurse_capacity(
    problem: DayProblem, valid: list[tuple[Visit, Assignment]]
) -> Iterator[Violation]:
    for moment, units in sorted(load_by_minute(problem, valid).items()):
        capacity = problem.nurse_ratio * _nurses_at(problem, moment)
        if units > capacity:
            yield Violation(
                rule="nurse-capacity",
                message=f"{units} nurse-load units but {capacity} available "
                f"(ratio 1:{problem.nurse_ratio})",
                at=moment,
            )
            return  # one report is enough; the rest of the peak repeats it


def measure(problem: DayProblem, assignments: Iterable[Assignment]) -> Metrics:
    """Overtime, waiting beyond the windows, peak nurse load and visits booked."""
    visits = {v.id: v for v in problem.visits}
    placed = [(visits[a.visit_id], a) for a in assignments if a.visit_id in visits]
    closes = _utc(problem.closes)
    last_end = max((_utc(end_of(v, a.start)) for v, a in placed), default=closes)
    overtime = max(0, math.ceil((last_end - closes) / _MINUTE))
    wait = sum(
        max(0, math.ceil((_utc(a.start) - _utc(v.window.start_by)) / _MINUTE)) for v, a in placed
    )
    peak = max(load_by_minute(problem, placed).values(), default=0)
    return Metrics(
        overtime_min=overtime,
        total_wait_min=wait,
        peak_nurse_load_units=peak,
        peak_nurse_load=round(peak / problem.nurse_ratio, 2),
        visits_booked=len({v.id for v, _ in placed}),
        visits_requested=len(problem.visits),
    )
