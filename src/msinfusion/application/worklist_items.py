"""The centre worklist's items: what each active patient needs next, read from their courses.

A projection only, like ``clinical_record_view``: it reads a patient's course checks
(``PatientCourses``: calendar, gates of the next dose, monitoring slots) and bookings, and
says which actions are open. Nothing here is a new clinical rule: every due date is a slot of
the cited monitoring calendars (``planning.monitoring_calendar``, ``lymphocyte_monitoring``) or
a dose of the cited course calendar, and every gate is a ``planning.gate_rules`` gate, so each
item carries the sources of the rule it comes from (docs/clinical/worklist-and-ledger.md).

Kinds: ``lab`` and ``mri`` (a monitoring slot open now or due in the window), ``reauthorisation``
(the natalizumab TOUCH assessment and re-authorisation slots, US), ``gate`` (a gate missing or
failed for the next dose), ``dose`` (the next dose is due in the window and not booked),
``abnormal`` (an abnormal result nobody has reviewed: closed by a documented reason).

A slot can be filled only while its window is open (``record_results``: until the next slot's
due date); a slot whose window has closed unfilled is *missed*: it is counted on the item that
follows, not listed as an action of its own (a past month's blood test can no longer be taken).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from operator import attrgetter

from msinfusion.application.clinical_record_view import OrderCourse, PatientCourses, booked_doses
from msinfusion.application.ledger import LedgerStatus, ledger_rows
from msinfusion.application.ledger_rules import Evidence, ledger_requirements
from msinfusion.application.records import Appointment, ClinicalEntry
from msinfusion.application.worklist_records import ItemState
from msinfusion.planning.dose_history import BookedDose
from msinfusion.planning.gates import GateStage, GateStatus, blocking
from msinfusion.planning.monitoring_calendar import MonitoringSlot, SlotStatus


class WorkKind(enum.Enum):
    LAB = "lab"
    MRI = "mri"
    REAUTHORISATION = "reauthorisation"
    GATE = "gate"
    DOSE = "dose"
    ABNORMAL = "abnormal"
    FOLLOW_UP = "follow-up"
    """A programme report due after a course was discontinued (TOUCH-07)."""


class WorkStatus(enum.Enum):
    OVERDUE = "overdue"
    DUE = "due"
    UPCOMING = "upcoming"
    UNREVIEWED = "unreviewed"


REAUTHORISATION_TESTS = frozenset({"rems_assessment"})
"""Monitoring tests that are a programme's re-authorisation (TOUCH-05/06, US)."""
IMAGING_TESTS = frozenset({"mri_brain", "mri_brain_abbreviated"})


@dataclass(frozen=True, slots=True, kw_only=True)
class WorklistItem:
    """One open action for one patient; ``id`` is stable within the patient (decisions name it).

    ``due`` is the slot's or the dose's due date (an abnormal result: its date); ``source`` the
    first citation of the rule it comes from, ``sources`` all of them; ``test`` the result that
    closes a lab item (recorded through the clinical record)."""

    id: str
    patient_id: str
    patient_name: str
    therapy_id: str
    order_id: str
    kind: WorkKind
    title: str
    due: date
    status: WorkStatus
    source: str
    sources: tuple[str, ...]
    verified: bool
    detail: str = ""
    test: str | None = None
    owner: str | None = None
    missed: int = 0
    """Earlier slots of the same test whose window closed without a result."""
    fillable: bool = True
    """Whether recording ``test`` today closes the item (False: its window has closed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorklistFilter:
    """What to list: items due on or before ``due_before`` (overdue ones always), of one
    therapy, of one owner (``owner=""``: unassigned only)."""

    as_of: date
    due_before: date
    therapy_id: str | None = None
    owner: str | None = None


def status_on(due: date, as_of: date) -> WorkStatus:
    """Overdue after the due date, due on it, upcoming before.

    >>> today = date(2026, 3, 2)
    >>> [status_on(date(2026, 3, d), today).value for d in (1, 2, 3)]
    ['overdue', 'due', 'upcoming']
    """
    if due < as_of:
        return WorkStatus.OVERDUE
    return WorkStatus.DUE if due == as_of else WorkStatus.UPCOMING


def _kind_of(test: str) -> WorkKind:
    if test in REAUTHORISATION_TESTS:
        return WorkKind.REAUTHORISATION
    return WorkKind.MRI if test in IMAGING_TESTS else WorkKind.LAB


def _first(sources: tuple[str, ...]) -> str:
    return sources[0] if sources else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Patient:
    id: str
    name: str


def _slot_items(
    patient: _Patient, course: OrderCourse, window: WorklistFilter
) -> list[WorklistItem]:
    """Open monitoring slots (window still open) due by ``due_before``; abnormal results."""
    by_item: dict[str, list[MonitoringSlot]] = {}
    for slot in course.check.monitoring:
        by_item.setdefault(slot.item_id, []).append(slot)
    items: list[WorklistItem] = []
    for slots in by_item.values():
        missed = 0
        for k, slot in enumerate(slots):
            if slot.abnormal and slot.result is not None:
                items.append(_abnormal(patient, course, slot))
            if slot.status is SlotStatus.DONE:
                continue
            if not _fillable(slots, k, window.as_of):
                missed += 1
                continue
            if slot.due > window.due_before and not missed:
                break
            detail = f"{missed} earlier slot(s) missed" if missed else ""
            items.append(
                _slot_item(patient, course, slot, window.as_of, detail=detail, missed=missed)
            )
            if slot.due > window.due_before:
                break
            missed = 0
        else:
            if missed:  # nothing left to fill: the last missed slot stays on the list
                last = next(s for s in reversed(slots) if s.status is not SlotStatus.DONE)
                detail = f"missed: no result in its window ({missed} slot(s)); close with a reason"
                items.append(
                    replace(
                        _slot_item(
                            patient, course, last, window.as_of, detail=detail, missed=missed
                        ),
                        fillable=False,
                    )
                )
    return items


def _fillable(slots: list[MonitoringSlot], k: int, today: date) -> bool:
    """Whether a result dated ``today`` can still fill slot ``k`` (``record_results``' windows:
    a baseline slot up to its due date, slot ``k`` before slot ``k + 1``'s due date)."""
    if slots[k].baseline:
        return today <= slots[k].due
    return k + 1 == len(slots) or today < slots[k + 1].due


def _slot_item(
    patient: _Patient,
    course: OrderCourse,
    slot: MonitoringSlot,
    as_of: date,
    *,
    detail: str,
    missed: int,
) -> WorklistItem:
    return WorklistItem(
        id=f"monitoring:{slot.item_id}:{slot.due.isoformat()}",
        patient_id=patient.id,
        patient_name=patient.name,
        therapy_id=course.order.therapy_id,
        order_id=course.order.id,
        kind=_kind_of(slot.test),
        title=slot.title,
        due=slot.due,
        status=status_on(slot.due, as_of),
        source=_first(slot.sources),
        sources=slot.sources,
        verified=slot.verified,
        detail=detail,
        test=slot.test,
        missed=missed,
    )


def _abnormal(patient: _Patient, course: OrderCourse, slot: MonitoringSlot) -> WorklistItem:
    assert slot.result is not None  # the caller checked
    on = slot.result.on
    return WorklistItem(
        id=f"abnormal:{slot.item_id}:{on.isoformat()}",
        patient_id=patient.id,
        patient_name=patient.name,
        therapy_id=course.order.therapy_id,
        order_id=course.order.id,
        kind=WorkKind.ABNORMAL,
        title=f"{slot.title}: abnormal result of {on.isoformat()} to review",
        due=on,
        status=WorkStatus.UNREVIEWED,
        source=_first(slot.sources),
        sources=slot.sources,
        verified=slot.verified,
        test=slot.test,
    )


def _is_booked(
    booked: Iterable[BookedDose],
    therapy_of: Callable[[str], str],
    *,
    course: OrderCourse,
    dose_number: int,
) -> bool:
    return any(
        b.live
        and b.dose_number == dose_number
        and b.on >= course.order.start_date
        and therapy_of(b.protocol_id) == course.order.therapy_id
        for b in booked
    )


def _dose_items(
    patient: _Patient,
    course: OrderCourse,
    window: WorklistFilter,
    *,
    booked: list[BookedDose],
    therapy_of: Callable[[str], str],
) -> list[WorklistItem]:
    """The next dose's missing or failed gates, and the dose itself when it is not booked."""
    dose = course.check.calendar.next_dose()
    if dose is None or dose.due > window.due_before:
        return []
    order, check = course.order, course.check

    def item(
        item_id: str,
        kind: WorkKind,
        title: str,
        sources: tuple[str, ...],
        *,
        verified: bool,
        detail: str,
    ) -> WorklistItem:
        return WorklistItem(
            id=item_id,
            patient_id=patient.id,
            patient_name=patient.name,
            therapy_id=order.therapy_id,
            order_id=order.id,
            kind=kind,
            title=title,
            due=dose.due,
            status=status_on(dose.due, window.as_of),
            source=_first(sources),
            sources=sources,
            verified=verified,
            detail=detail,
        )

    items = [
        item(
            f"gate:{order.id}:{dose.dose_number}:{gate.gate_id}",
            WorkKind.GATE,
            f"Dose {dose.dose_number}: {gate.title}",
            gate.sources,
            verified=gate.verified,
            detail=f"{'failed' if gate.status is GateStatus.FAIL else 'missing'}: {gate.reason}",
        )
        for gate in blocking(check.gates, GateStage.START)
    ]
    if not _is_booked(booked, therapy_of, course=course, dose_number=dose.dose_number):
        items.append(
            item(
                f"dose:{order.id}:{dose.dose_number}",
                WorkKind.DOSE,
                f"Dose {dose.dose_number} ({dose.label}) not booked",
                check.calendar.sources,
                verified=True,
                detail=f"window {dose.earliest.isoformat()} to {dose.latest.isoformat()}: "
                f"{dose.rule}",
            )
        )
    return items


def patient_items(
    courses: PatientCourses,
    *,
    patient_name: str,
    appointments: Iterable[Appointment],
    day_of: Callable[..., date],
    therapy_of: Callable[[str], str],
    states: Mapping[tuple[str, str], ItemState],
    window: WorklistFilter,
) -> list[WorklistItem]:
    """One patient's open items in the window, with their owners; resolved items left out."""
    patient = _Patient(id=courses.patient_id, name=patient_name)
    booked = booked_doses(appointments, day_of)
    found: list[WorklistItem] = []
    for course in courses.courses:
        if window.therapy_id is not None and course.order.therapy_id != window.therapy_id:
            continue
        found.extend(_slot_items(patient, course, window))
        found.extend(_dose_items(patient, course, window, booked=booked, therapy_of=therapy_of))
    for course in courses.stopped:  # discontinued: monitoring goes on, reports come due
        found.extend(_slot_items(patient, course, window))
        found.extend(_follow_up_items(patient, course, courses.entries, window))
    return in_window(found, states, window)


def _follow_up_items(
    patient: _Patient,
    course: OrderCourse,
    entries: tuple[ClinicalEntry, ...],
    window: WorklistFilter,
) -> list[WorklistItem]:
    """The after-stop reports of a discontinued course not yet on file, due by the window's end
    (ledger_rules.toml, evidence ``after-stop``: TOUCH-07 at the stop and 6 months after);
    recording the report's result (``test``) closes the item."""
    after_stop = [r for r in ledger_requirements() if r.evidence is Evidence.AFTER_STOP]
    rows = ledger_rows(
        course.order, course.check, list(entries), as_of=window.as_of, requirements=after_stop
    )
    tests = {r.id: r.tests[0] for r in after_stop}
    return [
        WorklistItem(
            id=f"follow-up:{course.order.id}:{row.rule_id}:{row.due.isoformat()}",
            patient_id=patient.id,
            patient_name=patient.name,
            therapy_id=course.order.therapy_id,
            order_id=course.order.id,
            kind=WorkKind.FOLLOW_UP,
            title=f"{row.requirement} (due {row.due.isoformat()})",
            due=row.due,
            status=status_on(row.due, window.as_of),
            source=row.source,
            sources=(row.source,),
            verified=row.verified,
            detail=f"{row.programme} {row.rule_id}: after discontinuation",
            test=tests[row.rule_id],
        )
        for row in rows
        if row.due is not None
        and row.status is not LedgerStatus.RECORDED
        and row.due <= window.due_before
    ]


_NO_DECISION = ItemState()


def in_window(
    items: Iterable[WorklistItem],
    states: Mapping[tuple[str, str], ItemState],
    window: WorklistFilter,
) -> list[WorklistItem]:
    """Of one patient's items in the window's dates, those of its therapy and owner, each
    with its owner; resolved items left out."""
    out: list[WorklistItem] = []
    for item in items:
        if window.therapy_id is not None and item.therapy_id != window.therapy_id:
            continue
        state = states.get((item.patient_id, item.id), _NO_DECISION)
        if state.resolved is not None:
            continue
        if window.owner is not None and (state.owner or "") != window.owner:
            continue
        out.append(_owned(item, state.owner))
    return out


def _owned(item: WorklistItem, owner: str | None) -> WorklistItem:
    return item if owner is None else replace(item, owner=owner)


STATUS_ORDER = {
    WorkStatus.OVERDUE: 0,
    WorkStatus.UNREVIEWED: 1,
    WorkStatus.DUE: 2,
    WorkStatus.UPCOMING: 3,
}
_IN_ORDER = tuple(sorted(STATUS_ORDER, key=STATUS_ORDER.__getitem__))


def in_worklist_order(items: Iterable[WorklistItem]) -> list[WorklistItem]:
    """Overdue first, then unreviewed results, due today, upcoming; then by date and patient.

    One bucket per status, each sorted by a C-level key (an enum's hash is Python code, and a
    key per item of 14,000 cost more than the sort)."""
    by_status: dict[int, list[WorklistItem]] = {id(status): [] for status in _IN_ORDER}
    for item in items:
        by_status[id(item.status)].append(item)  # members are singletons: id() is identity
    key = attrgetter("due", "patient_id", "id")
    return [item for status in _IN_ORDER for item in sorted(by_status[id(status)], key=key)]
