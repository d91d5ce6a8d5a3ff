"""Events to and from plain JSON-ready dicts (the storage format), upcasting on read.

Fractions are written as exact strings (``"25/3"``), times as ISO 8601 with offset, tuples as
lists. ``event_from_dict(event_to_dict(e)) == e`` for every event.
"""

from __future__ import annotations

import types
import typing
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


def _decode(hint: Any, value: object, name: str) -> object:
    if isinstance(hint, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner, value, name)
    decoded: object = _UNREADABLE
    try:
        if hint is datetime and isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            decoded = parsed if parsed.tzinfo is not None else _UNREADABLE
        elif hint is Fraction and isinstance(value, (str, int)) and not isinstance(value, bool):
            decoded = Fraction(value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            decoded = tuple(str(v) for v in value)
        elif _is_plain(hint, value):
            decoded = value
    except ValueError:
        decoded = _UNREADABLE
    if decoded is _UNREADABLE:
        raise InvalidEvent(f"field {name} has an unreadable value {value!r}", field=name)
    return decoded


_UNREADABLE = object()


def _is_plain(hint: Any, value: object) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return hint is str and isinstance(value, str)


def event_from_dict(payload: dict[str, Any]) -> Event:
    """Read a stored event, upcasting older schema versions first."""
    current = upcast(payload)
    cls = EVENT_TYPES[current["type"]]
    hints = field_types(cls)
    values: dict[str, Any] = {}
    for field in fields(cls):
        if field.name not in current:
            if field.default is not MISSING:
                continue  # a field added with a default (e.g. ``corrected_at``) reads as it
            raise InvalidEvent(f"{cls.TYPE} is missing field {field.name}", field=field.name)
        values[field.name] = _decode(hints[field.name], current[field.name], field.name)
    return cls(**values)
