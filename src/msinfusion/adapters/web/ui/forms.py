"""HTML form fields to the public command interchange form (``docs/session-format.md``).

Only shape is handled here (empty fields dropped, numbers and yes/no read, symptoms listed);
when a field is posted twice the last value counts, so a checkbox follows a hidden ``no`` of the
same name to send "no" when unticked (``supplemental_oxygen``). Every check of what a command
may do stays in the engine, behind ``Centre.sessions.handle``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from msinfusion.errors import InvalidCommand

INTEGER_FIELDS = frozenset(
    {"ctcae_grade", "dose_number", "corrects_sequence", "course_day", "entry_sequence"}
)
BOOLEAN_FIELDS = frozenset(
    {"passed", "supplemental_oxygen", "counts_as_premedication", "allergy_acknowledged"}
)
LIST_FIELDS = frozenset({"symptoms"})
NOT_COMMAND_FIELDS = frozenset({"csrf_token", "expected_version", "other_symptom", "occurred_at"})


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise InvalidCommand(f"{name} must be a whole number, got {value!r}", field=name) from error


def _boolean(name: str, value: str) -> bool:
    if value in ("yes", "true", "on"):
        return True
    if value in ("no", "false", "off"):
        return False
    raise InvalidCommand(f"{name} must be yes or no, got {value!r}", field=name)


def occurred_at(fields: Mapping[str, Sequence[str]], *, now: datetime, zone: tzinfo) -> datetime:
    """The form's "when" field: a local time on the centre's clock, or ``now`` when empty.

    >>> from datetime import UTC
    >>> from zoneinfo import ZoneInfo
    >>> now = datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
    >>> occurred_at({"occurred_at": ["2026-03-02T10:20"]}, now=now, zone=ZoneInfo("Europe/Zurich"))
    datetime.datetime(2026, 3, 2, 9, 20, tzinfo=datetime.timezone.utc)
    >>> occurred_at({}, now=now, zone=UTC) == now
    True
    """
    values = [v.strip() for v in fields.get("occurred_at", ()) if v.strip()]
    if not values:
        return now
    try:
        local = datetime.fromisoformat(values[-1])
    except ValueError as error:
        raise InvalidCommand(
            f"occurred_at must be a date and time, e.g. 2026-03-02T08:20, got {values[-1]!r}",
            field="occurred_at",
        ) from error
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC)


def command_from_form(
    name: str, fields: Mapping[str, Sequence[str]], *, at: datetime
) -> dict[str, Any]:
    """The command ``name`` at ``at`` from the posted ``fields`` (each name: its values)."""
    command: dict[str, Any] = {"command": name, "at": at.isoformat()}
    for key, values in fields.items():
        if key in NOT_COMMAND_FIELDS:
            continue
        cleaned = [v.strip() for v in values if v.strip()]
        if not cleaned:
            continue
        if key in LIST_FIELDS:
            command[key] = cleaned
        elif key in INTEGER_FIELDS:
            command[key] = _integer(key, cleaned[-1])
        elif key in BOOLEAN_FIELDS:
            command[key] = _boolean(key, cleaned[-1])
        else:
            command[key] = cleaned[-1]
    other = [v.strip() for v in fields.get("other_symptom", ()) if v.strip()]
    if other:
        command["symptoms"] = [*command.get("symptoms", []), *other]
    return command


def expected_version(fields: Mapping[str, Sequence[str]]) -> int:
    """The session version the form was rendered at (optimistic concurrency)."""
    values = fields.get("expected_version") or ["0"]
    return _integer("expected_version", values[-1])
