"""Column types that store msinfusion values exactly on SQLite and PostgreSQL alike.

Times are stored in UTC (ARCHITECTURE decision 3) and come back timezone-aware; decimals and
fractions are stored as exact text (``"72.5"``, ``"25/3"``), never as binary floats; enums as
their stable values; tuples of names as JSON lists.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, Dialect, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, TypeEngine

from msinfusion.session.snapshot import SNAPSHOT_SCHEMA, decode_value, encode_value
from msinfusion.session.state import SessionState

E = TypeVar("E", bound=enum.Enum)

JSON_DOCUMENT: TypeEngine[Any] = JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC; a naive one is refused (it has no defined instant)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalText(TypeDecorator[Decimal]):
    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class FractionText(TypeDecorator[Fraction]):
    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: Fraction | None, dialect: Dialect) -> str | None:
        return None if value is None else str(Fraction(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Fraction | None:
        return None if value is None else Fraction(value)


class EnumValue(TypeDecorator[E], Generic[E]):
    """An enum stored as its value (``Role.NURSE`` → ``"nurse"``)."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: E | None, dialect: Dialect) -> str | None:
        return None if value is None else str(self.enum_class(value).value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)


class NameTuple(TypeDecorator[tuple[str, ...]]):
    """A tuple of strings as a JSON list."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> Any:
        return None if value is None else list(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(str(v) for v in value)


class RecordTuple(TypeDecorator[tuple[Any, ...]]):
    """A tuple of flat frozen dataclasses of text fields (a patient's identifiers, allergies)
    as a JSON list of objects."""

    impl = JSON
    cache_ok = True

    def __init__(self, record_type: type[Any]) -> None:
        super().__init__()
        self.record_type = record_type

    def process_bind_param(self, value: tuple[Any, ...] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return [{f.name: getattr(item, f.name) for f in dataclasses.fields(item)} for item in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Any, ...] | None:
        return None if value is None else tuple(self.record_type(**item) for item in value)


class PairTuple(TypeDecorator[tuple[tuple[str, str], ...]]):
    """Name/value pairs (an order's options) as a JSON list of two-element lists."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: tuple[tuple[str, str], ...] | None, dialect: Dialect
    ) -> Any:
        return None if value is None else [[k, v] for k, v in value]

    def process_result_value(
        self, value: Any, dialect: Dialect
    ) -> tuple[tuple[str, str], ...] | None:
        return None if value is None else tuple((str(k), str(v)) for k, v in value)


class JsonText(TypeDecorator[Mapping[str, Any]]):
    """A JSON object stored as the text ``json.dumps`` writes, keys in the caller's order.

    Only JSON-native values (str, int, float, bool, None, lists, objects with string keys)
    survive a round trip exactly, so anything else (a ``Decimal``, a date, a tuple, a number
    key, NaN) is refused with ``ValueError`` instead of coming back changed.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Mapping[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        document = dict(value)
        try:
            text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"data is not JSON-native: {error}") from None
        if json.loads(text) != document:  # a tuple, a number key
            raise ValueError("data would not read back equal: use lists and string keys only")
        return text

    def process_result_value(self, value: str | None, dialect: Dialect) -> Mapping[str, Any] | None:
        return None if value is None else dict(json.loads(value))


class FoldedStateText(TypeDecorator[SessionState]):
    """A session's folded ``SessionState`` as compact JSON text, tagged with the fold's schema
    (``session.snapshot``'s encoding and ``SNAPSHOT_SCHEMA``). Derived data: a document of
    another schema, or one that does not decode exactly, reads as None, and the reader falls
    back to the stream (the board projection, migration 0017)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: SessionState | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        document = {"schema": SNAPSHOT_SCHEMA, "state": encode_value(value)}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> SessionState | None:
        if value is None:
            return None
        try:
            document = json.loads(value)
            if document.get("schema") != SNAPSHOT_SCHEMA:
                return None
            state = decode_value(SessionState, document["state"])
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
            return None
        return state if isinstance(state, SessionState) else None
