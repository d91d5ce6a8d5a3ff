"""What a patient's stored clinical entries mean: the record the gates read, the courses the
patient page shows, and the dose-history inputs of ``planning.dose_history``.

Projections only: they read records passed in and never a unit of work, so the use cases in
``clinical_records`` decide what to read and these decide what it means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from msinfusion.application.ledger_rules import programme_form
from msinfusion.application.records import (
    Appointment,
    AppointmentStatus,
    ClinicalEntry,
    ClinicalEntryKind,
    Role,
    SessionSummary,
    TherapyOrder,
)
from msinfusion.planning.course_check import CourseCheck
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.dose_history import BookedDose, RecordedDose, StartedInfusion
from msinfusion.planning.gates import GateStage, blocking
from msinfusion.planning.monitoring_calendar import SlotStatus
from msinfusion.planning.patient_record import PatientRecord, patient_record_from_dict

PROFILE_FIELDS = frozenset(
    {
        "can_become_pregnant",
        "prior_immunosuppressant",
        "vaccination_history_reviewed",
        "relapse_onset",
    }
)
RECORD_KEYS = {
    ClinicalEntryKind.LAB: "labs",
    ClinicalEntryKind.VACCINATION: "vaccinations",
    ClinicalEntryKind.FINDING: "findings",
    ClinicalEntryKind.OVERRIDE: "overrides",
}
"""The list of the ``course check`` file's patient record that holds each kind of item."""

DayOf = Callable[[datetime], date]
"""The centre's clinic day of a moment (``ClinicalRecords.local_day``)."""


COSIGN_ROLES = "cosign_roles"
"""The key of a retraction's data that makes it wait for a co-signature: the roles that may
co-sign it (the author's role, or a physician). A retraction without it takes effect at once."""
COSIGNS = "cosigns"
"""The key of a co-signature's data: the id of the pending retraction it signs."""


def is_retraction(entry: ClinicalEntry) -> bool:
    return entry.kind is ClinicalEntryKind.RETRACTION


def retracted_ids(entries: Iterable[ClinicalEntry]) -> frozenset[str]:
    """The ids of entries retracted as made in error (no decision reads them).

    A retraction waiting for its co-signature retracts nothing yet: the entry it names counts
    until a co-signer signs (the co-signature is itself a retraction of the same entry, by a
    user whose role needs no co-signature)."""
    return frozenset(
        str(e.data["entry_id"]) for e in entries if is_retraction(e) and COSIGN_ROLES not in e.data
    )


def cosigner_roles(author_role: Role | None) -> frozenset[Role]:
    """Who may co-sign the retraction of an entry whose author had ``author_role``: a user of
    that role, or a physician (an unknown author, e.g. a data import: a physician only)."""
    return frozenset({Role.PHYSICIAN} if author_role is None else {author_role, Role.PHYSICIAN})


def needs_cosignature(retracting: Role, author_role: Role | None) -> bool:
    """Whether a retraction by ``retracting`` of an entry by ``author_role`` waits for a
    co-signature: it does unless the retracting user is of the author's role or a physician.

    >>> needs_cosignature(Role.NURSE, Role.PHYSICIAN), needs_cosignature(Role.PHYSICIAN, Role.NURSE)
    (True, False)
    >>> needs_cosignature(Role.NURSE, Role.NURSE), needs_cosignature(Role.NURSE, None)
    (False, True)
    """
    return retracting not in cosigner_roles(author_role)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cosignature:
    """Where a retraction stands that needed a co-signature: ``signature`` is the co-signing
    entry (None while the retraction is pending and takes no effect)."""

    retraction: ClinicalEntry
    roles: tuple[str, ...]
    signature: ClinicalEntry | None

    @property
    def pending(self) -> bool:
        return self.signature is None


def cosignatures(entries: Iterable[ClinicalEntry]) -> dict[str, Cosignature]:
    """Retraction id -> its co-signature state, for every retraction that needed one."""
    listed = list(entries)
    signed = {str(e.data[COSIGNS]): e for e in listed if is_retraction(e) and COSIGNS in e.data}
    return {
        e.id: Cosignature(
            retraction=e,
            roles=tuple(str(r) for r in e.data[COSIGN_ROLES]),
            signature=signed.get(e.id),
        )
        for e in listed
        if is_retraction(e) and COSIGN_ROLES in e.data
    }


def pending_retractions(entries: Iterable[ClinicalEntry]) -> dict[str, ClinicalEntry]:
    """Entry id -> the retraction of it that waits for a co-signature (the entry still counts)."""
    return {
        str(c.retraction.data["entry_id"]): c.retraction
        for c in cosignatures(entries).values()
        if c.pending
    }


def stored_record(
    entries: list[ClinicalEntry], patient_id: str, *, sex: str | None = None
) -> PatientRecord:
    """The patient record the gates read: every entry not retracted; a profile answer is the
    one of the latest clinical date (then the latest recorded). ``sex`` is the registered one
    (sex-specific monitoring such as cervical screening reads it)."""
    retracted = retracted_ids(entries)
    live = [e for e in entries if e.id not in retracted]
    raw: dict[str, Any] = {"id": patient_id, **{key: [] for key in RECORD_KEYS.values()}}
    if sex is not None:
        raw["sex"] = sex
    for entry in live:
        if entry.kind in RECORD_KEYS:
            raw[RECORD_KEYS[entry.kind]].append(dict(entry.data))
        elif entry.kind is ClinicalEntryKind.PROGRAMME_FORM:
            raw["findings"].extend(form_findings(entry))
    profiles = [e for e in live if e.kind is ClinicalEntryKind.PROFILE]
    for entry in sorted(profiles, key=lambda e: (e.on, e.recorded_at, e.id)):
        raw.update({k: v for k, v in entry.data.items() if k in PROFILE_FIELDS})
    return patient_record_from_dict(raw)


def form_findings(entry: ClinicalEntry) -> list[dict[str, Any]]:
    """The findings a programme form's answers record for the gates (a question's
    ``finding``), dated the visit: the TOUCH checklist's step 1 is ``touch_authorized``."""
    form = programme_form(str(entry.data.get("form")))
    answers = entry.data.get("answers") or {}
    if form is None:
        return []
    return [
        {"name": q.finding, "on": entry.on.isoformat(), "present": answers[q.id]}
        for q in form.questions
        if q.finding is not None and isinstance(answers.get(q.id), bool)
    ]


def course_order(order: TherapyOrder, given: tuple[GivenDose, ...]) -> CourseOrder:
    """The planning core's order of a stored order, with its dose history."""
    return CourseOrder.create(
        therapy_id=order.therapy_id,
        start=order.start_date,
        options=dict(order.options),
        given=given,
    )


def order_for_dose(
    orders: Iterable[TherapyOrder], therapy_id: str, on: date
) -> TherapyOrder | None:
    """The course a dose without a named order belongs to: the active order for its therapy
    started latest on or before ``on`` (then the highest id)."""
    candidates = [
        o for o in orders if o.therapy_id == therapy_id and o.active and o.start_date <= on
    ]
    return max(candidates, key=lambda o: (o.start_date, o.id)) if candidates else None


def started_infusions(summaries: Iterable[SessionSummary], day_of: DayOf) -> list[StartedInfusion]:
    """The sessions whose infusion started, in the order given (session id order from storage)."""
    return [
        StartedInfusion(
            session_id=s.session_id,
            protocol_id=s.protocol_id,
            dose_number=s.dose_number,
            on=day_of(s.infusion_started_at),
        )
        for s in summaries
        if s.infusion_started_at is not None
        and s.protocol_id is not None
        and s.dose_number is not None
    ]


def recorded_doses(
    entries: list[ClinicalEntry], therapy_of_order: Callable[[str], str]
) -> list[RecordedDose]:
    """Doses recorded as given elsewhere and not retracted, in recording order."""
    retracted = retracted_ids(entries)
    found: list[RecordedDose] = []
    for entry in entries:
        if entry.kind is not ClinicalEntryKind.GIVEN_DOSE or entry.id in retracted:
            continue
        mg = entry.data.get("mg_per_m2")
        found.append(
            RecordedDose(
                therapy_id=therapy_of_order(str(entry.data["order_id"])),
                dose_number=int(entry.data["dose_number"]),
                on=entry.on,
                mg_per_m2=None if mg is None else float(mg),
            )
        )
    return found


def booked_doses(appointments: Iterable[Appointment], day_of: DayOf) -> list[BookedDose]:
    """A patient's bookings by appointment id: of two live bookings of one dose number, the
    first by id counts (as it always has)."""
    return [
        BookedDose(
            protocol_id=a.protocol_id,
            dose_number=a.dose_number,
            on=day_of(a.starts_at),
            live=a.status not in (AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED),
        )
        for a in sorted(appointments, key=lambda a: a.id)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientFile:
    """Everything a patient's course overview reads, read once: the patient's sex, clinical
    entries (recording order), orders (id order) and sessions. ``key`` is equal for two files
    exactly when the overview computed from them on one day is the same (entries are
    append-only, so their ids stand for them)."""

    patient_id: str
    sex: str | None
    entries: tuple[ClinicalEntry, ...]
    orders: tuple[TherapyOrder, ...]
    sessions: tuple[SessionSummary, ...]

    @property
    def key(self) -> tuple[object, ...]:
        return (
            self.sex,
            tuple(e.id for e in self.entries),
            self.orders,
            tuple(
                (s.session_id, s.protocol_id, s.dose_number, s.infusion_started_at)
                for s in self.sessions
            ),
        )


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
    cosignatures: Mapping[str, Cosignature]
    """Retraction id -> its co-signature state (only retractions that needed one)."""
    courses: tuple[OrderCourse, ...]
    problems: tuple[str, ...]
    """Orders whose course could not be checked (e.g. an inconsistent dose history), why."""
    stopped: tuple[OrderCourse, ...] = ()
    """Discontinued orders' follow-up (``check_stopped_course``), when asked for (worklist)."""

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
