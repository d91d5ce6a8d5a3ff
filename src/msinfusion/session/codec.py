"""Events to and from plain JSON-ready dicts (the storage format), upcasting on read.

Fractions are written as exact strings (``"25/3"``), times as ISO 8601 with offset, tuples as
lists. ``event_from_dict(event_to_dict(e)) == e`` for every event.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from datetime import datetime
from fractions import Fraction
from typing import Any

from msinfusion.errors import InvalidEvent
from msinfusion.session.events import EVENT_TYPES, Event
from msinfusion.session.upcast import upcast


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """The stored form of ``event`` with its ``type`` and schema ``version``."""
    payload: dict[str, Any] = {"type": event.TYPE, "version": event.VERSION}
    for field in fields(event):
        payload[field.name] = _encode(getattr(event, field.name))
    return payload


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of a command or event class (read once per class)."""
    if cls not in _FIELD_TYPES:
        _FIELD_TYPES[cls] = typing.get_type_hints(cls)
    return _FIELD_TYPES[cls]


_UNREADABLE = object()
Reader = Callable[[object], object]
"""A field's reader: the decoded value, or ``_UNREADABLE``."""


def _read_time(value: object) -> object:
    if not isinstance(value, str):
        return _UNREADABLE
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return _UNREADABLE
    return parsed if parsed.tzinfo is not None else _UNREADABLE


_PLAIN_FRACTION = re.compile(r"-?[0-9]+(?:/[0-9]+)?")
"""What ``str(Fraction)`` writes: read from its integers, without Fraction's text parser."""
_FRACTIONS: dict[str, Fraction] = {}
"""Fractions read, by text: a session repeats a few dozen values (rates, readings) thousands
of times, and a Fraction is immutable, so one object serves every event that holds it."""
MAX_CACHED_FRACTIONS = 4_096


def _read_fraction(value: object) -> object:
    if isinstance(value, str):
        found = _FRACTIONS.get(value)
        if found is not None:
            return found
        if _PLAIN_FRACTION.fullmatch(value):
            numerator, _, denominator = value.partition("/")
            below = int(denominator) if denominator else 1
            if below:  # ``Fraction("1/0")`` raises ZeroDivisionError, as before: left to it
                if len(_FRACTIONS) >= MAX_CACHED_FRACTIONS:
                    _FRACTIONS.clear()
                found = _FRACTIONS[value] = Fraction(int(numerator), below)
                return found
    elif isinstance(value, bool) or not isinstance(value, int):
        return _UNREADABLE
    try:
        return Fraction(value)
    except ValueError:
        return _UNREADABLE


def _read_texts(value: object) -> object:
    return tuple(str(v) for v in value) if isinstance(value, list) else _UNREADABLE


def _read_bool(value: object) -> object:
    return value if isinstance(value, bool) else _UNREADABLE


def _read_int(value: object) -> object:
    return value if isinstance(value, int) and not isinstance(value, bool) else _UNREADABLE


def _read_str(value: object) -> object:
    return value if isinstance(value, str) else _UNREADABLE


def _refuse(value: object) -> object:
    return _UNREADABLE


def _reader(hint: Any) -> Reader:
    """The reader of one (non-optional) field type."""
    plain: dict[Any, Reader] = {
        datetime: _read_time,
        Fraction: _read_fraction,
        bool: _read_bool,
        int: _read_int,
        str: _read_str,
    }
    if typing.get_origin(hint) is tuple:
        return _read_texts
    return plain.get(hint, _refuse)


_PLANS: dict[type, tuple[tuple[str, bool, bool, Reader], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, bool, bool, Reader], ...]:
    """Per field of an event class: its name, whether it has a default, whether it may be
    None (``X | None``) and the reader of ``X``; built once per class."""
    found = _PLANS.get(cls)
    if found is None:
        plan = []
        for f in fields(cls):
            hint = field_types(cls)[f.name]
            optional = isinstance(hint, types.UnionType)
            if optional:
                (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            plan.append((f.name, f.default is not MISSING, optional, _reader(hint)))
        found = _PLANS[cls] = tuple(plan)
    return found


def event_from_dict(payload: dict[str, Any]) -> Event:
    """Read a stored event, upcasting older schema versions first. Each class's field
    readers are built once (``_plan``): a cold read decodes thousands of events."""
    if not isinstance(payload, dict):
        raise InvalidEvent(f"a stored event must be an object, got {payload!r}", field="type")
    current = upcast(payload)
    cls = EVENT_TYPES[current["type"]]
    values: dict[str, Any] = {}
    for name, has_default, optional, read in _plan(cls):
        if name not in current:
            if has_default:
                continue  # a field added with a default (e.g. ``corrected_at``) reads as it
            raise InvalidEvent(f"{cls.TYPE} is missing field {name}", field=name)
        value = current[name]
        decoded = None if optional and value is None else read(value)
        if decoded is _UNREADABLE:
            raise InvalidEvent(f"field {name} has an unreadable value {value!r}", field=name)
        values[name] = decoded
    return cls(**values)
