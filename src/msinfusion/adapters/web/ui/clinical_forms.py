"""Patient-page form fields to clinical entry items (the shape ``ClinicalRecords.record`` takes).

Only shape is handled here: each kind reads its own fields (anything else posted is ignored),
empty fields are dropped, numbers and yes/no answers are read, and every error names its field.
What an item may say (known test names, no result dated in the future, who may override a gate)
is checked by the service layer, as for the JSON API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from msinfusion.errors import InvalidCommand

Fields = Mapping[str, str]

PROFILE_QUESTIONS = (
    ("can_become_pregnant", "Can become pregnant"),
    ("prior_immunosuppressant", "Prior immunosuppressant"),
    ("vaccination_history_reviewed", "Vaccination history reviewed"),
)
"""Yes/no profile answers, in form order (``relapse_onset`` is a date)."""

_ANSWERS: dict[str, bool | None] = {"yes": True, "no": False, "unknown": None}


def _text(fields: Fields, name: str) -> str | None:
    value = fields.get(name, "").strip()
    return value or None


def _number(fields: Fields, name: str) -> int | float | None:
    """A number as JSON keeps it: whole numbers as int, others as float."""
    raw = _text(fields, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidCommand(f"{name} must be a number, got {raw!r}", field=name) from None
    if not value.is_finite():
        raise InvalidCommand(f"{name} must be a finite number, got {raw!r}", field=name)
    return int(value) if value == value.to_integral_value() and "." not in raw else float(value)


def _whole(fields: Fields, name: str) -> int | None:
    raw = _text(fields, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidCommand(f"{name} must be a whole number, got {raw!r}", field=name) from None


def _answer(fields: Fields, name: str, words: Mapping[str, bool | None]) -> tuple[bool, Any]:
    """(answered, value): an empty field is not answered; any other word must be known."""
    raw = _text(fields, name)
    if raw is None:
        return False, None
    if raw not in words:
        raise InvalidCommand(f"{name} must be one of {', '.join(words)}, got {raw!r}", field=name)
    return True, words[raw]


def _put(item: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        item[name] = value


def _lab(fields: Fields) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name in ("test", "on", "assay"):
        _put(item, name, _text(fields, name))
    _put(item, "value", _number(fields, "value"))
    _put(item, "positive", _answer(fields, "positive", {"positive": True, "negative": False})[1])
    _put(item, "abnormal", _answer(fields, "abnormal", {"yes": True, "no": False})[1])
    return item


def _finding(fields: Fields) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name in ("name", "on"):
        _put(item, name, _text(fields, name))
    _put(item, "present", _answer(fields, "present", {"yes": True, "no": False})[1])
    return item


def _vaccination(fields: Fields) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name in ("name", "on"):
        _put(item, name, _text(fields, name))
    _put(item, "live", _answer(fields, "live", {"yes": True, "no": False})[1])
    return item


def _profile(fields: Fields) -> dict[str, Any]:
    """Only the questions answered; "unknown" clears an earlier answer (null)."""
    item: dict[str, Any] = {}
    for name, _ in PROFILE_QUESTIONS:
        answered, value = _answer(fields, name, _ANSWERS)
        if answered:
            item[name] = value
    _put(item, "relapse_onset", _text(fields, "relapse_onset"))
    _put(item, "on", _text(fields, "on"))
    return item


def _given_dose(fields: Fields) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name in ("order_id", "on"):
        _put(item, name, _text(fields, name))
    _put(item, "dose_number", _whole(fields, "dose_number"))
    _put(item, "mg_per_m2", _number(fields, "mg_per_m2"))
    return item


ANSWER_PREFIX = "answer_"
"""A programme form's question ``q`` is posted as the yes/no field ``answer_q``."""


def _programme_form(fields: Fields) -> dict[str, Any]:
    """Every posted ``answer_<question>`` (yes/no; an empty one stays unanswered, so the
    service layer names the question), the order, dose, day, whether infused, when sent."""
    item: dict[str, Any] = {}
    for name in ("form", "order_id", "on", "submitted_on"):
        _put(item, name, _text(fields, name))
    _put(item, "dose_number", _whole(fields, "dose_number"))
    _put(item, "infused", _answer(fields, "infused", {"yes": True, "no": False})[1])
    answers: dict[str, Any] = {}
    for name in fields:
        if name.startswith(ANSWER_PREFIX):
            answered, value = _answer(fields, name, {"yes": True, "no": False})
            if answered:
                answers[name.removeprefix(ANSWER_PREFIX)] = value
    item["answers"] = answers
    return item


def _plain(*names: str) -> Callable[[Fields], dict[str, Any]]:
    def read(fields: Fields) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for name in names:
            _put(item, name, _text(fields, name))
        return item

    return read


FORM_READERS: dict[str, Callable[[Fields], dict[str, Any]]] = {
    "lab": _lab,
    "finding": _finding,
    "vaccination": _vaccination,
    "profile": _profile,
    "given-dose": _given_dose,
    "override": _plain("gate_id", "on", "justification"),
    "retraction": _plain("entry_id", "reason", "cosigns"),
    "programme-form": _programme_form,
}
"""Entry kind (as in the form's URL) → reader of its fields."""


def item_from_form(kind: str, fields: Fields) -> dict[str, Any]:
    """The entry item of kind ``kind`` from the posted ``fields`` (each name: its last value)."""
    return FORM_READERS[kind](fields)
