"""A chart snapshot: the folded chart of one stream version as a JSON-ready document.

A snapshot holds what a replay of the stream up to ``version`` would produce: every entry
(its sequence, its command in the interchange form, its events as stored and, when a late
entry changed them, as they hold now), the clinical order, and the folded ``SessionState``.
Events use the event codec (``session.codec``, upcasting on read), commands the interchange
codec (``session.interchange``; read back as ``LazyCommand``, decoded only when a fold needs
them), the state a generic encoding of its frozen dataclasses
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
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from msinfusion.errors import InvalidCommand, InvalidEvent
from msinfusion.session.chart import Chart, Entry, LazyCommand
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.commands import Command
from msinfusion.session.interchange import command_from_dict, command_to_dict
from msinfusion.session.state import SessionState

SNAPSHOT_SCHEMA = 1
"""The snapshot layout and fold version (bump when either changes)."""


Encoder = Callable[[object], object]
_ENCODERS: dict[type, Encoder] = {}


def encode_value(value: object) -> object:
    """A frozen value (dataclasses, tuples, enums, exact numbers, times) as JSON-ready data.
    The encoder of each type is chosen once and kept (a board summary encodes a whole
    ``SessionState`` per command: issue 22)."""
    kind = type(value)
    encode = _ENCODERS.get(kind)
    if encode is None:
        encode = _ENCODERS[kind] = _encoder_of(kind)
    return encode(value)


def _same(value: object) -> object:
    return value


def _encoder_of(kind: type) -> Encoder:  # noqa: PLR0911  (one return per kind of value)
    """The encoder of values of ``kind``, by the rules of ``encode_value`` in their order."""
    if kind is type(None) or issubclass(kind, bool | int | str):
        return _same
    if issubclass(kind, datetime):
        return lambda value: typing.cast(datetime, value).isoformat()
    if issubclass(kind, Fraction | Decimal):
        return str
    if issubclass(kind, enum.Enum):
        return lambda value: typing.cast(enum.Enum, value).value
    if issubclass(kind, tuple | list):
        return lambda value: [encode_value(v) for v in typing.cast(tuple[object, ...], value)]
    if issubclass(kind, frozenset):
        return lambda value: sorted(
            str(encode_value(v)) for v in typing.cast(frozenset[object], value)
        )
    if issubclass(kind, Mapping):
        return lambda value: {
            str(k): encode_value(v) for k, v in typing.cast(Mapping[object, object], value).items()
        }
    if is_dataclass(kind):
        names = tuple(f.name for f in fields(kind))
        return lambda value: {name: encode_value(getattr(value, name)) for name in names}

    def refuse(value: object) -> object:
        raise TypeError(f"a snapshot cannot hold a {kind.__name__}")

    return refuse


Decoder = Callable[[object], object]
_DECODERS: dict[Any, Decoder] = {}


def _fraction(value: str) -> Fraction:
    """``Fraction(value)`` for the ``"n"`` or ``"n/d"`` text ``str(Fraction)`` writes, without
    Fraction's general text parser (a board decodes thousands); anything else goes to it."""
    numerator, slash, denominator = value.partition("/")
    try:
        return Fraction(int(numerator), int(denominator) if slash else 1)
    except (ValueError, ZeroDivisionError):
        return Fraction(value)


def _plain_decoder(hint: Any) -> Decoder:  # noqa: PLR0911  (one return per kind of value)
    def refuse(value: object) -> object:
        raise ValueError(f"{value!r} is not a {hint}")

    if hint is datetime:

        def as_datetime(value: object) -> object:
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    return parsed
            return refuse(value)

        return as_datetime
    if hint is Fraction:
        return lambda value: _fraction(value) if isinstance(value, str) else refuse(value)
    if hint is Decimal:
        return lambda value: Decimal(value) if isinstance(value, str) else refuse(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is bool:
        return lambda value: value if isinstance(value, bool) else refuse(value)
    if hint is int:
        return lambda value: (
            value if isinstance(value, int) and not isinstance(value, bool) else refuse(value)
        )
    if hint is str:
        return lambda value: value if isinstance(value, str) else refuse(value)
    return refuse


def _dataclass_decoder(cls: type) -> Decoder:
    hints = typing.get_type_hints(cls)
    names = frozenset(f.name for f in fields(cls))
    parts = [(name, _decoder(hints[name])) for name in sorted(names)]

    def as_dataclass(value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError(f"{value!r} is not a {cls}")
        if value.keys() != names:
            raise ValueError(f"{cls.__name__} fields differ: {sorted(set(value) ^ names)}")
        return cls(**{name: decode(value[name]) for name, decode in parts})

    return as_dataclass


def _build_decoder(hint: Any) -> Decoder:
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        decode_inner = _decoder(inner)
        return lambda value: None if value is None else decode_inner(value)
    args = typing.get_args(hint)
    if origin in (tuple, frozenset, Mapping, dict):
        kind = tuple if origin is tuple else frozenset
        item = _decoder(args[1] if origin in (Mapping, dict) else args[0])

        def as_collection(value: object) -> object:
            if origin in (Mapping, dict):
                if not isinstance(value, dict):
                    raise ValueError(f"{value!r} is not a {hint}")
                return {str(k): item(v) for k, v in value.items()}
            if not isinstance(value, list):
                raise ValueError(f"{value!r} is not a {hint}")
            return kind(item(v) for v in value)

        return as_collection
    if isinstance(hint, type) and is_dataclass(hint):
        return _dataclass_decoder(hint)
    return _plain_decoder(hint)


def _decoder(hint: Any) -> Decoder:
    found = _DECODERS.get(hint)
    if found is None:
        found = _DECODERS[hint] = _build_decoder(hint)
    return found


def decode_value(hint: Any, value: object) -> object:
    """``encode_value`` reversed, guided by the type ``hint``; ``ValueError`` if it does not fit.
    The decoder of each hint is built once (from its type hints) and kept."""
    return _decoder(hint)(value)


def _command_payload(source: Command | LazyCommand | None) -> object:
    """The stored form of an entry's command; one read from a snapshot is written back as
    it was read (not decoded just to be encoded again)."""
    if source is None:
        return None
    if isinstance(source, LazyCommand):
        return source.payload
    return command_to_dict(source)


def _entry_to_dict(entry: Entry) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "command": _command_payload(entry.source),
        "stored": [event_to_dict(e) for e in entry.stored],
        "events": None
        if entry.events == entry.stored
        else [event_to_dict(e) for e in entry.events],
    }


def _entry_from_dict(payload: Mapping[str, Any]) -> Entry:
    """An entry, its command kept undecoded (``LazyCommand``): read only if a refold needs it."""
    raw = payload["command"]
    stored = tuple(event_from_dict(e) for e in payload["stored"])
    folded = payload["events"]
    events = stored if folded is None else tuple(event_from_dict(e) for e in folded)
    if not stored:
        raise ValueError("an entry has at least one stored event")
    if raw is not None and not isinstance(raw, dict):
        raise ValueError(f"an entry's command is not an object: {raw!r}")
    return Entry(
        sequence=int(payload["sequence"]),
        source=None if raw is None else LazyCommand(raw, command_from_dict),
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
