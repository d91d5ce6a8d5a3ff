"""Events round-trip through their stored form; v1 vitals upcast to v2 (Celsius), exactly."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidEvent
from msinfusion.session import commands as cmd
from msinfusion.session import event_from_dict, event_to_dict, replay
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
    assert event_to_dict(event)["version"] == 2
    assert "temperature_f" not in event_to_dict(event)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "NoSuchEvent", "version": 1},
        {"type": "VitalsRecorded", "version": 9},
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
