"""The REMS / TOUCH ledger of one patient: every programme requirement per dose, with who and when.

A typed read model (``PatientLedger`` of ``LedgerRow``) built from the stored record only: the
findings answered on each dose day (the TOUCH checklist, the LEMTRADA REMS authorisation), the
monitoring slots of the cited calendars and the result entries that filled them, and the
discontinuation reports of stopped orders. Which requirements apply is the centre's
jurisdiction (an order's own option wins, as for gates); unknown: every programme's rules.
The requirements and their sources are data (``ledger_rules``).

A row's ``status``: ``recorded`` (the evidence is on file and lets the dose go ahead),
``stop-answer`` (recorded, but an answer that stops the infusion), ``missing`` (a dose was
given without it, or its due date passed), ``due`` / ``planned`` (not yet due).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_record_view import form_findings, retracted_ids
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.ledger_rules import (
    Evidence,
    ProgrammeForm,
    Requirement,
    ledger_requirements,
    programme_form,
)
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind, TherapyOrder
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning.calendar_units import add_months
from msinfusion.planning.course_check import CourseCheck
from msinfusion.planning.courses import DoseStatus
from msinfusion.planning.monitoring_calendar import SlotStatus


class LedgerStatus(enum.Enum):
    RECORDED = "recorded"
    STOP_ANSWER = "stop-answer"
    MISSING = "missing"
    DUE = "due"
    PLANNED = "planned"


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    """One requirement for one dose or one due date, and the evidence on file for it."""

    programme: str
    rule_id: str
    requirement: str
    order_id: str
    dose_number: int | None
    due: date | None
    status: LedgerStatus
    answer: str
    occurred_on: date | None
    recorded_by: str | None
    recorded_at: datetime | None
    entry_id: str | None
    source: str
    grade: str
    verified: bool
    answers: tuple[tuple[str, bool], ...] | None = None
    """A programme form's answers (question id, yes) in form order; None for other rows."""

    @property
    def on(self) -> date | None:
        """The row's date for a period: when it happened, else when it is due."""
        return self.occurred_on or self.due


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientLedger:
    patient_id: str
    as_of: date
    since: date | None
    until: date | None
    jurisdiction: str | None
    rows: tuple[LedgerRow, ...]
    problems: tuple[str, ...]


def _evidence(
    entries: list[ClinicalEntry], kind: ClinicalEntryKind, key: str, name: str
) -> list[ClinicalEntry]:
    """The live entries of ``kind`` naming ``name``, in clinical order (date, then recorded):
    the last of a day is that day's answer."""
    retracted = retracted_ids(entries)
    found = [
        e
        for e in entries
        if e.kind is kind and e.id not in retracted and str(e.data.get(key)) == name
    ]
    return sorted(found, key=lambda e: (e.on, e.recorded_at, e.id))


def _row(
    requirement: Requirement,
    order: TherapyOrder,
    *,
    status: LedgerStatus,
    dose_number: int | None = None,
    due: date | None = None,
    entry: ClinicalEntry | None = None,
    answer: str = "",
    answers: tuple[tuple[str, bool], ...] | None = None,
) -> LedgerRow:
    return LedgerRow(
        programme=requirement.programme,
        rule_id=requirement.id,
        requirement=requirement.title,
        order_id=order.id,
        dose_number=dose_number,
        due=due,
        status=status,
        answer=answer,
        occurred_on=None if entry is None else entry.on,
        recorded_by=None if entry is None else entry.recorded_by,
        recorded_at=None if entry is None else entry.recorded_at,
        entry_id=None if entry is None else entry.id,
        source=requirement.sources[0],
        grade=requirement.grade,
        verified=requirement.verified,
        answers=answers,
    )


def _answer(present: object) -> str:
    return "yes" if present is True else "no"


def _finding_status(requirement: Requirement, entry: ClinicalEntry | None) -> LedgerStatus:
    if entry is None:
        return LedgerStatus.MISSING
    passes = entry.data.get("present") is requirement.pass_when
    return LedgerStatus.RECORDED if passes else LedgerStatus.STOP_ANSWER


def _dose_rows(
    requirement: Requirement, order: TherapyOrder, check: CourseCheck, findings: list[ClinicalEntry]
) -> list[LedgerRow]:
    """Per dose given: the finding answered that clinic day (the latest recorded)."""
    rows = []
    for dose in check.calendar.doses:
        if dose.status is not DoseStatus.GIVEN or dose.given_on is None:
            continue
        that_day = [e for e in findings if e.on == dose.given_on]
        entry = that_day[-1] if that_day else None
        rows.append(
            _row(
                requirement,
                order,
                status=_finding_status(requirement, entry),
                dose_number=dose.dose_number,
                due=dose.given_on,
                entry=entry,
                answer="" if entry is None else _answer(entry.data.get("present")),
            )
        )
    return rows


def _slot_status(status: SlotStatus) -> LedgerStatus:
    return {
        SlotStatus.DONE: LedgerStatus.RECORDED,
        SlotStatus.OVERDUE: LedgerStatus.MISSING,
        SlotStatus.DUE: LedgerStatus.DUE,
        SlotStatus.PLANNED: LedgerStatus.PLANNED,
    }[status]


def _monitoring_rows(
    requirement: Requirement, order: TherapyOrder, check: CourseCheck, labs: list[ClinicalEntry]
) -> list[LedgerRow]:
    """Every slot of the requirement's tests, with the result entry that filled it."""
    rows = []
    first = check.calendar.doses[0].effective
    seen: set[str] = set()
    for slot in check.monitoring:
        if slot.test not in requirement.tests:
            continue
        baseline = slot.item_id not in seen
        seen.add(slot.item_id)
        if requirement.baseline_only and not baseline:
            continue
        entry = None
        if slot.result is not None:
            same = [e for e in labs if e.data.get("test") == slot.test and e.on == slot.result.on]
            entry = same[0] if same else None
        status = _slot_status(slot.status)
        answer = slot.title
        limit = requirement.baseline_within_days
        if limit is not None and entry is not None and entry.on < first - timedelta(days=limit):
            status = LedgerStatus.MISSING
            answer = f"{slot.title}: result of {entry.on} is more than {limit} days before dose 1"
        rows.append(
            _row(requirement, order, status=status, due=slot.due, entry=entry, answer=answer)
        )
    return rows


def _milestone_rows(
    requirement: Requirement,
    order: TherapyOrder,
    check: CourseCheck,
    findings: list[ClinicalEntry],
    as_of: date,
) -> list[LedgerRow]:
    first = check.calendar.doses[0].effective
    rows = []
    for months in requirement.after_months:
        due = add_months(first, months)
        if requirement.timing == "by":  # the answer standing on the due date
            before = [e for e in findings if e.on <= due]
            entry = before[-1] if before else None
        else:  # the first answer from the due date on
            after = [e for e in findings if e.on >= due]
            entry = after[0] if after else None
        status = _finding_status(requirement, entry)
        if entry is None:
            status = LedgerStatus.MISSING if as_of > due else _pending(due, as_of)
        rows.append(
            _row(
                requirement,
                order,
                status=status,
                due=due,
                entry=entry,
                answer="" if entry is None else _answer(entry.data.get("present")),
            )
        )
    return rows


def _pending(due: date, as_of: date) -> LedgerStatus:
    return LedgerStatus.DUE if due == as_of else LedgerStatus.PLANNED


def _after_stop_rows(
    requirement: Requirement,
    order: TherapyOrder,
    check: CourseCheck,
    labs: list[ClinicalEntry],
    as_of: date,
) -> list[LedgerRow]:
    """A stopped order: one report per offset after the day treatment stopped (TOUCH-07): the
    order's ``discontinued_on``, else (stopped before it was recorded) the last dose given."""
    last = check.calendar.last_given()
    if order.active or last is None or last.given_on is None:
        return []
    stop = order.discontinued_on or last.given_on
    rows = []
    dues = [add_months(stop, months) for months in requirement.after_months]
    for k, due in enumerate(dues):
        closes = dues[k + 1] if k + 1 < len(dues) else None
        found = [
            e
            for e in labs
            if e.data.get("test") in requirement.tests
            and e.on >= due
            and (closes is None or e.on < closes)
        ]
        entry = found[0] if found else None
        if entry is not None:
            status = LedgerStatus.RECORDED
        else:
            status = LedgerStatus.MISSING if as_of > due else _pending(due, as_of)
        rows.append(_row(requirement, order, status=status, due=due, entry=entry))
    return rows


def _form_row(
    requirement: Requirement,
    order: TherapyOrder,
    form: ProgrammeForm,
    entry: ClinicalEntry | None,
    *,
    dose_number: int | None,
    due: date,
    as_of: date,
) -> LedgerRow:
    """One visit's form: recorded when every answer lets the dose go ahead, ``stop-answer``
    when one says do not infuse; the answers in words, and whether it was sent in time."""
    if entry is None:
        return _row(
            requirement, order, status=LedgerStatus.MISSING, dose_number=dose_number, due=due
        )
    answers = {str(k): bool(v) for k, v in (entry.data.get("answers") or {}).items()}
    stops = form.stop_questions(answers)
    words = [f"{q.text.split(':', 1)[0]} {_answer(answers.get(q.id))}" for q in form.questions]
    if stops:
        words.append("stop: do not infuse, contact the prescriber")
    if entry.data.get("infused") is False:
        words.append("not infused")
    sent, limit = entry.data.get("submitted_on"), form.submit_within_days
    if sent is not None:
        late = limit is not None and (date.fromisoformat(sent) - entry.on).days > limit
        words.append(f"sent {sent}{' (late)' if late else ''}")
    elif limit is not None and as_of > entry.on + timedelta(days=limit):
        words.append(f"not sent within {limit} day(s)")
    return _row(
        requirement,
        order,
        status=LedgerStatus.STOP_ANSWER if stops else LedgerStatus.RECORDED,
        dose_number=dose_number,
        due=due,
        entry=entry,
        answer="; ".join(words),
        answers=tuple((q.id, answers[q.id]) for q in form.questions if q.id in answers),
    )


def _dose_form_rows(
    requirement: Requirement,
    order: TherapyOrder,
    check: CourseCheck,
    entries: list[ClinicalEntry],
    as_of: date,
) -> list[LedgerRow]:
    """Per dose given: the form answered that clinic day (the latest recorded), else missing;
    then every visit's form on a day no dose was given (kept also when not infused)."""
    form = programme_form(requirement.form or "")
    if form is None:
        return []
    forms = [e for e in entries if e.data.get("order_id") == order.id]
    rows: list[LedgerRow] = []
    used: set[str] = set()
    for dose in check.calendar.doses:
        if dose.status is not DoseStatus.GIVEN or dose.given_on is None:
            continue
        that_day = [e for e in forms if e.on == dose.given_on]
        entry = that_day[-1] if that_day else None
        used.update(e.id for e in that_day)
        rows.append(
            _form_row(
                requirement,
                order,
                form,
                entry,
                dose_number=dose.dose_number,
                due=dose.given_on,
                as_of=as_of,
            )
        )
    for entry in forms:
        if entry.id not in used:
            number = entry.data.get("dose_number")
            rows.append(
                _form_row(
                    requirement,
                    order,
                    form,
                    entry,
                    dose_number=number if isinstance(number, int) else None,
                    due=entry.on,
                    as_of=as_of,
                )
            )
    return rows


def _with_form_findings(entries: list[ClinicalEntry]) -> list[ClinicalEntry]:
    """The entries, plus each programme form's answers as the findings they record (same id,
    author and times: retracting the form retracts them), as the gates read them."""
    derived = [
        replace(entry, kind=ClinicalEntryKind.FINDING, data=finding)
        for entry in entries
        if entry.kind is ClinicalEntryKind.PROGRAMME_FORM
        for finding in form_findings(entry)
    ]
    return [*entries, *derived]


def ledger_rows(
    order: TherapyOrder,
    check: CourseCheck,
    entries: list[ClinicalEntry],
    *,
    as_of: date,
    requirements: Iterable[Requirement] | None = None,
) -> list[LedgerRow]:
    """Every applicable requirement's rows for one order's course (pure: no storage)."""
    jurisdiction = check.calendar.jurisdiction
    retracted = retracted_ids(entries)
    labs = [e for e in entries if e.kind is ClinicalEntryKind.LAB and e.id not in retracted]
    with_findings = _with_form_findings(entries)
    rows: list[LedgerRow] = []
    for requirement in ledger_requirements() if requirements is None else requirements:
        if requirement.therapy_id != order.therapy_id or not requirement.applies_in(jurisdiction):
            continue
        findings = (
            _evidence(with_findings, ClinicalEntryKind.FINDING, "name", requirement.finding)
            if requirement.finding
            else []
        )
        if requirement.evidence is Evidence.DOSE_FINDING:
            rows.extend(_dose_rows(requirement, order, check, findings))
        elif requirement.evidence is Evidence.MONITORING:
            rows.extend(_monitoring_rows(requirement, order, check, labs))
        elif requirement.evidence is Evidence.MILESTONE_FINDING:
            rows.extend(_milestone_rows(requirement, order, check, findings, as_of))
        elif requirement.evidence is Evidence.DOSE_FORM:
            forms = _evidence(
                entries, ClinicalEntryKind.PROGRAMME_FORM, "form", requirement.form or ""
            )
            rows.extend(_dose_form_rows(requirement, order, check, forms, as_of))
        else:
            rows.extend(_after_stop_rows(requirement, order, check, labs, as_of))
    return rows


def in_period(rows: Iterable[LedgerRow], since: date | None, until: date | None) -> list[LedgerRow]:
    """Rows whose date (happened, else due) is within ``since``..``until`` (both included)."""
    return [
        r
        for r in rows
        if (since is None or (r.on is not None and r.on >= since))
        and (until is None or (r.on is not None and r.on <= until))
    ]


PROGRAMME_THERAPIES = frozenset(r.therapy_id for r in ledger_requirements())


class LedgerUseCases:
    def __init__(self, access: AuditedAccess, clinical: ClinicalRecords) -> None:
        self._access = access
        self._clinical = clinical

    def get(
        self,
        actor: Actor,
        patient_id: str,
        *,
        since: date | None = None,
        until: date | None = None,
    ) -> PatientLedger:
        """The patient's ledger on today's date, rows in ``since``..``until`` (one audited read)."""
        if since is not None and until is not None and until < since:
            raise InvalidCourseOrder("until must be on or after since", field="until")
        subject = Subject(verb="ledger.read", resource_type="patient", resource_id=patient_id)
        day = self._clinical.local_day(actor.at)

        def work(uow: UnitOfWork) -> PatientLedger:
            uow.patients.get(patient_id)
            entries = uow.clinical_entries.list_for_patient(patient_id)
            rows: list[LedgerRow] = []
            problems: list[str] = []
            for order in uow.orders.list_for_patient(patient_id):
                if order.therapy_id not in PROGRAMME_THERAPIES:
                    continue
                try:
                    check = self._clinical.order_check_in(uow, order, day)
                except (InvalidCourseOrder, ArithmeticError) as error:
                    problems.append(f"{order.therapy_id} order {order.id}: {error}")
                    continue
                rows.extend(ledger_rows(order, check, entries, as_of=day))
            return PatientLedger(
                patient_id=patient_id,
                as_of=day,
                since=since,
                until=until,
                jurisdiction=self._clinical.jurisdiction,
                rows=tuple(in_period(rows, since, until)),
                problems=tuple(problems),
            )

        return self._access.run(actor, Action.READ_COURSE, subject, work)
