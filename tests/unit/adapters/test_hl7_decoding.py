"""The faster HL7 reading (issue 22) reads exactly what the plain one did: DTM times against
``strptime``, and remembered ER7 components against splitting the field afresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.adapters.hl7.er7 import Delimiters, Segment
from msinfusion.adapters.hl7.hl7_time import parse_hl7_time
from msinfusion.errors import MalformedMessage

PLUS_ONE = timezone(timedelta(hours=1))


def by_strptime(digits: str) -> datetime | None:
    try:
        local = datetime.strptime(digits.ljust(14, "0"), "%Y%m%d%H%M%S")  # noqa: DTZ007 - oracle
    except ValueError:
        return None
    return local.replace(tzinfo=PLUS_ONE)


@given(digits=st.text(alphabet="0123456789", min_size=12, max_size=14))
def test_a_dtm_reads_as_strptime_reads_it(digits: str) -> None:
    expected = by_strptime(digits)
    if expected is None:
        with pytest.raises(MalformedMessage, match="is not an HL7 date-time"):
            parse_hl7_time(digits + "+0100", "OBX-14")
    else:
        assert parse_hl7_time(digits + "+0100", "OBX-14") == expected


def test_dtm_examples_and_refusals() -> None:
    assert parse_hl7_time(" 20260302104500+0000 ", "MSH-7") == datetime(
        2026, 3, 2, 10, 45, tzinfo=UTC
    )
    assert parse_hl7_time("202603021045-0130", "MSH-7").utcoffset() == timedelta(minutes=-90)
    for bad in ("20260230104500+0000", "20261302104500+0000", "20260302246000+0000"):
        with pytest.raises(MalformedMessage):
            parse_hl7_time(bad, "MSH-7")


FIELD_TEXT = st.text(alphabet="ab1 ^~&\\FST", max_size=30)


@given(
    fields=st.lists(FIELD_TEXT, min_size=1, max_size=6),
    asks=st.lists(st.tuples(st.integers(0, 7), st.integers(1, 4), st.integers(0, 2)), max_size=30),
)
def test_remembered_components_are_the_fields_split_afresh(
    fields: list[str], asks: list[tuple[int, int, int]]
) -> None:
    delimiters = Delimiters()
    segment = Segment("OBX", ("OBX", *fields), delimiters)
    for number, component, repetition in asks:
        raw = segment.field(number).split("~")
        rep = raw[repetition] if repetition < len(raw) else ""
        parts = rep.split("^")
        part = parts[component - 1] if component - 1 < len(parts) else ""
        expected = delimiters.unescape(part.split("&")[0]).strip()
        assert segment.component(number, component, repetition) == expected
        given_parts = segment.components(number, repetition)
        assert given_parts == parts
        given_parts.append("changed by a caller")  # a copy: the remembered split is intact
        assert segment.components(number, repetition) == parts
