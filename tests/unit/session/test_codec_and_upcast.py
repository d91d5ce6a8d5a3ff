"""Events round-trip through their stored form; v1 vitals upcast to v2 (Celsius), exactly, and
v2 vitals to v3 (consciousness and supplemental oxygen not observed)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidEvent
from msinfusion.monitoring.news2 import score_news2
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from msinfusion.session import event_from_dict, event_to_dict, replay
from msinfusion.session.alerting import vital_signs_of
from msinfusion.session.events import VitalsRecorded
from tests.unit.session.helpers import at, change_rate, started


def test_every_event_of_a_session_round_trips_through_json() -> None:
    service, s = started("ocrelizumab-600-standard")
    change_rate(service, s, 30, 80)
    service.handle(
        s, cmd.RecordVitals(at=at(31), temperature_c=Fraction("37.2"), spo2_pct=Fraction(97))
    )
    service.handle(
        s,
        cmd.RecordReaction(
            at=at(40), severity=Severity.MODERATE, symptoms=("fever",), ctcae_grade=2
        ),
    )
    service.handle(
        s, cmd.CorrectEntry(at=at(41), corrects_sequence=7, reason="typo", correction="37.3")
    )
    events = service.list_events(s)
    stored = json.loads(json.dumps([event_to_dict(e) for e in events]))
    restored = [event_from_dict(p) for p in stored]
    assert restored == list(events)
    assert replay(restored) == service.get_state(s)


def test_vitals_v1_fahrenheit_upcasts_to_v2_celsius() -> None:
    v1 = {
        "type": "VitalsRecorded",
        "version": 1,
        "at": "2025-03-03T09:30:00+00:00",
        "user": "nurse-a",
        "systolic_mmhg": "120",
        "diastolic_mmhg": "80",
        "heart_rate_bpm": "72",
        "spo2_pct": None,
        "temperature_f": "100.4",
        "respiratory_rate_per_min": None,
    }
    event = event_from_dict(v1)
    assert isinstance(event, VitalsRecorded)
    assert event.temperature_c == 38  # (100.4 - 32) x 5/9 = 38 exactly
    assert (event.consciousness, event.supplemental_oxygen) == (None, None)  # v1 -> v2 -> v3
    assert event_to_dict(event)["version"] == 5  # v4: recorded when it arrived; v5: MAP
    assert event.mean_arterial_mmhg is None  # not measured before v5
    assert event.recorded_at == event.at
    assert "temperature_f" not in event_to_dict(event)


def test_vitals_v2_upcast_to_v3_without_consciousness_or_oxygen() -> None:
    v2 = {
        "type": "VitalsRecorded",
        "version": 2,
        "at": "2025-03-03T09:30:00+00:00",
        "user": "nurse-a",
        "systolic_mmhg": "98",
        "diastolic_mmhg": None,
        "heart_rate_bpm": "112",
        "spo2_pct": "94",
        "temperature_c": "192/5",
        "respiratory_rate_per_min": "22",
    }
    event = event_from_dict(v2)
    assert isinstance(event, VitalsRecorded)
    assert (event.temperature_c, event.heart_rate_bpm) == (Fraction("38.4"), Fraction(112))
    assert (event.consciousness, event.supplemental_oxygen) == (None, None)  # not observed
    stored = event_to_dict(event)
    assert (stored["version"], stored["consciousness"], stored["supplemental_oxygen"]) == (
        5,
        None,
        None,
    )
    assert event_from_dict(stored) == event
    # Not an observation: an old set stays incomplete for NEWS2, never "alert, on air".
    vitals = vital_signs_of(event, at=event.at, user=event.user)
    assert score_news2(vitals).missing == ("air_or_oxygen", "consciousness")


def test_vitals_v3_keeps_consciousness_and_oxygen() -> None:
    service, s = started("ocrelizumab-600-standard")
    service.handle(
        s,
        cmd.RecordVitals(
            at=at(31),
            spo2_pct=Fraction(95),
            consciousness=Consciousness.VOICE,
            supplemental_oxygen=True,
        ),
    )
    (recorded,) = [e for e in service.list_events(s) if isinstance(e, VitalsRecorded)]
    stored = event_to_dict(recorded)
    assert (stored["version"], stored["consciousness"], stored["supplemental_oxygen"]) == (
        5,
        "V",
        True,
    )
    assert event_from_dict(json.loads(json.dumps(stored))) == recorded


def test_a_stored_unknown_consciousness_letter_is_kept_but_not_a_baseline() -> None:
    service, s = started("ocrelizumab-600-standard")
    events = list(service.list_events(s))
    bad = {
        "type": "VitalsRecorded",
        "version": 3,
        "at": at(31).isoformat(),
        "user": "nurse-a",
        "systolic_mmhg": "120",
        "diastolic_mmhg": None,
        "heart_rate_bpm": None,
        "spo2_pct": None,
        "temperature_c": None,
        "respiratory_rate_per_min": None,
        "consciousness": "X",
        "supplemental_oxygen": None,
    }
    state = replay([*events, event_from_dict(bad)])
    assert state.last_vitals_at == at(31)
    assert state.baseline_vitals is None  # a readable letter would have made 120 the baseline


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "NoSuchEvent", "version": 1},
        {"type": "VitalsRecorded", "version": 9},
        {
            "type": "VitalsRecorded",
            "version": 3,
            "at": "2025-03-03T09:30:00+00:00",
            "user": "n",
            "systolic_mmhg": "120",
            "diastolic_mmhg": None,
            "heart_rate_bpm": None,
            "spo2_pct": None,
            "temperature_c": None,
            "respiratory_rate_per_min": None,
            "consciousness": None,
            "supplemental_oxygen": "no",
        },
        {
            "type": "PatientDischarged",
            "version": 1,
            "at": "2025-03-03T09:30:00",
            "user": "n",
            "note": None,
        },
        {"type": "PatientDischarged", "version": 1, "user": "n", "note": None},
    ],
)
def test_unreadable_events_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidEvent):
        event_from_dict(payload)


def _fraction_as_before(text: str) -> object:
    """The oracle: the codec's former reading of a stored fraction (``Fraction(text)``)."""
    try:
        return Fraction(text)
    except ValueError:
        return "unreadable"
    except ZeroDivisionError:
        return "zero division"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.fractions().map(str),
        st.from_regex(r"\A[-+ ]?[0-9_]{0,4}(/[-+ 0-9_]{0,4})?[ .e0-9]{0,2}\Z"),
        st.text(max_size=6),
    )
)
def test_a_stored_fraction_reads_as_the_text_parser_reads_it(text: str) -> None:
    # The codec reads the "n" and "n/d" text str(Fraction) writes from its integers (and keeps
    # them): every text must read exactly as Fraction's own parser reads it, or be refused.
    vitals = dict.fromkeys(
        ("systolic_mmhg", "diastolic_mmhg", "spo2_pct", "temperature_c", "respiratory_rate_per_min")
    )
    payload = event_to_dict(
        VitalsRecorded(at=at(1), user="n", heart_rate_bpm=Fraction(70), **vitals)
    )
    payload["heart_rate_bpm"] = text
    expected = _fraction_as_before(text)
    try:
        read = event_from_dict(dict(payload))
        assert isinstance(read, VitalsRecorded)
        found: object = read.heart_rate_bpm
    except InvalidEvent:
        found = "unreadable"
    except ZeroDivisionError:
        found = "zero division"
    assert found == expected
    if isinstance(expected, Fraction):
        assert isinstance(found, Fraction)
        assert (found.numerator, found.denominator) == (expected.numerator, expected.denominator)
