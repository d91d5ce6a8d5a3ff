"""The JSON observation format: codes and units map as in PCD-01; every malformed class is named."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from msinfusion.application.observations import JsonObservationCodec, decode_observation
from msinfusion.errors import InvalidVitalSigns, MalformedMessage, UnmappableMessage


def document(**changes: Any) -> str:
    base: dict[str, Any] = {
        "idempotency_key": "k-1",
        "sender": "monitor-7",
        "chair": "Chair 7",
        "observed_at": "2026-03-02T10:45:00+01:00",
        "observations": [
            {"system": "LOINC", "code": "8867-4", "value": 72, "unit": "/min"},
            {"system": "MDC", "code": "150021", "value": "118", "unit": "266016"},
            {"system": "urn:iso:std:iso:11073:10101", "code": "150456", "value": 97, "unit": "%"},
            {"system": "LOINC", "code": "8310-5", "value": "100.4", "unit": "[degF]"},
            {"system": "MDC", "code": "188736", "value": 70, "unit": "kg"},  # not a vital sign
        ],
    }
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def test_loinc_and_mdc_codes_map_to_vital_signs() -> None:
    reading = decode_observation(document())
    assert reading.message_key == "rest:monitor-7:k-1"
    assert (reading.patient_id, reading.chair_name) == (None, "Chair 7")
    v = reading.vitals
    assert (v.heart_rate_bpm, v.systolic_mmhg, v.spo2_pct) == (72, 118, 97)
    assert v.temperature_c == Decimal("38.00")  # (100.4 - 32) x 5/9
    assert v.measured_at.isoformat() == "2026-03-02T10:45:00+01:00"


@pytest.mark.parametrize(
    ("text", "error", "field"),
    [
        ("not json", MalformedMessage, "body"),
        ("[1]", MalformedMessage, "body"),
        (document(idempotency_key=""), MalformedMessage, "idempotency_key"),
        (document(chair=None), MalformedMessage, "patient_id"),
        (document(observed_at="2026-03-02T10:45:00"), MalformedMessage, "observed_at"),
        (document(observations=[]), MalformedMessage, "observations"),
        (document(observations=[{"system": "SNOMED", "code": "1", "value": 1, "unit": "x"}]),
         MalformedMessage, "observations[0].system"),
        (document(observations=[{"system": "LOINC", "code": "8867-4", "value": "x",
                                  "unit": "/min"}]),
         MalformedMessage, "observations[0].value"),
        (document(observations=[{"system": "LOINC", "code": "8867-4", "value": 72, "unit": "Hz"}]),
         UnmappableMessage, "observations[0].unit"),
        (document(observations=[{"system": "MDC", "code": "188736", "value": 70, "unit": "kg"}]),
         UnmappableMessage, "observations"),
        (document(observations=[{"system": "LOINC", "code": "8867-4", "value": 400,
                                  "unit": "/min"}]),
         InvalidVitalSigns, "heart_rate_bpm"),
    ],
)  # fmt: skip
def test_every_malformed_class_names_its_field(
    text: str, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as raised:
        decode_observation(text)
    assert getattr(raised.value, "field", None) == field


def test_the_answer_is_json_saying_what_happened() -> None:
    codec = JsonObservationCodec()
    from datetime import UTC, datetime

    now = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)
    ok = json.loads(codec.answer(document(), now=now, error=None, session_id="session-1"))
    assert ok == {"outcome": "accepted", "session_id": "session-1", "received_at": now.isoformat()}
    bad = json.loads(
        codec.answer("x", now=now, error=MalformedMessage("the body is not JSON"), session_id=None)
    )
    assert (bad["outcome"], bad["reason"]) == ("quarantined", "the body is not JSON")
