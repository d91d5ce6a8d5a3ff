"""The JSON view of a solved day (a public contract for the CLI, later the API and the board)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from msinfusion.scheduling.assignment import end_of, timed_tasks
from msinfusion.scheduling.problem import Visit
from msinfusion.scheduling.schedule import Schedule


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """Every visit (booked or not) with chair, start, end and nurse-held intervals, and metrics.

    Times are ISO 8601 with the offset of the centre's opening time.
    """
    problem = schedule.problem
    zone = problem.opens.tzinfo
    metrics = schedule.metrics()
    violations = schedule.check()
    visits = [_visit_entry(schedule, visit) for visit in problem.visits]
    return {
        "date": problem.day.isoformat(),
        "solver": schedule.solver,
        "visits": visits,
        "metrics": {
            "overtime_min": metrics.overtime_min,
            "total_wait_min": metrics.total_wait_min,
            "peak_nurse_load": metrics.peak_nurse_load,
            "peak_nurse_load_units": metrics.peak_nurse_load_units,
            "nurse_ratio": problem.nurse_ratio,
            "visits_booked": metrics.visits_booked,
            "visits_requested": metrics.visits_requested,
            "status": schedule.status.value,
            "bound_gap": schedule.bound_gap,
            "level_gaps": dict(schedule.level_gaps),
        },
        "violations": [
            {
                "rule": v.rule,
                "message": v.message,
                "visit_id": v.visit_id,
                "at": None if v.at is None else v.at.astimezone(zone).isoformat(),
            }
            for v in violations
        ],
        "message": schedule.message,
    }


def _visit_entry(schedule: Schedule, visit: Visit) -> dict[str, Any]:
    zone = schedule.problem.opens.tzinfo
    placed = schedule.assignment(visit.id)
    entry: dict[str, Any] = {
        "id": visit.id,
        "patient_id": visit.patient_id,
        "protocol_id": visit.protocol_id,
        "dose_number": visit.dose_number,
        "course_day": visit.course_day,
        "mandatory": visit.mandatory,
        "started": visit.pin is not None,
        "booked": placed is not None,
        "chair": None,
        "start": None,
        "end": None,
        "infusion_start": None,
        "chair_time_min": visit.chair_time.total_seconds() / 60,
        "window": {
            "earliest": visit.window.earliest.astimezone(zone).isoformat(),
            "start_by": visit.window.start_by.astimezone(zone).isoformat(),
        },
        "nurse_tasks": [],
    }
    if placed is None:
        return entry
    start = placed.start.astimezone(zone)
    return entry | {
        "chair": placed.chair_id,
        "start": start.isoformat(),
        "end": end_of(visit, start).isoformat(),
        "infusion_start": (start.astimezone(UTC) + visit.infusion_offset)
        .astimezone(zone)
        .isoformat(),
        "nurse_tasks": [
            {
                "kind": t.kind,
                "label": t.label,
                "start": t.start.isoformat(),
                "end": t.end.isoformat(),
            }
            for t in timed_tasks(visit, start)
        ],
    }
