"""HTML form fields to the public command interchange form (``docs/session-format.md``).

Only shape is handled here (empty fields dropped, numbers and yes/no read, symptoms listed);
when a field is posted twice the last value counts, so a checkbox follows a hidden ``no`` of the
same name to send "no" when unticked (``supplemental_oxygen``). Every check of what a command
may do stays in the engine, behind ``Centre.sessions.send``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from msinfusion.errors import InvalidCommand

INTEGER_FIELDS = frozenset({"ctcae_grade", "dose_number", "corrects_sequence", "course_day"})
BOOLEAN_FIELDS = frozenset({"passed", "supplemental_oxygen"})
LIST_FIELDS = frozenset({"symptoms"})
NOT_COMMAND_FIELDS = frozenset({"csrf_token", "expected_version", "other_symptom"})


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
