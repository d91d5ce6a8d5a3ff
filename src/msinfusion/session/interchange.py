"""The public JSON command interchange format (``docs/session-format.md``).

A file is a JSON list of objects; each names its command in ``"command"`` (e.g. ``"ChangeRate"``)
and gives ``at`` (ISO 8601 with offset), optional ``user`` and ``override_reason``, and the
command's own fields. Unknown fields are refused (a typo must not silently drop a value).
Numbers may be JSON numbers or decimal strings and are read exactly (``60.5`` is 121/2); a
consciousness level is its ACVPU letter (``"A"``), yes/no fields are JSON ``true``/``false``.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session.codec import field_types
from msinfusion.session.commands import COMMAND_TYPES, Command, read_consciousness

COMMANDS: dict[str, type[Command]] = {cls.__name__: cls for cls in COMMAND_TYPES}

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
"""Sanity bounds on a command's times (the charting rules then bound them to the chart)."""
MAX_TEXT_LENGTH = 2000
MAX_DECIMAL_EXPONENT = 30
"""A decimal string such as ``"1e999999999"`` would take minutes to read exactly: refused."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EXPONENT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)[eE]([+-]?\d+)\s*$")


def _guard_text(name: str, value: str) -> None:
    if (
        len(value) > MAX_TEXT_LENGTH
        or _CONTROL.search(value)
        or re.search("[\ud800-\udfff]", value)
    ):
        raise InvalidCommand(
            f"{name} must be text of at most {MAX_TEXT_LENGTH} printable characters", field=name
        )


def _guard_values(command: dict[Any, Any]) -> None:
    """Refuse text no store should hold (control characters, NUL) and runaway exponents."""
    for name, value in command.items():
        _guard_text("command", str(name))
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str):
                _guard_text(str(name), item)


def _bad(name: str, expected: str, value: object) -> InvalidCommand:
    return InvalidCommand(f"{name} must be {expected}, got {value!r}", field=name)


def _read_time(name: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise _bad(name, "an ISO 8601 time with offset", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise _bad(name, "an ISO 8601 time with offset", value) from error
    if parsed.tzinfo is None:
        raise _bad(name, "an ISO 8601 time with offset (e.g. +01:00 or Z)", value)
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError as error:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
        raise _bad(name, f"a time between {EARLIEST_YEAR} and {LATEST_YEAR}", value) from error
    if not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
        raise _bad(name, f"a time between {EARLIEST_YEAR} and {LATEST_YEAR}", value)
    return parsed


def _read_number(name: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad(name, "a number", value)
    match = _EXPONENT.match(str(value))
    if match and abs(int(match.group(2))) > MAX_DECIMAL_EXPONENT:
        raise InvalidCommand(f"{name} is out of range", field=name)
    try:
        number = Fraction(str(value))
    except (ValueError, ZeroDivisionError) as error:
        raise _bad(name, "a number", value) from error
    return number


def _read(hint: Any, name: str, value: object) -> object:
    if isinstance(hint, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _read(inner, name, value)
    if hint is datetime:
        return _read_time(name, value)
    if hint is Fraction:
        return _read_number(name, value)
    if hint in (Severity, Consciousness):
        return _read_level(hint, name, value)
    return _read_plain(hint, name, value)


def _read_level(hint: Any, name: str, value: object) -> Severity | Consciousness:
    """A reaction severity by its word, a consciousness level by its ACVPU letter (A to U)."""
    if hint is Consciousness:
        return read_consciousness(value)
    try:
        return Severity(value)
    except ValueError as error:
        raise _bad(name, "mild|moderate|severe|life-threatening", value) from error


def _read_plain(hint: Any, name: str, value: object) -> object:
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad(name, "a list of text", value)
        return tuple(value)
    if hint is bool and not isinstance(value, bool):
        raise _bad(name, "true or false", value)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _bad(name, "an integer", value)
    if hint is str and not isinstance(value, str):
        raise _bad(name, "text", value)
    return value


def command_from_dict(obj: object) -> Command:
    """One command from its JSON object; raises ``InvalidCommand`` naming the bad field."""
    if not isinstance(obj, dict):
        raise InvalidCommand("each command must be a JSON object", field="command")
    name = obj.get("command")
    if name in COMMANDS:
        _guard_values(obj)
    if name not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise InvalidCommand(f"unknown command {name!r}; known: {known}", field="command")
    cls = COMMANDS[name]
    hints = field_types(cls)
    known_fields = {f.name: f for f in fields(cls)}
    unknown = sorted(set(obj) - set(known_fields) - {"command"})
    if unknown:
        raise InvalidCommand(f"{name} has unknown field(s): {', '.join(unknown)}", field=unknown[0])
    values: dict[str, Any] = {}
    for field_name, field in known_fields.items():
        if field_name not in obj:
            if field.default is MISSING:
                raise InvalidCommand(f"{name} needs the field {field_name}", field=field_name)
            continue
        values[field_name] = _read(hints[field_name], field_name, obj[field_name])
    return cls(**values)


def commands_from_json(data: object) -> list[Command]:
    """Every command of a decoded JSON file; the error says which (1-based) command is bad."""
    if not isinstance(data, list):
        raise InvalidCommand("the file must hold a JSON list of commands", field="commands")
    commands: list[Command] = []
    for index, obj in enumerate(data, start=1):
        try:
            commands.append(command_from_dict(obj))
        except InvalidCommand as error:
            raise InvalidCommand(f"command {index}: {error.message}", field=error.field) from error
    return commands


def command_to_dict(command: Command) -> dict[str, Any]:
    """The interchange form of ``command`` (defaults left out)."""
    out: dict[str, Any] = {"command": type(command).__name__}
    for field in fields(command):
        value = getattr(command, field.name)
        if field.default is not MISSING and value == field.default:
            continue
        out[field.name] = _write(value)
    return out


def _write(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else str(value)
    if isinstance(value, (Severity, Consciousness)):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value
