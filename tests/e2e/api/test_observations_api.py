"""POST /api/observations: the same matching, idempotency and quarantine as PCD-01, over HTTP."""

from __future__ import annotations

from typing import Any

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World


def body(key: str = "obs-1", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "idempotency_key": key,
        "chair": "Chair 1",
        "observed_at": NOW.isoformat(),
        "observations": [
            {"system": "LOINC", "code": "8480-6", "value": 88, "unit": "mm[Hg]"},
            {"system": "MDC", "code": "147842", "value": 125, "unit": "264864"},
        ],
    }
    return base | changes


def test_a_device_posts_observations_once_and_they_raise_alerts(world: World) -> None:
    session = world.ids["session"]
    first = world.request(Role.DEVICE, "POST", "/api/observations", json=body())
    assert first.status_code == 201, first.text
    accepted = first.json()
    assert (accepted["outcome"], accepted["session_id"]) == ("accepted", session)
    # 88 mmHg (3 points) and 125 /min (2 points): extreme systolic, and worse than baseline.
    assert accepted["alert_ids"]
    again = world.request(Role.DEVICE, "POST", "/api/observations", json=body())
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["version"] is None
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{session}/events").json()
    assert events["version"] == accepted["version"]
    devices = {e["user"] for e in events["events"] if e["type"] == "VitalsRecorded"}
    assert devices == {"device:device1"}
    alerts = world.request(Role.VIEWER, "GET", "/api/alerts").json()
    assert {a["alert_id"] for a in alerts} >= set(accepted["alert_ids"])


def test_unusable_observations_are_quarantined_with_the_reason(world: World) -> None:
    wrong_unit = body(
        "obs-2", observations=[{"system": "LOINC", "code": "8867-4", "value": 70, "unit": "Hz"}]
    )
    response = world.request(Role.NURSE, "POST", "/api/observations", json=wrong_unit)
    assert response.status_code == 422
    assert response.json()["error"] == "observation-quarantined"
    assert response.json()["reason_code"] == "unmappable"
    unknown = world.request(Role.DEVICE, "POST", "/api/observations", json=body("o3", chair="X"))
    assert unknown.json()["reason_code"] == "unknown-patient"
    held = world.request(Role.ADMIN, "GET", "/api/quarantine").json()
    assert sorted(h["reason_code"] for h in held) == ["unknown-patient", "unmappable"]


def test_a_malformed_body_is_refused_before_the_feed(world: World) -> None:
    response = world.request(Role.DEVICE, "POST", "/api/observations", json=body(extra=1))
    assert (response.status_code, response.json()["field"]) == (422, "extra")
    assert world.request(Role.VIEWER, "POST", "/api/observations", json=body()).status_code == 403
