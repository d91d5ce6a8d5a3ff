"""``encode_value`` keeps one encoder per type (issue 22); the generic walk it replaced is the
oracle: the same JSON-ready data, key order included, for every folded state of simulated
visits and for arbitrary nested values."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.catalog.model import Severity
from msinfusion.session import replay
from msinfusion.session.simulate import ScriptedReaction, simulate
from msinfusion.session.snapshot import encode_value
from msinfusion.session.state import Status
from tests.unit.session.helpers import START, protocol


def reference_encode_value(value: object) -> object:  # noqa: PLR0911  (the replaced code)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Fraction | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [reference_encode_value(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(str(reference_encode_value(v)) for v in value)
    if isinstance(value, Mapping):
        return {str(k): reference_encode_value(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: reference_encode_value(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"a snapshot cannot hold a {type(value).__name__}")


def _same(value: object) -> None:
    assert json.dumps(encode_value(value)) == json.dumps(reference_encode_value(value))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    protocol_id=st.sampled_from(["ocrelizumab-600-standard", "natalizumab-300"]),
    reactions=st.lists(
        st.builds(
            ScriptedReaction,
            minute=st.integers(min_value=5, max_value=200).map(Fraction),
            severity=st.sampled_from([Severity.MILD, Severity.MODERATE]),
        ),
        max_size=2,
        unique_by=lambda r: r.minute,
    ),
)
def test_every_folded_state_of_a_visit_encodes_as_the_generic_walk_did(
    protocol_id: str, reactions: list[ScriptedReaction]
) -> None:
    visit = simulate(protocol(protocol_id), START, sorted(reactions, key=lambda r: r.minute))
    for length in range(1, len(visit.events) + 1):
        _same(replay(visit.events[:length]))


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.fractions()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.just(UTC))
    | st.sampled_from(Status)
    | st.sampled_from(Severity),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_value_encodes_as_the_generic_walk_did(value: object) -> None:
    _same(value)


def test_what_a_snapshot_cannot_hold_is_refused_alike() -> None:
    for value in (object(), timedelta(minutes=1), Status, 1.5j):
        with pytest.raises(TypeError) as new:
            encode_value(value)
        with pytest.raises(TypeError) as old:
            reference_encode_value(value)
        assert str(new.value) == str(old.value)
