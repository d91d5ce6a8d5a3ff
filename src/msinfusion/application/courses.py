"""Treatment-course use cases: an order's dose calendar, a patient's course check, PML risk.

The cores (``planning.course_plan``, ``planning.course_check``, ``planning.risk``) do the work;
this layer reads the stored order and patient, checks ``read_course`` and audits every read of
patient data. The PML calculator reads no patient data: it needs ``read_catalog`` and is not
audited, like infusion plans.

A stored order's calendar (``get_calendar``) is the planned one (``as_of`` marks doses due or
overdue). A course check reads the patient's stored clinical record and the doses given
(``clinical_records``) unless the body brings its own ``patient`` or ``order`` (the
``msinfusion course check`` file), which then replace the stored ones for that check only.
The centre's jurisdiction (``Settings.jurisdiction``, ``MSINFUSION_JURISDICTION``) applies to
every order that names none; None: unknown, the strictest rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.record_keeping import referenced
from msinfusion.application.records import TherapyOrder
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning.course_check import (
    CourseCheck,
    check_course,
    order_from_dict,
)
from msinfusion.planning.course_options import with_jurisdiction
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseCalendar, CourseOrder
from msinfusion.planning.icalendar import course_to_ics
from msinfusion.planning.patient_record import PatientRecord, patient_record_from_dict
from msinfusion.planning.risk import PmlRisk, pml_risk

T = TypeVar("T")


def course_order_of(order: TherapyOrder) -> CourseOrder:
    """The planning core's order from a stored therapy order (no dose history)."""
    return CourseOrder.create(
        therapy_id=order.therapy_id, start=order.start_date, options=dict(order.options)
    )


class CourseUseCases:
    """Calendars, course checks and risk calculators over stored orders and patients."""

    def __init__(
        self,
        access: AuditedAccess,
        clinical: ClinicalRecords,
        *,
        jurisdiction: str | None = None,
    ) -> None:
        self._access = access
        self._clinical = clinical
        self._jurisdiction = jurisdiction

    @property
    def jurisdiction(self) -> str | None:
        """The centre's jurisdiction (``US``, ``EU``) or None (unknown: the strictest)."""
        return self._jurisdiction

    def get_calendar(self, actor: Actor, order_id: str, *, as_of: date | None) -> CourseCalendar:
        """The dated dose calendar of a stored order (``as_of``: statuses on that day)."""
        subject = Subject(verb="course.calendar.read", resource_type="order", resource_id=order_id)

        def work(uow: UnitOfWork) -> CourseCalendar:
            order = with_jurisdiction(course_order_of(uow.orders.get(order_id)), self._jurisdiction)
            return _within_range(lambda: plan_course(order, as_of=as_of))

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def get_calendar_ics(self, actor: Actor, order_id: str, *, as_of: date | None) -> str:
        """The calendar as iCalendar text (RFC 5545), stamped with the request time."""
        return course_to_ics(self.get_calendar(actor, order_id, as_of=as_of), stamp=actor.at)

    def check(self, actor: Actor, patient_id: str, body: dict[str, Any]) -> CourseCheck:
        """Calendar, gates of the next dose, monitoring and risks for a stored patient.

        ``body`` is the check file of ``msinfusion course check`` (``as_of``, ``order``,
        ``patient``). ``patient.id`` defaults to ``patient_id`` and may not name anyone else;
        without ``patient`` the stored record is read. Without ``order``, the patient's stored
        order with its doses given is used: ``order_id`` names it, else the patient must have
        exactly one active order.
        """
        subject = Subject(verb="course.check", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> CourseCheck:
            uow.patients.get(patient_id)
            order = _order(uow, patient_id, body, self._clinical)
            record = (
                self._clinical.stored_record_in(uow, patient_id)
                if body.get("patient") is None
                else _patient_record(patient_id, body["patient"])
            )
            as_of = _as_of(body.get("as_of"), actor.at)
            return _within_range(
                lambda: check_course(order, record, as_of=as_of, jurisdiction=self._jurisdiction)
            )

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def pml(
        self,
        actor: Actor,
        *,
        jcv_positive: bool | None,
        index: Decimal | None,
        prior_immunosuppressant: bool,
        months: int,
        assay: str | None = None,
    ) -> PmlRisk:
        """Natalizumab PML risk per 1000 from the dossier's table (no patient data);
        ``jcv_positive=None``: serostatus not given, read from the index (NTZEU-15)."""
        subject = Subject(verb="risk.pml", resource_type="risk")
        self._access.authorize(actor, Action.READ_CATALOG, subject)
        return pml_risk(
            jcv_positive=jcv_positive,
            index=index,
            prior_immunosuppressant=prior_immunosuppressant,
            months=months,
            assay=assay,
        )


def _within_range(compute: Callable[[], T]) -> T:
    """Run a core computation; arithmetic that overflows on absurd option values (e.g. an
    exponent of a million) is bad input, not a server error."""
    try:
        return compute()
    except (ArithmeticError, OverflowError):
        raise InvalidCourseOrder(
            "a number or date of the order is out of range", field="order.options"
        ) from None


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 1, 1)
"""Sanity bounds on dates in a request (as the API's other dates), not clinical rules."""


def _in_range(day: date, field: str) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidCourseOrder(f"{field} must be between 1900 and 2200", field=field)
    return day


def _as_of(raw: Any, now: datetime) -> date:
    if raw is None:
        return now.date()
    try:
        return _in_range(date.fromisoformat(str(raw)), "as_of")
    except ValueError:
        raise InvalidCourseOrder("as_of must be an ISO date", field="as_of") from None


def _bounded(order: CourseOrder) -> CourseOrder:
    _in_range(order.start, "order.start")
    for given in order.given:
        _in_range(given.on, "order.given")
    return order


def _patient_record(patient_id: str, raw: Any) -> PatientRecord:
    given = raw
    if not isinstance(given, dict):
        raise InvalidCourseOrder("patient must be an object", field="patient")
    named = given.get("id", patient_id)
    if named != patient_id:
        raise InvalidCourseOrder(
            "patient.id must be the patient of the path (or left out)", field="patient.id"
        )
    return patient_record_from_dict({**given, "id": patient_id})


def _order(
    uow: UnitOfWork, patient_id: str, body: dict[str, Any], clinical: ClinicalRecords
) -> CourseOrder:
    if body.get("order") is not None:
        if body.get("order_id") is not None:
            raise InvalidCourseOrder("give order or order_id, not both", field="order_id")
        return _bounded(order_from_dict(body["order"]))
    order_id = body.get("order_id")
    if order_id is not None:
        stored = referenced(uow.orders, str(order_id), "order_id")
        if stored.patient_id != patient_id:
            raise InvalidCourseOrder("order_id is another patient's order", field="order_id")
        return clinical.course_order(uow, stored)
    active = [o for o in uow.orders.list_for_patient(patient_id) if o.active]
    if len(active) != 1:
        raise InvalidCourseOrder(
            f"the patient has {len(active)} active orders: give order or order_id",
            field="order",
        )
    return clinical.course_order(uow, active[0])
