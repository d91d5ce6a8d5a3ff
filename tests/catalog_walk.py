"""Helpers shared by the catalog tests: walking a domain value, clock times and protocol lookup.

Catalog domain values are frozen dataclasses nested in dataclasses and tuples; the walk visits
every dataclass instance reachable through fields and tuple items, in field order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from msinfusion.catalog import LadderSegment, load_therapy_file, run_ladder
from msinfusion.catalog.model import (
    Cited,
    Interval,
    IntervalUnit,
    PremedicationWindow,
    Protocol,
    Source,
    Therapy,
)

URL = re.compile(r"^https?://\S+$")
CET = timezone(timedelta(hours=1))
START = datetime(2026, 11, 25, 9, 0, tzinfo=CET)


def _walk(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every dataclass instance inside ``value`` (itself included), with its dotted path."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield path, value
        for field in dataclasses.fields(value):
            yield from _walk(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def cited_values(value: object, path: str = "therapy") -> list[tuple[str, Cited[Any]]]:
    """Every ``Cited`` value inside ``value``, as (dotted path from ``path``, value) pairs."""
    return [(where, item) for where, item in _walk(value, path) if isinstance(item, Cited)]


def sourced_objects(value: object) -> list[Any]:
    """Every dataclass inside ``value`` that has a ``sources`` attribute, except a ``Therapy``."""
    return [
        item
        for _, item in _walk(value, "")
        if hasattr(item, "sources") and not isinstance(item, Therapy)
    ]


def all_sources(value: object) -> list[Source]:
    """Every ``Source`` inside ``value``, repeats included."""
    return [item for _, item in _walk(value, "") if isinstance(item, Source)]


def assert_every_cited_value_has_an_http_source(value: object) -> None:
    """Every ``Cited`` value inside has sources; there are sources, each with an http(s) URL."""
    for path, cited in cited_values(value):
        assert cited.sources, path
    sources = all_sources(value)
    assert sources
    for source in sources:
        assert source.url.startswith(("http://", "https://")), source.id


def assert_every_sourced_object_cites_a_url(value: object) -> None:
    """Every sourced object inside (``Cited`` values too) has sources, each matching ``URL``."""
    for item in sourced_objects(value):
        assert item.sources, item
        for source in item.sources:
            assert URL.match(source.url), source
    for _, cited in cited_values(value):
        assert cited.sources


def load_shipped_therapy(name: str) -> Therapy:
    """One shipped therapy file loaded on its own, so another broken file cannot hide a problem."""
    data = resources.files("msinfusion.catalog").joinpath("data", f"{name}.toml")
    return load_therapy_file(Path(str(data)))


def protocol_of(therapy: Therapy, protocol_id: str) -> Protocol:
    (protocol,) = [p for p in therapy.protocols if p.id == protocol_id]
    return protocol


def run_bag(protocol: Protocol) -> tuple[LadderSegment, ...]:
    """The ladder segments when the protocol's own bag volume is run."""
    return run_ladder(protocol.ladder.steps, protocol.bag_volume_ml.value)


def cumulative(protocol: Protocol) -> list[tuple[Fraction, Fraction]]:
    """(end minute, cumulative mL) of each ladder segment when the protocol's bag is run."""
    return [(seg.end_min, seg.cumulative_volume_ml) for seg in run_bag(protocol)]


def window_bounds(window: PremedicationWindow) -> tuple[Decimal, Decimal | None]:
    """(minimum, maximum) minutes before the start of a premedication window; None: no maximum."""
    latest = window.max_before_start_min
    return window.min_before_start_min.value, None if latest is None else latest.value


def interval_pair(interval: Interval | None) -> tuple[int, IntervalUnit] | None:
    """(value, unit) of a schedule interval, or None where the entry has none."""
    return None if interval is None else (interval.value, interval.unit)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A clock time on the tests' infusion day, 2026-11-25 in CET."""
    return datetime(2026, 11, 25, hour, minute, second, tzinfo=CET)
