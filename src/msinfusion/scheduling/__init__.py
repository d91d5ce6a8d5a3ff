"""Scheduling the infusion centre: chairs, nurses and regimens as data, solved and checked.

Back ends live in ``scheduling.backends`` (``greedy.solve_greedy``, ``cpsat.solve_cpsat``); only
the CP-SAT back end imports OR-Tools, so import it where it is used.
"""

from __future__ import annotations

from msinfusion.scheduling.assignment import Assignment, Metrics, TimedTask, Violation
from msinfusion.scheduling.problem import (
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    NurseTask,
    PatientId,
    PatientWindow,
    Pin,
    TaskKind,
    Visit,
    VisitId,
)
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.visits import NurseTaskDurations, visit_from_plan, visit_from_protocol

__all__ = [
    "Assignment",
    "Chair",
    "ChairId",
    "DayProblem",
    "Metrics",
    "Nurse",
    "NurseId",
    "NurseTask",
    "NurseTaskDurations",
    "PatientId",
    "PatientWindow",
    "Pin",
    "Schedule",
    "SolveStatus",
    "TaskKind",
    "TimedTask",
    "Violation",
    "Visit",
    "VisitId",
    "visit_from_plan",
    "visit_from_protocol",
]
