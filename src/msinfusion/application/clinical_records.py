"""A patient's stored clinical record between infusions, and the gate decisions read from it.

Entries (``ClinicalEntry``) are append-only: labs, vaccinations, findings, gate overrides,
profile answers, doses given elsewhere and retractions of entries made in error. Each item has
the JSON shape of the ``course check`` file (docs/clinical/courses.md) and is validated by the
same parser (``patient_record_from_dict``), so a stored record and a check file mean the same.

``dose_gates`` is the one place that decides whether a dose may be booked or started: booking
refuses a failed mandatory gate (``GateStage.BOOKING``), starting the infusion refuses a failed
or missing one (``GateStage.START``); both refuse a dose before the label's minimum interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

from msinfusion.application.audit import Actor, Gate, Subject
from msinfusion.application.permissions import Action, require
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import (
    AppointmentStatus,
    ClinicalEntry,
    ClinicalEntryKind,
    TherapyOrder,
)
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidCommand, InvalidCourseOrder, RecordNotFound
from msinfusion.planning.course_check import (
    CourseCheck,
    DoseGates,
    check_course,
    gates_for_dose,
    gates_without_order,
)
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.gate_rules import OUTCOME_OVERRIDABLE_GATE_IDS, OVERRIDABLE_GATE_IDS
from msinfusion.planning.gates import GateStage, blocking
from msinfusion.planning.monitoring_calendar import SlotStatus
from msinfusion.planning.patient_record import (
    FINDINGS,
    LAB_TESTS,
    PatientRecord,
    patient_record_from_dict,
)

PROFILE_FIELDS = frozenset(
    {
        "can_become_pregnant",
        "prior_immunosuppressant",
        "vaccination_history_reviewed",
        "relapse_onset",
    }
)
MAX_TEXT = 500
"""Longest free text an entry keeps (a justification, a reason, an assay or vaccine name)."""

_RECORD_KEYS = {
    ClinicalEntryKind.LAB: "labs",
    ClinicalEntryKind.VACCINATION: "vaccinations",
    ClinicalEntryKind.FINDING: "findings",
    ClinicalEntryKind.OVERRIDE: "overrides",
}
_ITEM_FIELDS = {
    ClinicalEntryKind.LAB: frozenset({"test", "on", "value", "positive", "abnormal", "assay"}),
    ClinicalEntryKind.VACCINATION: frozenset({"on", "live", "name"}),
    ClinicalEntryKind.FINDING: frozenset({"name", "on", "present"}),
    ClinicalEntryKind.OVERRIDE: frozenset({"gate_id", "on", "justification"}),
    ClinicalEntryKind.PROFILE: PROFILE_FIELDS | {"on"},
    ClinicalEntryKind.GIVEN_DOSE: frozenset({"order_id", "dose_number", "on", "mg_per_m2"}),
    ClinicalEntryKind.RETRACTION: frozenset({"entry_id", "on", "reason"}),
}
OVERRIDABLE = frozenset(OVERRIDABLE_GATE_IDS) | frozenset(OUTCOME_OVERRIDABLE_GATE_IDS)
"""Gates a physician may override when they fail: the gate's own rule, plus the two whose
outcome decides (US non-live vaccination timing; the LVEF 10-point prompt). ``evaluate_gates``
still ignores an override of an outcome the label does not let the prescriber overrule."""


def _kind(raw: str) -> ClinicalEntryKind:
    try:
        return ClinicalEntryKind(raw)
    except ValueError:
        known = ", ".join(k.value for k in ClinicalEntryKind)
        raise InvalidCommand(f"kind must be one of {known}", field="kind") from None


def _text(item: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidCommand(
            f"{name} must be non-empty text of at most {MAX_TEXT} characters", field=name
        )
    return value.strip()


def _day(item: Mapping[str, Any], name: str = "on") -> date:
    try:
        return date.fromisoformat(str(item.get(name)))
    except ValueError:
        raise InvalidCommand(f"{name} must be an ISO date (YYYY-MM-DD)", field=name) from None


def _as_record_item(kind: ClinicalEntryKind, item: Mapping[str, Any]) -> None:
    """Validate ``item`` with the check-file parser (a stored record means what a file means)."""
    key = _RECORD_KEYS[kind]
    try:
        patient_record_from_dict({"id": "validation", key: [dict(item)]})
    except InvalidCourseOrder as error:
        field = (error.field or "item").split(".")[-1]
        raise InvalidCommand(error.message.split(": ", 1)[-1], field=field) from None


def _unknown_fields(kind: ClinicalEntryKind, item: Mapping[str, Any]) -> None:
    unknown = sorted(set(item) - _ITEM_FIELDS[kind])
    if unknown:
        raise InvalidCommand(
            f"unknown field(s) for {kind.value}: {', '.join(unknown)}", field=unknown[0]
        )


def _one_of(item: Mapping[str, Any], name: str, known: frozenset[str]) -> None:
    if item.get(name) not in known:
        raise InvalidCommand(f"{name} must be one of {', '.join(sorted(known))}", field=name)


def _yes_no(item: Mapping[str, Any], name: str) -> None:
    if not isinstance(item.get(name), bool):
        raise InvalidCommand(f"{name} must be true or false", field=name)


def _lab(item: Mapping[str, Any], data: dict[str, Any], actor: Actor) -> None:
    del actor
    _one_of(item, "test", LAB_TESTS)
    if all(item.get(name) is None for name in ("value", "positive", "abnormal")):
        raise InvalidCommand("a result needs a value, positive or abnormal", field="value")
    if isinstance(item.get("value"), bool):
        raise InvalidCommand("value must be a number", field="value")
    if item.get("assay") is not None:
        data["assay"] = _text(item, "assay", required=True)


def _finding(item: Mapping[str, Any], data: dict[str, Any], actor: Actor) -> None:
    del data, actor
    _one_of(item, "name", FINDINGS)
    _yes_no(item, "present")


def _vaccination(item: Mapping[str, Any], data: dict[str, Any], actor: Actor) -> None:
    del actor
    _yes_no(item, "live")
    data["name"] = _text(item, "name", required=True)


def _override(item: Mapping[str, Any], data: dict[str, Any], actor: Actor) -> None:
    if item.get("gate_id") not in OVERRIDABLE:
        raise InvalidCommand(
            "gate_id must name a gate the label lets a physician override: "
            + ", ".join(sorted(OVERRIDABLE)),
            field="gate_id",
        )
    data["justification"] = _text(item, "justification", required=True)
    data["physician_id"] = actor.user_id


_ITEM_CHECKS: dict[
    ClinicalEntryKind, Callable[[Mapping[str, Any], dict[str, Any], Actor], None]
] = {
    ClinicalEntryKind.LAB: _lab,
    ClinicalEntryKind.FINDING: _finding,
    ClinicalEntryKind.VACCINATION: _vaccination,
    ClinicalEntryKind.OVERRIDE: _override,
}


def _checked_item(
    kind: ClinicalEntryKind, item: Mapping[str, Any], actor: Actor, today: date
) -> tuple[date, dict[str, Any]]:
    """A lab, vaccination, finding or override, checked and in its stored form; ``today`` is
    the centre's day (an override may be recorded ahead for a booked dose date)."""
    _unknown_fields(kind, item)
    on = _day(item)
    if on > today and kind is not ClinicalEntryKind.OVERRIDE:
        raise InvalidCommand("on is in the future: record results once they exist", field="on")
    data: dict[str, Any] = {**item, "on": on.isoformat()}
    _ITEM_CHECKS[kind](item, data, actor)
    _as_record_item(kind, data)
    return on, data


def _profile(item: Mapping[str, Any]) -> dict[str, Any]:
    answers = {k: v for k, v in item.items() if k != "on"}
    if not answers:
        raise InvalidCommand(
            f"a profile entry needs one of {', '.join(sorted(PROFILE_FIELDS))}", field="profile"
        )
    for name, value in answers.items():
        if name == "relapse_onset":
            if value is not None:
                _day(answers, "relapse_onset")
        elif value is not None and not isinstance(value, bool):
            raise InvalidCommand(f"{name} must be true, false or null", field=name)
    return answers


def retracted_ids(entries: Iterable[ClinicalEntry]) -> frozenset[str]:
    """The ids of entries retracted as made in error (no decision reads them)."""
    return frozenset(
        str(e.data["entry_id"]) for e in entries if e.kind is ClinicalEntryKind.RETRACTION
    )


def stored_record(entries: list[ClinicalEntry], patient_id: str) -> PatientRecord:
    """The patient record the gates read: every entry not retracted; a profile answer is the
    one of the latest clinical date (then the latest recorded)."""
    retracted = retracted_ids(entries)
    live = [e for e in entries if e.id not in retracted]
    raw: dict[str, Any] = {"id": patient_id, **{key: [] for key in _RECORD_KEYS.values()}}
    for entry in live:
        if entry.kind in _RECORD_KEYS:
            raw[_RECORD_KEYS[entry.kind]].append(dict(entry.data))
    profiles = [e for e in live if e.kind is ClinicalEntryKind.PROFILE]
    for entry in sorted(profiles, key=lambda e: (e.on, e.recorded_at, e.id)):
        raw.update({k: v for k, v in entry.data.items() if k in PROFILE_FIELDS})
    return patient_record_from_dict(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCourse:
    """One active order's course check as of a day (calendar, next dose's gates, risks)."""

    order: TherapyOrder
    check: CourseCheck


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientCourses:
    """Everything the patient page shows between infusions."""

    patient_id: str
    as_of: date
    entries: tuple[ClinicalEntry, ...]
    retracted_ids: frozenset[str]
    courses: tuple[OrderCourse, ...]
    problems: tuple[str, ...]
    """Orders whose course could not be checked (e.g. an inconsistent dose history), why."""

    @property
    def flags(self) -> tuple[str, ...]:
        """What needs attention, one line each: overdue or abnormal monitoring; a failed gate of
        the next dose; a result still missing for a next dose that may be given today."""
        lines: list[str] = []
        for course in self.courses:
            therapy, check = course.order.therapy_id, course.check
            for slot in check.monitoring:
                if slot.status is SlotStatus.OVERDUE:
                    lines.append(f"{therapy}: {slot.title} overdue since {slot.due}")
                if slot.abnormal:
                    lines.append(f"{therapy}: {slot.title} abnormal")
            failed = [g.gate_id for g in blocking(check.gates, GateStage.BOOKING)]
            if failed:
                lines.append(f"{therapy}: next dose blocked by {', '.join(failed)}")
            dose = check.calendar.next_dose()
            if dose is not None and check.next_dose_due_now:
                missing = [
                    g.gate_id
                    for g in blocking(check.gates, GateStage.START)
                    if g.gate_id not in failed
                ]
                if missing:
                    lines.append(f"{therapy}: dose {dose.dose_number} needs {', '.join(missing)}")
        return (*lines, *self.problems)


class ClinicalRecords:
    """Record and read a patient's clinical entries; decide the gates of a dose."""

    def __init__(
        self,
        gate: Gate,
        catalog: Catalog,
        *,
        new_id: Callable[[str], str],
        centre_tz: tzinfo,
    ) -> None:
        self._gate = gate
        self._catalog = catalog
        self._new_id = new_id
        self._tz = centre_tz

    def local_day(self, moment: datetime) -> date:
        """The centre's calendar day of ``moment``: gate dates are clinic days, not UTC days."""
        return moment.astimezone(self._tz).date()

    # -- writing -----------------------------------------------------------------------------

    def record(
        self, actor: Actor, patient_id: str, kind: str, item: Mapping[str, Any]
    ) -> ClinicalEntry:
        """Store one entry; an override needs ``override_gate`` and is in the actor's name."""
        entry_kind = _kind(kind)
        action = (
            Action.OVERRIDE_GATE
            if entry_kind is ClinicalEntryKind.OVERRIDE
            else Action.RECORD_CLINICAL
        )
        subject = Subject(
            verb=f"clinical.{entry_kind.value}", resource_type="patient", resource_id=patient_id
        )
        entry_id = self._new_id("entry")

        def work(uow: UnitOfWork) -> ClinicalEntry:
            uow.patients.get(patient_id)
            on, data = self._validated(uow, actor, patient_id, entry_kind, item)
            entry = ClinicalEntry(
                id=entry_id,
                patient_id=patient_id,
                kind=entry_kind,
                on=on,
                data=data,
                recorded_at=actor.at,
                recorded_by=actor.user_id,
            )
            uow.clinical_entries.add(entry)
            return entry

        return self._gate.run(actor, action, subject, work)

    def _validated(
        self,
        uow: UnitOfWork,
        actor: Actor,
        patient_id: str,
        kind: ClinicalEntryKind,
        item: Mapping[str, Any],
    ) -> tuple[date, dict[str, Any]]:
        if not isinstance(item, Mapping):
            raise InvalidCommand("item must be an object", field="item")
        if kind is ClinicalEntryKind.PROFILE:
            unknown = sorted(set(item) - _ITEM_FIELDS[kind])
            if unknown:
                raise InvalidCommand(
                    f"unknown profile field(s): {', '.join(unknown)}", field=unknown[0]
                )
            today = self.local_day(actor.at)
            on = _day({"on": item.get("on", today.isoformat())})
            if on > today:
                raise InvalidCommand("on is in the future: record answers as given", field="on")
            return on, _profile(item)
        if kind is ClinicalEntryKind.GIVEN_DOSE:
            return self._given_dose(uow, actor, patient_id, item)
        if kind is ClinicalEntryKind.RETRACTION:
            return self._retraction(uow, actor, patient_id, item)
        return _checked_item(kind, item, actor, self.local_day(actor.at))

    def _given_dose(
        self, uow: UnitOfWork, actor: Actor, patient_id: str, item: Mapping[str, Any]
    ) -> tuple[date, dict[str, Any]]:
        _unknown_fields(ClinicalEntryKind.GIVEN_DOSE, item)
        try:
            order = uow.orders.get(str(item.get("order_id")))
        except RecordNotFound:
            raise InvalidCommand("order_id names no known order", field="order_id") from None
        if order.patient_id != patient_id:
            raise InvalidCommand("order_id is another patient's order", field="order_id")
        number = item.get("dose_number")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 200:
            raise InvalidCommand("dose_number must be a whole number from 1", field="dose_number")
        on = _day(item)
        if on > self.local_day(actor.at):
            raise InvalidCommand("on is in the future: record a dose once given", field="on")
        mg = item.get("mg_per_m2")
        if mg is not None and (isinstance(mg, bool) or not isinstance(mg, int | float) or mg <= 0):
            raise InvalidCommand("mg_per_m2 must be a positive number", field="mg_per_m2")
        data = {"order_id": order.id, "dose_number": number, "on": on.isoformat()}
        if mg is not None:
            data["mg_per_m2"] = mg
        given = (*self._given(uow, order, dose_before=None), GivenDose(dose_number=number, on=on))
        try:  # the calendar's rules for a dose history (DoseTooEarly passes through)
            plan_course(_course_order(order, given), as_of=on)
        except InvalidCourseOrder as error:
            raise InvalidCommand(error.message, field="dose_number") from None
        return on, data

    def _retraction(
        self, uow: UnitOfWork, actor: Actor, patient_id: str, item: Mapping[str, Any]
    ) -> tuple[date, dict[str, Any]]:
        _unknown_fields(ClinicalEntryKind.RETRACTION, item)
        entries = uow.clinical_entries.list_for_patient(patient_id)
        target = next((e for e in entries if e.id == item.get("entry_id")), None)
        if target is None:
            raise InvalidCommand("entry_id names none of this patient's entries", field="entry_id")
        if target.kind is ClinicalEntryKind.RETRACTION:
            raise InvalidCommand("a retraction cannot be retracted", field="entry_id")
        if target.id in retracted_ids(entries):
            raise InvalidCommand("that entry is already retracted", field="entry_id")
        if target.kind is ClinicalEntryKind.OVERRIDE:
            require(actor.role, Action.OVERRIDE_GATE)
        reason = _text(item, "reason", required=True)
        on = self.local_day(actor.at)
        return on, {"entry_id": target.id, "reason": reason}

    # -- reading -----------------------------------------------------------------------------

    def list_entries(self, actor: Actor, patient_id: str) -> list[ClinicalEntry]:
        subject = Subject(verb="clinical.read", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> list[ClinicalEntry]:
            uow.patients.get(patient_id)
            return uow.clinical_entries.list_for_patient(patient_id)

        return self._gate.run(actor, Action.READ_COURSE, subject, work)

    def courses(
        self, actor: Actor, patient_id: str, *, as_of: date | None = None
    ) -> PatientCourses:
        """Every active order's course as of ``as_of`` (default: today at the centre)."""
        subject = Subject(verb="course.overview", resource_type="patient", resource_id=patient_id)
        day = as_of or self.local_day(actor.at)

        def work(uow: UnitOfWork) -> PatientCourses:
            return self.courses_in(uow, patient_id, day)

        return self._gate.run(actor, Action.READ_COURSE, subject, work)

    def flags(
        self, actor: Actor, patient_ids: list[str], *, as_of: date | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Overdue or abnormal monitoring and blocked next doses per patient (for the board);
        patients with nothing to flag are left out."""
        subject = Subject(verb="course.flags", resource_type="patient")
        day = as_of or self.local_day(actor.at)

        def work(uow: UnitOfWork) -> dict[str, tuple[str, ...]]:
            found = {
                pid: self.courses_in(uow, pid, day).flags for pid in dict.fromkeys(patient_ids)
            }
            return {pid: lines for pid, lines in found.items() if lines}

        return self._gate.run(actor, Action.READ_COURSE, subject, work)

    def courses_in(self, uow: UnitOfWork, patient_id: str, day: date) -> PatientCourses:
        """``courses`` inside a caller's unit of work (the board reads many patients at once)."""
        uow.patients.get(patient_id)
        entries = uow.clinical_entries.list_for_patient(patient_id)
        record = stored_record(entries, patient_id)
        courses: list[OrderCourse] = []
        problems: list[str] = []
        for order in uow.orders.list():
            if order.patient_id != patient_id or not order.active:
                continue
            try:
                given = self._given(uow, order, dose_before=None)
                check = check_course(_course_order(order, given), record, as_of=day)
            except (InvalidCourseOrder, ArithmeticError) as error:
                problems.append(f"{order.therapy_id} order {order.id}: {error}")
                continue
            courses.append(OrderCourse(order=order, check=check))
        retracted = retracted_ids(entries)
        return PatientCourses(
            patient_id=patient_id,
            as_of=day,
            entries=tuple(entries),
            retracted_ids=retracted,
            courses=tuple(courses),
            problems=tuple(problems),
        )

    def stored_record_in(self, uow: UnitOfWork, patient_id: str) -> PatientRecord:
        return stored_record(uow.clinical_entries.list_for_patient(patient_id), patient_id)

    def course_order(self, uow: UnitOfWork, order: TherapyOrder) -> CourseOrder:
        """The planning core's order of a stored order, with the doses given so far."""
        return _course_order(order, self._given(uow, order, dose_before=None))

    # -- deciding a dose ---------------------------------------------------------------------

    def dose_gates(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        protocol_id: str,
        dose_number: int,
        on: date,
        order_id: str | None,
        booked_count: bool,
        course_day: int | None = None,
        excluding_session_id: str | None = None,
    ) -> DoseGates:
        """The gates of a dose booked or started on ``on``.

        The course is the named order, else the patient's active order for the protocol's
        therapy (the latest started on or before ``on``). ``booked_count``: at booking, doses
        of the course already booked before this one count as given on their booked dates, so
        day 1 and day 15 can be booked together; at the start only doses given count, not
        the session starting (``excluding_session_id``).
        """
        therapy_id = self._catalog.get_protocol(protocol_id).therapy_id
        record = stored_record(uow.clinical_entries.list_for_patient(patient_id), patient_id)
        order = self._order_for(uow, patient_id, therapy_id, order_id, on)
        if order is None:
            history = self._given_for_therapy(
                uow, patient_id, therapy_id, since=None, excluding=excluding_session_id
            )
            earlier = [g.on for g in history if g.on < on]
            return gates_without_order(
                therapy_id,
                record,
                dose_number=dose_number,
                on=on,
                previous_dose_on=max(earlier) if earlier else None,
                course_start=dose_number == 1 or course_day == 1,
            )
        given = self._given(
            uow,
            order,
            dose_before=dose_number if booked_count else None,
            excluding=excluding_session_id,
        )
        return gates_for_dose(_course_order(order, given), record, dose_number=dose_number, on=on)

    def _order_for(
        self,
        uow: UnitOfWork,
        patient_id: str,
        therapy_id: str,
        order_id: str | None,
        on: date,
    ) -> TherapyOrder | None:
        if order_id is not None:
            return uow.orders.get(order_id)
        candidates = [
            o
            for o in uow.orders.list()
            if o.patient_id == patient_id
            and o.therapy_id == therapy_id
            and o.active
            and o.start_date <= on
        ]
        return max(candidates, key=lambda o: (o.start_date, o.id)) if candidates else None

    def _given(
        self,
        uow: UnitOfWork,
        order: TherapyOrder,
        *,
        dose_before: int | None,
        excluding: str | None = None,
    ) -> tuple[GivenDose, ...]:
        """Doses of ``order``'s course given (sessions started, doses recorded as given
        elsewhere); with ``dose_before``, also live bookings of earlier dose numbers."""
        given = {
            g.dose_number: g
            for g in self._given_for_therapy(
                uow, order.patient_id, order.therapy_id, since=order.start_date, excluding=excluding
            )
        }
        if dose_before is not None:
            for appointment in uow.appointments.list():
                if (
                    appointment.patient_id == order.patient_id
                    and appointment.dose_number < dose_before
                    and appointment.dose_number not in given
                    and appointment.status
                    not in (AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED)
                    and self._catalog.get_protocol(appointment.protocol_id).therapy_id
                    == order.therapy_id
                    and self.local_day(appointment.starts_at) >= order.start_date
                ):
                    given[appointment.dose_number] = GivenDose(
                        dose_number=appointment.dose_number,
                        on=self.local_day(appointment.starts_at),
                    )
        return tuple(given[n] for n in sorted(given))

    def _given_for_therapy(
        self,
        uow: UnitOfWork,
        patient_id: str,
        therapy_id: str,
        *,
        since: date | None,
        excluding: str | None = None,
    ) -> list[GivenDose]:
        """Doses whose infusion started in a session, then doses recorded as given elsewhere."""
        found: dict[int, GivenDose] = {}
        for summary in uow.sessions.list():
            if (
                summary.patient_id != patient_id
                or summary.session_id == excluding
                or summary.infusion_started_at is None
                or summary.protocol_id is None
                or summary.dose_number is None
                or self._catalog.get_protocol(summary.protocol_id).therapy_id != therapy_id
            ):
                continue
            day = self.local_day(summary.infusion_started_at)
            if since is None or day >= since:
                found.setdefault(
                    summary.dose_number, GivenDose(dose_number=summary.dose_number, on=day)
                )
        entries = uow.clinical_entries.list_for_patient(patient_id)
        retracted = retracted_ids(entries)
        for entry in entries:
            if entry.kind is not ClinicalEntryKind.GIVEN_DOSE or entry.id in retracted:
                continue
            order = uow.orders.get(str(entry.data["order_id"]))
            if order.therapy_id != therapy_id or (since is not None and entry.on < since):
                continue
            mg = entry.data.get("mg_per_m2")
            found.setdefault(
                int(entry.data["dose_number"]),
                GivenDose(
                    dose_number=int(entry.data["dose_number"]),
                    on=entry.on,
                    mg_per_m2=None if mg is None else float(mg),
                ),
            )
        return sorted(found.values(), key=lambda g: g.dose_number)


def _course_order(order: TherapyOrder, given: tuple[GivenDose, ...]) -> CourseOrder:
    return replace(
        CourseOrder.create(
            therapy_id=order.therapy_id, start=order.start_date, options=dict(order.options)
        ),
        given=given,
    )
