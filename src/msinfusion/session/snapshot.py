"""A chart snapshot: the folded chart of one stream version as a JSON-ready document.

A snapshot holds what a replay of the stream up to ``version`` would produce: every entry
(its sequence, its command in the interchange form, its events as stored and, when a late
entry changed them, as they hold now), the clinical order, and the folded ``SessionState``.
Events use the event codec (``session.codec``, upcasting on read), commands the interchange
codec (``session.interchange``), the state a generic encoding of its frozen dataclasses
(fractions and decimals as exact strings, times as ISO 8601 with offset, enums by value).

A snapshot is derived data. ``SNAPSHOT_SCHEMA`` names the document's layout *and* the fold
that produced it: change the chart's folding rules (``session.chart``, ``session.decide``,
``session.evolve``) or this layout, and bump it; a snapshot of another schema is never read
(the reader replays the stream instead). ``chart_from_dict`` raises ``InvalidEvent`` for any
document it cannot read exactly, so the caller can fall back to a replay.

>>> from msinfusion.session.chart import Chart
>>> chart_from_dict(chart_to_dict(Chart())) == Chart()
True
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from msinfusion.errors import InvalidCommand, InvalidEvent
from msinfusion.session.chart import Chart, Entry
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.interchange import command_from_dict, command_to_dict
from msinfusion.session.state import SessionState

SNAPSHOT_SCHEMA = 1
"""The snapshot layout and fold version (bump when either changes)."""


def encode_value(value: object) -> object:  # noqa: PLR0911  (one return per kind of value)
    """A frozen value (dataclasses, tuples, enums, exact numbers, times) as JSON-ready data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Fraction | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode_value(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(str(encode_value(v)) for v in value)
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode_value(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"a snapshot cannot hold a {type(value).__name__}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode_union(hint: Any, value: object) -> object:
    if value is None:
        return None
    (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return decode_value(inner, value)


def _decode_plain(hint: Any, value: object) -> object:
    if hint is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed
    elif hint is Fraction and isinstance(value, str):
        return Fraction(value)
    elif hint is Decimal and isinstance(value, str):
        return Decimal(value)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    elif (
        (hint is bool and isinstance(value, bool))
        or (hint is int and isinstance(value, int) and not isinstance(value, bool))
        or (hint is str and isinstance(value, str))
    ):
        return value
    raise ValueError(f"{value!r} is not a {hint}")


def decode_value(hint: Any, value: object) -> object:
    """``encode_value`` reversed, guided by the type ``hint``; ``ValueError`` if it does not fit."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        return _decode_union(hint, value)
    args = typing.get_args(hint)
    if origin is tuple and isinstance(value, list):
        return tuple(decode_value(args[0], v) for v in value)
    if origin is frozenset and isinstance(value, list):
        return frozenset(decode_value(args[0], v) for v in value)
    if origin in (Mapping, dict) and isinstance(value, dict):
        return {str(k): decode_value(args[1], v) for k, v in value.items()}
    if isinstance(hint, type) and is_dataclass(hint) and isinstance(value, dict):
        hints = _hints(hint)
        names = {f.name for f in fields(hint)}
        if set(value) != names:
            raise ValueError(f"{hint.__name__} fields differ: {sorted(set(value) ^ names)}")
        return hint(**{name: decode_value(hints[name], value[name]) for name in names})
    return _decode_plain(hint, value)


def _entry_to_dict(entry: Entry) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "command": None if entry.command is None else command_to_dict(entry.command),
        "stored": [event_to_dict(e) for e in entry.stored],
        "events": None
        if entry.events == entry.stored
        else [event_to_dict(e) for e in entry.events],
    }


def _entry_from_dict(payload: Mapping[str, Any]) -> Entry:
    raw = payload["command"]
    stored = tuple(event_from_dict(dict(e)) for e in payload["stored"])
    folded = payload["events"]
    events = stored if folded is None else tuple(event_from_dict(dict(e)) for e in folded)
    if not stored:
        raise ValueError("an entry has at least one stored event")
    return Entry(
        sequence=int(payload["sequence"]),
        command=None if raw is None else command_from_dict(dict(raw)),
        stored=stored,
        events=events,
    )


def chart_to_dict(chart: Chart) -> dict[str, Any]:
    """The snapshot document of ``chart`` (``version`` = its number of stored events)."""
    return {
        "schema": SNAPSHOT_SCHEMA,
        "version": chart.version,
        "entries": [_entry_to_dict(entry) for entry in chart.entries],
        "order": [entry.sequence for entry in chart.order],
        "state": encode_value(chart.state),
    }


def chart_from_dict(payload: Mapping[str, Any]) -> Chart:
    """The chart a snapshot document holds; ``InvalidEvent`` if it cannot be read exactly
    (another schema, a missing field, a value that does not fit, an inconsistent order)."""
    try:
        if payload.get("schema") != SNAPSHOT_SCHEMA:
            raise ValueError(f"snapshot schema {payload.get('schema')!r}")
        entries = tuple(_entry_from_dict(e) for e in payload["entries"])
        by_sequence = {entry.sequence: entry for entry in entries}
        order = tuple(by_sequence[int(s)] for s in payload["order"])
        state = decode_value(SessionState, payload["state"])
        chart = Chart(entries=entries, order=order, state=typing.cast(SessionState, state))
        if len(order) != len(entries) or chart.version != payload["version"]:
            raise ValueError("the snapshot's order or version does not match its entries")
    except (InvalidEvent, InvalidCommand, KeyError, TypeError, ValueError, InvalidOperation) as e:
        raise InvalidEvent(f"the session snapshot cannot be read ({e})", field="snapshot") from e
    return chart
