"""Read models for the patient and protocol pages, from the service layer and the catalog.

The patient's course calendar is ``planning.plan_course`` over the prescriber's order (a pure
core function); past infusions are the patient's appointments read through the application's
``AuditedAccess`` (permission check and audit entry, like every other read of patient data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from msinfusion.adapters.web.ui.charts import StepChart, ladder_chart
from msinfusion.application.audit import Actor, Subject
from msinfusion.application.centre import Centre
from msinfusion.application.permissions import Action
from msinfusion.application.records import Appointment, TherapyOrder
from msinfusion.catalog.ladder import run_ladder
from msinfusion.catalog.model import Protocol, Therapy
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import MsinfusionError
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseCalendar, CourseOrder, GivenDose
from msinfusion.session.events import PatientDischarged, ReactionRecorded


@dataclass(frozen=True, slots=True, kw_only=True)
class PastInfusion:
    appointment: Appointment
    status: str
    reactions: tuple[str, ...]
    contraindicating: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CourseView:
    order: TherapyOrder
    calendar: CourseCalendar | None
    problem: str | None


def list_patient_appointments(centre: Centre, actor: Actor, patient_id: str) -> list[Appointment]:
    """Every appointment of one patient, oldest first (audited as ``appointment.list``)."""
    subject = Subject(verb="appointment.list", resource_type="patient", resource_id=patient_id)
    found = centre.access.run(
        actor,
        Action.READ_APPOINTMENT,
        subject,
        lambda uow: uow.appointments.list_for_patient(patient_id),
    )
    return sorted(found, key=lambda a: a.starts_at)


def past_infusions(centre: Centre, actor: Actor, patient_id: str) -> list[PastInfusion]:
    rows: list[PastInfusion] = []
    for appointment in list_patient_appointments(centre, actor, patient_id):
        reactions: list[str] = []
        contraindicating = False
        status = appointment.status.value
        if appointment.session_id is not None:
            for numbered in centre.sessions.list_events(actor, appointment.session_id):
                event = numbered.event
                if isinstance(event, ReactionRecorded):
                    reactions.append(f"{event.severity}: {', '.join(event.symptoms)}")
                    contraindicating = contraindicating or event.discontinue_therapy
                if isinstance(event, PatientDischarged):
                    status = "discharged"
        rows.append(
            PastInfusion(
                appointment=appointment,
                status=status,
                reactions=tuple(reactions),
                contraindicating=contraindicating,
            )
        )
    return rows


def given_doses(infusions: list[PastInfusion], therapy_id: str, zone: tzinfo) -> list[GivenDose]:
    """Discharged infusions of ``therapy_id`` as given doses (one per dose number)."""
    given: dict[int, GivenDose] = {}
    for row in infusions:
        therapy = shipped_catalog().get_protocol(row.appointment.protocol_id).therapy_id
        if row.status == "discharged" and therapy == therapy_id:
            on = row.appointment.starts_at.astimezone(zone).date()
            given.setdefault(
                row.appointment.dose_number,
                GivenDose(dose_number=row.appointment.dose_number, on=on),
            )
    return [given[n] for n in sorted(given)]


def course_views(
    orders: list[TherapyOrder], infusions: list[PastInfusion], today: date, zone: tzinfo
) -> list[CourseView]:
    """Each order's calendar, counting the doses given here when they are complete from dose 1
    (the calendar needs a gap-free history; earlier doses given elsewhere are not recorded)."""
    views: list[CourseView] = []
    for order in orders:
        given = given_doses(infusions, order.therapy_id, zone)
        complete = [g.dose_number for g in given] == list(range(1, len(given) + 1))
        problem = (
            None
            if complete
            else (
                "Doses given before this centre's records are not known: the calendar is counted "
                "from the order's start date, without the doses given here."
            )
        )
        course = CourseOrder.create(
            therapy_id=order.therapy_id,
            start=order.start_date,
            options=dict(order.options),
            given=tuple(given) if complete else (),
        )
        try:
            calendar = plan_course(course, as_of=today)
        except MsinfusionError as error:
            views.append(CourseView(order=order, calendar=None, problem=error.message))
            continue
        views.append(CourseView(order=order, calendar=calendar, problem=problem))
    return views


@dataclass(frozen=True, slots=True, kw_only=True)
class LadderRow:
    start_min: float
    end_min: float
    rate_ml_per_h: float
    volume_ml: float
    cumulative_volume_ml: float


def ladder_rows(protocol: Protocol) -> list[LadderRow]:
    """The ladder run to the nominal bag volume (the catalog's own arithmetic)."""
    return [
        LadderRow(
            start_min=float(seg.start_min),
            end_min=float(seg.end_min),
            rate_ml_per_h=float(seg.rate_ml_per_h),
            volume_ml=float(seg.volume_ml),
            cumulative_volume_ml=float(seg.cumulative_volume_ml),
        )
        for seg in run_ladder(protocol.ladder.steps, protocol.bag_volume_ml.value)
    ]


def protocol_chart(protocol: Protocol, rows: list[LadderRow]) -> StepChart:
    steps = [(r.start_min, r.rate_ml_per_h) for r in rows]
    return ladder_chart(
        steps,
        end_min=rows[-1].end_min if rows else 60.0,
        max_rate_ml_per_h=float(protocol.max_rate_ml_per_h.value),
    )


def protocol_page(therapy: Therapy, protocol: Protocol) -> dict[str, Any]:
    rows = ladder_rows(protocol)
    return {
        "therapy": therapy,
        "protocol": protocol,
        "ladder": rows,
        "chart": protocol_chart(protocol, rows),
    }
