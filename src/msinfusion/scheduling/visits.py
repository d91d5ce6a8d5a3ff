"""From an infusion plan to a schedulable visit: chair time and nurse-held intervals.

The chair time comes from ``planning.plan_infusion`` (premedication lead, rate ladder, observation
for this dose number), rounded up to the slot grid. How long each nurse-held task takes is site
configuration (``NurseTaskDurations``); see its docstring for where each default comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from msinfusion.catalog.model import Protocol
from msinfusion.planning import InfusionPlan, plan_infusion
from msinfusion.scheduling.problem import (
    SLOT,
    NurseTask,
    PatientId,
    PatientWindow,
    TaskKind,
    Visit,
    VisitId,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NurseTaskDurations:
    """How long a nurse is held exclusively for each kind of task (site configuration).

    * ``setup`` 15 min: dossier scheduling-and-peers.md A1, "one nurse exclusively for the first
      minutes (e.g. 15 min: prepare, connect pump)", Hesaraki, Dellaert & de Kok 2019,
      https://research.tue.nl/nl/publications/generating-outpatient-chemotherapy-appointment-templates-with-bal
      (an example value in a model, not a measured time).
    * ``premedication``, ``infusion_start``, ``rate_change``, ``discharge`` 5 min: the dossier
      gives no duration for these; the default is one slot of the 5-minute grid (dossier A5), the
      shortest task the model can represent. UNVERIFIED: a centre should measure and set them.
    """

    setup: timedelta = timedelta(minutes=15)
    premedication: timedelta = SLOT
    infusion_start: timedelta = SLOT
    rate_change: timedelta = SLOT
    discharge: timedelta = SLOT
    include_optional_premedications: bool = True
    verified: bool = False


DEFAULT_TASK_DURATIONS = NurseTaskDurations()


def _ceil_slot(value: timedelta, slot: timedelta) -> timedelta:
    return -(-value // slot) * slot


def _floor_slot(value: timedelta, slot: timedelta) -> timedelta:
    return value // slot * slot


def _since(moment: datetime, origin: datetime) -> timedelta:
    return moment.astimezone(UTC) - origin.astimezone(UTC)


def visit_from_plan(
    plan: InfusionPlan,
    *,
    visit_id: str,
    patient_id: str,
    window: PatientWindow,
    durations: NurseTaskDurations = DEFAULT_TASK_DURATIONS,
    drug_ready_at: datetime | None = None,
    requires: frozenset[str] = frozenset(),
    mandatory: bool = False,
    course_day: int | None = None,
    slot: timedelta = SLOT,
) -> Visit:
    """The visit whose chair time and nurse tasks follow ``plan`` (any start time will do)."""
    origin = plan.chair_start
    lead = _ceil_slot(_since(plan.infusion_start, origin), slot)
    infusion_end = _ceil_slot(_since(plan.infusion_end, origin), slot)
    chair_time = infusion_end + _ceil_slot(plan.observation, slot)
    tasks = _nurse_tasks(plan, lead, chair_time, durations, slot)
    return Visit(
        id=VisitId(visit_id),
        patient_id=PatientId(patient_id),
        protocol_id=plan.protocol_id,
        dose_number=plan.dose_number,
        chair_time=chair_time,
        infusion_offset=lead,
        infusion_end_offset=infusion_end,
        nurse_tasks=tasks,
        window=window,
        drug_ready_at=drug_ready_at,
        requires=requires,
        mandatory=mandatory,
        course_day=course_day,
    )


def _task(kind: TaskKind, label: str, offset: timedelta, duration: timedelta) -> NurseTask:
    return NurseTask(kind=kind, label=label, offset=offset, duration=duration)


def _nurse_tasks(
    plan: InfusionPlan,
    lead: timedelta,
    chair_time: timedelta,
    durations: NurseTaskDurations,
    slot: timedelta,
) -> tuple[NurseTask, ...]:
    """Set-up, premedications, drug start, every rate change, discharge - in chair time."""
    tasks = [_task(TaskKind.SETUP, "set-up and IV access", timedelta(0), durations.setup)]
    tasks.extend(_premedication_tasks(plan, lead, durations, slot))
    tasks.append(_task(TaskKind.INFUSION_START, "start infusion", lead, durations.infusion_start))
    tasks.extend(
        _task(
            TaskKind.RATE_CHANGE,
            f"rate to {float(step.rate_ml_per_h):g} mL/h",
            _floor_slot(_since(step.start, plan.chair_start), slot),
            durations.rate_change,
        )
        for step in plan.steps[1:]
    )
    discharge_at = max(timedelta(0), chair_time - durations.discharge)
    tasks.append(_task(TaskKind.DISCHARGE, "discharge", discharge_at, durations.discharge))
    return tuple(_fit(task, chair_time) for task in tasks)


def _premedication_tasks(
    plan: InfusionPlan, lead: timedelta, durations: NurseTaskDurations, slot: timedelta
) -> list[NurseTask]:
    """Premedications one after another after set-up, each as near its labelled time as fits."""
    wanted = []
    for premed in plan.premedications:
        if not (premed.required or durations.include_optional_premedications):
            continue
        moment = premed.give_from or premed.give_until - durations.premedication
        wanted.append((_floor_slot(_since(moment, plan.chair_start), slot), premed.name))
    tasks = []
    cursor = durations.setup
    latest = max(timedelta(0), lead - durations.premedication)
    for target, name in sorted(wanted):
        offset = min(max(cursor, target), latest)
        tasks.append(
            NurseTask(
                kind=TaskKind.PREMEDICATION,
                label=name,
                offset=offset,
                duration=durations.premedication,
            )
        )
        cursor = offset + durations.premedication
    return tasks


def _fit(task: NurseTask, chair_time: timedelta) -> NurseTask:
    """Keep a task inside the chair time (a 15-min set-up on a 10-min visit is cut short)."""
    offset = min(task.offset, chair_time - task.duration)
    return (
        task
        if offset == task.offset
        else NurseTask(
            kind=task.kind,
            label=task.label,
            offset=max(timedelta(0), offset),
            duration=min(task.duration, chair_time),
        )
    )


def visit_from_protocol(
    protocol: Protocol,
    *,
    visit_id: str,
    patient_id: str,
    window: PatientWindow,
    dose_number: int | None = None,
    course_day: int | None = None,
    height_cm: Decimal | float | None = None,
    weight_kg: Decimal | float | None = None,
    durations: NurseTaskDurations = DEFAULT_TASK_DURATIONS,
    drug_ready_at: datetime | None = None,
    requires: frozenset[str] = frozenset(),
    mandatory: bool = False,
) -> Visit:
    """Plan the infusion (at the window's earliest time; the shape does not depend on it)."""
    plan = plan_infusion(
        protocol,
        window.earliest,
        dose_number=dose_number,
        course_day=course_day,
        height_cm=height_cm,
        weight_kg=weight_kg,
    )
    return visit_from_plan(
        plan,
        visit_id=visit_id,
        patient_id=patient_id,
        window=window,
        durations=durations,
        drug_ready_at=drug_ready_at,
        requires=requires,
        mandatory=mandatory,
        course_day=course_day,
    )
