"""The centre worklist: every active patient's open actions, and who does them.

``WorklistUseCases.list`` is the typed read model (``Worklist``): one audited read of every
patient with an active order, their course checks (``ClinicalRecords.courses_in``, the same
as the patient page), bookings and the stored decisions, projected by ``worklist_items``.
``handle`` is the one command path for decisions: ``AssignWorklistItem`` and
``ResolveWorklistItem`` are validated on construction, then one transaction checks the
permission, finds the item in the patient's current worklist (an item that is not open cannot
be assigned or closed), stores the ``WorklistAction`` and writes the audit entry.

Recording a result closes a lab item without a decision: the result is a clinical entry
(``ClinicalRecords.record``, the existing use case), and the slot it fills is then done.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_record_view import PatientFile
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.permissions import Action, is_allowed
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import (
    Appointment,
    ClinicalEntry,
    OrderStatus,
    SessionSummary,
    TherapyOrder,
    User,
)
from msinfusion.application.worklist_items import (
    WorklistFilter,
    WorklistItem,
    in_window,
    in_worklist_order,
    patient_items,
)
from msinfusion.application.worklist_records import (
    WorklistAction,
    WorklistActionKind,
    item_states,
)
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidCourseOrder, RecordNotFound

DEFAULT_WINDOW = timedelta(days=28)
"""How far ahead the worklist looks when no ``due_before`` is given: a display default of the
page (four weeks), not a clinical interval; overdue items are always listed."""
MEMO_PATIENTS = 20_000
"""Patients whose open items are kept between reads (oldest dropped first): a memory bound."""
MAX_REASON_CHARS = 1000
MAX_ITEM_ID_CHARS = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignWorklistItem:
    """Give one patient's item to a person (a user id); a later assignment replaces it."""

    patient_id: str
    item_id: str
    assignee: str
    note: str | None = None

    def __post_init__(self) -> None:
        _check_item(self.item_id)
        if not self.assignee.strip():
            raise InvalidCourseOrder("assignee must name a user", field="assignee")
        if self.note is not None and len(self.note) > MAX_REASON_CHARS:
            raise InvalidCourseOrder(
                f"note must be at most {MAX_REASON_CHARS} characters", field="note"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveWorklistItem:
    """Close one patient's item with a documented reason (e.g. an abnormal result reviewed)."""

    patient_id: str
    item_id: str
    reason: str

    def __post_init__(self) -> None:
        _check_item(self.item_id)
        if not self.reason.strip():
            raise InvalidCourseOrder("reason must say why the item is closed", field="reason")
        if len(self.reason) > MAX_REASON_CHARS:
            raise InvalidCourseOrder(
                f"reason must be at most {MAX_REASON_CHARS} characters", field="reason"
            )


WorklistCommand = AssignWorklistItem | ResolveWorklistItem


def _check_item(item_id: str) -> None:
    if not item_id.strip() or len(item_id) > MAX_ITEM_ID_CHARS:
        raise InvalidCourseOrder(
            f"item_id must be a worklist item id of 1 to {MAX_ITEM_ID_CHARS} characters",
            field="item_id",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Worklist:
    """The centre's open items on ``as_of`` up to ``due_before`` (overdue first)."""

    as_of: date
    due_before: date
    therapy_id: str | None
    owner: str | None
    patients: int
    """Active patients read (with at least one active order)."""
    items: tuple[WorklistItem, ...]
    problems: tuple[str, ...]
    """Courses that could not be checked (patient id, order, why): shown, never dropped."""
    people: tuple[tuple[str, str], ...] = ()
    """(user id, name) of everyone an item may be assigned to (active, may manage the list)."""

    def name_of(self, user_id: str | None) -> str:
        """An owner's name for display ("" when unassigned; the id when not assignable)."""
        if user_id is None:
            return ""
        return dict(self.people).get(user_id, user_id)


class WorklistUseCases:
    def __init__(
        self,
        access: AuditedAccess,
        clinical: ClinicalRecords,
        catalog: Catalog,
        *,
        new_id: Callable[[str], str],
    ) -> None:
        self._access = access
        self._clinical = clinical
        self._catalog = catalog
        self._new_id = new_id
        self._memo: dict[str, tuple[object, tuple[WorklistItem, ...], tuple[str, ...]]] = {}
        self._memo_lock = threading.Lock()

    def window(
        self,
        actor: Actor,
        *,
        therapy_id: str | None = None,
        due_before: date | None = None,
        owner: str | None = None,
        as_of: date | None = None,
    ) -> WorklistFilter:
        """The filter of a request, checked: a known therapy, a due date not in the past."""
        day = as_of or self._clinical.local_day(actor.at)
        if therapy_id is not None and therapy_id not in {t.id for t in self._catalog}:
            raise InvalidCourseOrder(
                f"therapy {therapy_id!r} is not in the catalog", field="therapy"
            )
        until = due_before or day + DEFAULT_WINDOW
        if until < day:
            raise InvalidCourseOrder(
                f"due_before must be on or after today ({day.isoformat()})", field="due_before"
            )
        return WorklistFilter(as_of=day, due_before=until, therapy_id=therapy_id, owner=owner)

    def list(self, actor: Actor, window: WorklistFilter) -> Worklist:
        """Every active patient's open items in ``window`` (one audited read)."""
        subject = Subject(verb="worklist.read", resource_type="worklist")

        def work(uow: UnitOfWork) -> Worklist:
            return self._read(uow, window)

        return self._access.run(actor, Action.READ_WORKLIST, subject, work)

    def _read(self, uow: UnitOfWork, window: WorklistFilter) -> Worklist:
        """A few whole-table reads, grouped per patient; each active patient's open items come
        from the memo when their file and the day are unchanged (``_patient_items``)."""
        states = item_states(uow.worklist_actions.list())
        patients = {p.id: p for p in uow.patients.list()}
        files, appointments = _files(uow, {pid: p.sex for pid, p in patients.items()})
        names = {pid: p.display_name for pid, p in patients.items()}
        items: list[WorklistItem] = []
        problems: list[str] = []
        for patient_id, file in files.items():
            found, trouble = self._patient_items(
                file, names.get(patient_id, ""), appointments.get(patient_id, ()), window
            )
            problems.extend(f"{patient_id}: {p}" for p in trouble)
            items.extend(in_window(found, states, window))
        return Worklist(
            as_of=window.as_of,
            due_before=window.due_before,
            therapy_id=window.therapy_id,
            owner=window.owner,
            patients=sum(1 for f in files.values() if any(o.active for o in f.orders)),
            items=tuple(in_worklist_order(items)),
            problems=tuple(problems),
            people=tuple(
                (u.id, u.display_name or u.username)
                for u in uow.users.list()
                if u.active and is_allowed(u.role, Action.MANAGE_WORKLIST)
            ),
        )

    def _patient_items(
        self,
        file: PatientFile,
        name: str,
        appointments: tuple[Appointment, ...],
        window: WorklistFilter,
    ) -> tuple[tuple[WorklistItem, ...], tuple[str, ...]]:
        """One patient's open items in the window's dates (no decision applied), memoised on
        the patient's file, bookings and name: a course check is computed again only when one
        of them changed, or the day or the window's end did."""
        day = window.as_of
        key = (day, window.due_before, name, file.key, appointments)
        with self._memo_lock:
            cached = self._memo.get(file.patient_id)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        courses = self._clinical.courses_of(
            file, day, monitoring_until=window.due_before, stopped=True
        )
        found = tuple(
            patient_items(
                courses,
                patient_name=name,
                appointments=appointments,
                day_of=self._clinical.local_day,
                therapy_of=self._therapy_of,
                states={},
                window=WorklistFilter(as_of=day, due_before=window.due_before),
            )
        )
        with self._memo_lock:
            if len(self._memo) >= MEMO_PATIENTS:
                self._memo.pop(next(iter(self._memo)))
            self._memo[file.patient_id] = (key, found, courses.problems)
        return found, courses.problems

    def _therapy_of(self, protocol_id: str) -> str:
        return self._catalog.get_protocol(protocol_id).therapy_id

    def handle(self, actor: Actor, command: WorklistCommand) -> WorklistAction:
        """Assign or resolve one open item: permission, item check, store, audit, one commit."""
        verb = "assign" if isinstance(command, AssignWorklistItem) else "resolve"
        subject = Subject(
            verb=f"worklist.{verb}", resource_type="patient", resource_id=command.patient_id
        )
        action_id = self._new_id("worklist")

        def work(uow: UnitOfWork) -> WorklistAction:
            uow.patients.get(command.patient_id)
            self._open_item(uow, actor, command)
            if isinstance(command, AssignWorklistItem):
                user = _user(uow, command.assignee)
                if not user.active or not is_allowed(user.role, Action.MANAGE_WORKLIST):
                    raise InvalidCourseOrder(
                        "assignee must be an active nurse, physician or scheduler",
                        field="assignee",
                    )
                kind, assignee, reason = WorklistActionKind.ASSIGNED, user.id, command.note
            else:
                kind, assignee, reason = WorklistActionKind.RESOLVED, None, command.reason
            action = WorklistAction(
                id=action_id,
                patient_id=command.patient_id,
                item_id=command.item_id,
                kind=kind,
                assignee=assignee,
                reason=reason,
                recorded_at=actor.at,
                recorded_by=actor.user_id,
            )
            uow.worklist_actions.add(action)
            return action

        return self._access.run(actor, Action.MANAGE_WORKLIST, subject, work)

    def _open_item(self, uow: UnitOfWork, actor: Actor, command: WorklistCommand) -> WorklistItem:
        """The command's item among the patient's open items today (any due date)."""
        day = self._clinical.local_day(actor.at)
        window = WorklistFilter(as_of=day, due_before=date.max)
        courses = self._clinical.courses_in(uow, command.patient_id, day, stopped=True)
        open_items = patient_items(
            courses,
            patient_name="",
            appointments=uow.appointments.list_for_patient(command.patient_id),
            day_of=self._clinical.local_day,
            therapy_of=self._therapy_of,
            states=item_states(uow.worklist_actions.list_for_patient(command.patient_id)),
            window=window,
        )
        for item in open_items:
            if item.id == command.item_id:
                return item
        raise RecordNotFound(
            f"the patient has no open worklist item {command.item_id!r}", field="item_id"
        )


def _files(
    uow: UnitOfWork, sex: dict[str, str | None]
) -> tuple[dict[str, PatientFile], dict[str, tuple[Appointment, ...]]]:
    """Every patient with an active order or a discontinued one (followed up after the stop):
    their file and bookings, in four whole-table reads."""
    orders: dict[str, list[TherapyOrder]] = defaultdict(list)
    for order in uow.orders.list():
        orders[order.patient_id].append(order)
    active = sorted(
        pid
        for pid, found in orders.items()
        if any(o.active or o.status is OrderStatus.DISCONTINUED for o in found)
    )
    wanted = set(active)
    entries: dict[str, list[ClinicalEntry]] = defaultdict(list)
    for entry in sorted(uow.clinical_entries.list(), key=lambda e: (e.recorded_at, e.id)):
        if entry.patient_id in wanted:
            entries[entry.patient_id].append(entry)
    sessions: dict[str, list[SessionSummary]] = defaultdict(list)
    for summary in uow.sessions.list():
        if summary.patient_id in wanted:
            sessions[summary.patient_id].append(summary)
    booked: dict[str, list[Appointment]] = defaultdict(list)
    for appointment in uow.appointments.list():
        if appointment.patient_id in wanted:
            booked[appointment.patient_id].append(appointment)
    files = {
        pid: PatientFile(
            patient_id=pid,
            sex=sex.get(pid),
            entries=tuple(entries[pid]),
            orders=tuple(sorted(orders[pid], key=lambda o: o.id)),
            sessions=tuple(sessions[pid]),
        )
        for pid in active
    }
    return files, {pid: tuple(sorted(a, key=lambda a: a.id)) for pid, a in booked.items()}


def _user(uow: UnitOfWork, user_id: str) -> User:
    try:
        return uow.users.get(user_id)
    except RecordNotFound:
        raise RecordNotFound(f"no user {user_id}", field="assignee") from None
