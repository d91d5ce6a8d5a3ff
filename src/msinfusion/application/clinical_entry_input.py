"""Validation of a clinical entry as a person or integration sends it, before it is stored.

Each item has the JSON shape of the ``course check`` file (docs/clinical/courses.md), and the
labs, vaccinations, findings and overrides are finally checked by that file's parser
(``patient_record_from_dict``), so a stored record and a check file mean the same. What the
parser cannot know is checked here first: unknown fields, dates in the future at the centre,
text lengths, who overrides, and for a dose given elsewhere that it fits the order's calendar.

An error is one ``InvalidCommand`` naming the field. The checks that need stored records (the
order of a given dose, the entry a retraction names) get them through ``EntryContext``, so this
module reads nothing by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from msinfusion.application.audit import Actor
from msinfusion.application.clinical_record_view import (
    PROFILE_FIELDS,
    RECORD_KEYS,
    course_order,
    retracted_ids,
)
from msinfusion.application.ledger_rules import programme_form, programme_forms
from msinfusion.application.permissions import Action, require
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind, TherapyOrder
from msinfusion.errors import InvalidCommand, InvalidCourseOrder, RecordNotFound
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import GivenDose
from msinfusion.planning.gate_rules import OUTCOME_OVERRIDABLE_GATE_IDS, OVERRIDABLE_GATE_IDS
from msinfusion.planning.patient_record import (
    FINDINGS,
    LAB_TESTS,
    NUMBER_ENTRIES,
    patient_record_from_dict,
)

MAX_TEXT = 500
"""Longest free text an entry keeps (a justification, a reason, an assay or vaccine name)."""

_ITEM_FIELDS = {
    ClinicalEntryKind.LAB: frozenset({"test", "on", "value", "positive", "abnormal", "assay"}),
    ClinicalEntryKind.VACCINATION: frozenset({"on", "live", "name"}),
    ClinicalEntryKind.FINDING: frozenset({"name", "on", "present"}),
    ClinicalEntryKind.OVERRIDE: frozenset({"gate_id", "on", "justification"}),
    ClinicalEntryKind.PROFILE: PROFILE_FIELDS | {"on"},
    ClinicalEntryKind.GIVEN_DOSE: frozenset({"order_id", "dose_number", "on", "mg_per_m2"}),
    ClinicalEntryKind.RETRACTION: frozenset({"entry_id", "on", "reason"}),
    ClinicalEntryKind.PROGRAMME_FORM: frozenset(
        {"form", "order_id", "dose_number", "on", "answers", "infused", "submitted_on"}
    ),
}
TDM_KINDS = frozenset({ClinicalEntryKind.DRUG_LEVEL, ClinicalEntryKind.TDM_RECOMMENDATION})
"""Entries only the TDM use case writes (application.tdm): it scores and fits them."""
OVERRIDABLE = frozenset(OVERRIDABLE_GATE_IDS) | frozenset(OUTCOME_OVERRIDABLE_GATE_IDS)
"""Gates a physician may override when they fail: the gate's own rule, plus the two whose
outcome decides (US non-live vaccination timing; the LVEF 10-point prompt). ``evaluate_gates``
still ignores an override of an outcome the label does not let the prescriber overrule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryContext:
    """Who records an entry for whom, the centre's day, and the stored records the checks of a
    given dose and a retraction read (looked up only by the kinds that need them)."""

    actor: Actor
    patient_id: str
    today: date
    find_order: Callable[[str], TherapyOrder]
    """The stored order of an id; ``RecordNotFound`` when there is none."""
    doses_given: Callable[[TherapyOrder], tuple[GivenDose, ...]]
    """The doses of an order's course given so far."""
    entries: Callable[[], list[ClinicalEntry]]
    """The patient's entries, in recording order."""


def entry_kind(raw: str) -> ClinicalEntryKind:
    try:
        return ClinicalEntryKind(raw)
    except ValueError:
        known = ", ".join(k.value for k in ClinicalEntryKind)
        raise InvalidCommand(f"kind must be one of {known}", field="kind") from None


def checked_entry(
    kind: ClinicalEntryKind, item: Mapping[str, Any], context: EntryContext
) -> tuple[date, dict[str, Any]]:
    """The clinical date and stored form of ``item``, or the first thing wrong with it."""
    if not isinstance(item, Mapping):
        raise InvalidCommand("item must be an object", field="item")
    if kind in TDM_KINDS:
        raise InvalidCommand(
            f"kind {kind.value} is recorded through POST /api/patients/{{id}}/tdm", field="kind"
        )
    if kind is ClinicalEntryKind.PROFILE:
        return _checked_profile(item, context.today)
    if kind is ClinicalEntryKind.GIVEN_DOSE:
        return _checked_given_dose(item, context)
    if kind is ClinicalEntryKind.RETRACTION:
        return _checked_retraction(item, context)
    if kind is ClinicalEntryKind.PROGRAMME_FORM:
        return checked_programme_form(item, context)
    return _checked_item(kind, item, context.actor, context.today)


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
    key = RECORD_KEYS[kind]
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
    if item.get("test") in NUMBER_ENTRIES:
        value = item.get("value")
        if not isinstance(value, int | float) or value < 0:
            raise InvalidCommand(
                f"{item.get('test')} is a stated number: value must be >= 0 (0 if none)",
                field="value",
            )
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


def _checked_profile(item: Mapping[str, Any], today: date) -> tuple[date, dict[str, Any]]:
    unknown = sorted(set(item) - _ITEM_FIELDS[ClinicalEntryKind.PROFILE])
    if unknown:
        raise InvalidCommand(f"unknown profile field(s): {', '.join(unknown)}", field=unknown[0])
    on = _day({"on": item.get("on", today.isoformat())})
    if on > today:
        raise InvalidCommand("on is in the future: record answers as given", field="on")
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
    return on, answers


def _patients_order(item: Mapping[str, Any], context: EntryContext) -> TherapyOrder:
    try:
        order = context.find_order(str(item.get("order_id")))
    except RecordNotFound:
        raise InvalidCommand("order_id names no known order", field="order_id") from None
    if order.patient_id != context.patient_id:
        raise InvalidCommand("order_id is another patient's order", field="order_id")
    return order


def _dose_number(item: Mapping[str, Any]) -> int:
    number = item.get("dose_number")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 200:
        raise InvalidCommand("dose_number must be a whole number from 1", field="dose_number")
    return number


def checked_programme_form(
    item: Mapping[str, Any], context: EntryContext
) -> tuple[date, dict[str, Any]]:
    """A programme form answered at a visit (``ledger_rules.programme_forms``): a known form of
    the order's therapy, the patient's order, a dose number, a past day, every question
    answered yes or no (nothing else), whether infused, and the day it was sent, if sent."""
    _unknown_fields(ClinicalEntryKind.PROGRAMME_FORM, item)
    form = programme_form(str(item.get("form")))
    if form is None:
        known = ", ".join(f.id for f in programme_forms())
        raise InvalidCommand(f"form must be one of {known}", field="form")
    order = _patients_order(item, context)
    if order.therapy_id != form.therapy_id:
        raise InvalidCommand(
            f"order_id must be a {form.therapy_id} order for the {form.title}", field="order_id"
        )
    number = _dose_number(item)
    on = _day(item)
    if on > context.today:
        raise InvalidCommand("on is in the future: record the answers as given", field="on")
    answers = item.get("answers")
    if not isinstance(answers, Mapping):
        raise InvalidCommand(
            "answers must be an object of question id: true/false", field="answers"
        )
    known_ids = [q.id for q in form.questions]
    for name in sorted(set(answers) - set(known_ids)):
        raise InvalidCommand(f"{form.title} has no question {name!r}", field=f"answers.{name}")
    for question in form.questions:
        if not isinstance(answers.get(question.id), bool):
            raise InvalidCommand(
                f"answers.{question.id} is required before each infusion: true (yes) or false (no)",
                field=f"answers.{question.id}",
            )
    data: dict[str, Any] = {
        "form": form.id,
        "order_id": order.id,
        "dose_number": number,
        "on": on.isoformat(),
        "answers": {q: bool(answers[q]) for q in known_ids},
    }
    if item.get("infused") is not None:
        _yes_no(item, "infused")
        data["infused"] = item["infused"]
    if item.get("submitted_on") is not None:
        sent = _day(item, "submitted_on")
        if sent < on or sent > context.today:
            raise InvalidCommand(
                "submitted_on must be on or after on and not in the future", field="submitted_on"
            )
        data["submitted_on"] = sent.isoformat()
    return on, data


def _checked_given_dose(
    item: Mapping[str, Any], context: EntryContext
) -> tuple[date, dict[str, Any]]:
    """A dose given elsewhere: the patient's own order, a dose number the order's calendar
    accepts after the doses given so far (``DoseTooEarly`` passes through), a past day."""
    _unknown_fields(ClinicalEntryKind.GIVEN_DOSE, item)
    order = _patients_order(item, context)
    number = _dose_number(item)
    on = _day(item)
    if on > context.today:
        raise InvalidCommand("on is in the future: record a dose once given", field="on")
    mg = item.get("mg_per_m2")
    if mg is not None and (isinstance(mg, bool) or not isinstance(mg, int | float) or mg <= 0):
        raise InvalidCommand("mg_per_m2 must be a positive number", field="mg_per_m2")
    data = {"order_id": order.id, "dose_number": number, "on": on.isoformat()}
    if mg is not None:
        data["mg_per_m2"] = mg
    given = (*context.doses_given(order), GivenDose(dose_number=number, on=on))
    try:  # the calendar's rules for a dose history
        plan_course(course_order(order, given), as_of=on)
    except InvalidCourseOrder as error:
        raise InvalidCommand(error.message, field="dose_number") from None
    return on, data


def _checked_retraction(
    item: Mapping[str, Any], context: EntryContext
) -> tuple[date, dict[str, Any]]:
    """The retraction of one of the patient's entries; retracting an override is a
    physician's act, as the override was."""
    _unknown_fields(ClinicalEntryKind.RETRACTION, item)
    entries = context.entries()
    target = next((e for e in entries if e.id == item.get("entry_id")), None)
    if target is None:
        raise InvalidCommand("entry_id names none of this patient's entries", field="entry_id")
    if target.kind is ClinicalEntryKind.RETRACTION:
        raise InvalidCommand("a retraction cannot be retracted", field="entry_id")
    if target.id in retracted_ids(entries):
        raise InvalidCommand("that entry is already retracted", field="entry_id")
    if target.kind is ClinicalEntryKind.OVERRIDE:
        require(context.actor.role, Action.OVERRIDE_GATE)
    reason = _text(item, "reason", required=True)
    return context.today, {"entry_id": target.id, "reason": reason}
