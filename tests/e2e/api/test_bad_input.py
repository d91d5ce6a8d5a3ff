"""Bad input gets a 4xx in the one error shape, naming the field; the store is unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.application.records import Role
from tests.e2e.api.conftest import sqlite_world
from tests.e2e.api.world import NOW, World, build_world

INJECTIONS = (
    "'; DROP TABLE patients; --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "../../etc/passwd",
    "\u202eevil",
)


def _snapshot(world: World) -> dict[str, Any]:
    read = {
        "patients": world.request(Role.NURSE, "GET", "/api/patients").json(),
        "chairs": world.request(Role.NURSE, "GET", "/api/chairs").json(),
        "orders": world.request(Role.NURSE, "GET", "/api/orders").json(),
        "appointments": world.request(
            Role.NURSE, "GET", "/api/appointments?date=2026-03-02"
        ).json(),
        "events": world.request(
            Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events"
        ).json(),
    }
    return read


def _command(**fields: Any) -> dict[str, Any]:
    return {"expected_version": 6, "command": {"at": NOW.isoformat(), **fields}}


BAD_REQUESTS = (
    ("POST", "/api/patients", {"display_name": 42}, "display_name"),
    ("POST", "/api/patients", {"display_name": "A", "shoe_size": 44}, "shoe_size"),
    ("POST", "/api/patients", {"display_name": "A", "height_cm": 9000}, "height_cm"),
    ("POST", "/api/patients", {"display_name": "A", "weight_kg": -3}, "weight_kg"),
    ("POST", "/api/patients", {"display_name": ""}, "display_name"),
    ("POST", "/api/patients", {"display_name": "x" * 201}, "display_name"),
    ("POST", "/api/patients", {"display_name": "nul\u0000byte"}, "display_name"),
    (
        "POST",
        "/api/patients",
        {"display_name": "A", "date_of_birth": "2999-01-01"},
        "date_of_birth",
    ),
    (
        "POST",
        "/api/patients",
        {"display_name": "A", "date_of_birth": "2027-01-01"},
        "date_of_birth",
    ),
    (
        "POST",
        "/api/patients",
        {"display_name": "A", "contraindicated_therapy_ids": ["nope"]},
        "therapy_id",
    ),
    ("POST", "/api/chairs", {"name": ["Chair"]}, "name"),
    (
        "POST",
        "/api/appointments",
        {
            "patient_id": "p",
            "chair_id": "c",
            "protocol_id": "x",
            "dose_number": 1,
            "starts_at": "2026-03-05T08:00:00",
        },
        "starts_at",
    ),
    (
        "POST",
        "/api/appointments",
        {
            "patient_id": "p",
            "chair_id": "c",
            "protocol_id": "x",
            "dose_number": 10**12,
            "starts_at": "2026-03-05T08:00:00Z",
        },
        "dose_number",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        _command(command="ChangeRate", rate_ml_per_h="fast"),
        "rate_ml_per_h",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        _command(command="ChangeRate", rate_ml_per_h=-40),
        "rate_ml_per_h",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        _command(command="ChangeRate", rate_ml_per_h="1e999999999"),
        "rate_ml_per_h",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        _command(command="ChangeRate", rate_ml_per_h=80, speed=1),
        "speed",
    ),
    ("POST", "/api/sessions/{session}/commands", _command(command="DropTables"), "command"),
    (
        "POST",
        "/api/sessions/{session}/commands",
        _command(command="PauseInfusion", reason="a\u0000b"),
        "reason",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        {"expected_version": -1, "command": {}},
        "expected_version",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        {"expected_version": "six", "command": {}},
        "expected_version",
    ),
    (
        "POST",
        "/api/sessions/{session}/commands",
        {"expected_version": 6, "command": {}, "extra": True},
        "extra",
    ),
    ("GET", "/api/catalog/ocrelizumab-600-standard/plan?start=yesterday", None, "start"),
    ("GET", "/api/catalog/ocrelizumab-600-standard/plan?start=2026-03-02T10:00:00", None, "start"),
    ("GET", "/api/board?date=2026-13-45", None, "date"),
    ("GET", "/api/audit?limit=100000000", None, "limit"),
)


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_REQUESTS)
def test_bad_input_is_4xx_naming_the_field_and_changes_nothing(
    method: str, path: str, body: Any, field: str
) -> None:
    world = build_world()
    before = _snapshot(world)
    role = Role.ADMIN if path.startswith("/api/audit") else Role.NURSE
    response = world.request(role, method, path.format(**world.ids), json=body)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()
    assert set(error) >= {"error", "message", "field"}
    assert error["field"] is not None
    assert field in error["field"], error
    assert _snapshot(world) == before


def test_every_bad_request_on_sqlite_changes_nothing(tmp_path: Path) -> None:
    world = sqlite_world(tmp_path)
    before = _snapshot(world)
    for method, path, body, field in BAD_REQUESTS:
        role = Role.ADMIN if path.startswith("/api/audit") else Role.NURSE
        response = world.request(role, method, path.format(**world.ids), json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert field in (response.json()["field"] or ""), (path, body, response.json())
    assert _snapshot(world) == before


def test_malformed_json_is_422_naming_the_body(memory_world: World) -> None:
    response = memory_world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid-input"


@pytest.mark.parametrize("size", [64 * 1024 + 1, 1024 * 1024])
def test_an_oversized_body_is_413_and_changes_nothing(memory_world: World, size: int) -> None:
    before = _snapshot(memory_world)
    body = b'{"display_name": "' + b"x" * size + b'"}'
    response = memory_world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "payload-too-large",
        "message": "the request body is larger than 65536 bytes",
        "field": "body",
    }
    assert _snapshot(memory_world) == before


def test_an_oversized_streamed_body_without_length_is_413(memory_world: World) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = memory_world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_stored_as_plain_text(world: World, text: str) -> None:
    seeded = len(world.request(Role.NURSE, "GET", "/api/patients").json())
    created = world.request(Role.NURSE, "POST", "/api/patients", json={"display_name": text})
    assert created.status_code == 201
    read = world.request(Role.NURSE, "GET", f"/api/patients/{created.json()['id']}")
    assert read.json()["display_name"] == text
    assert len(world.request(Role.NURSE, "GET", "/api/patients").json()) == seeded + 1


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_in_ids_are_404_or_422(memory_world: World, text: str) -> None:
    response = memory_world.request(Role.NURSE, "GET", "/api/patients/" + text.replace("/", "%2F"))
    assert response.status_code in (404, 422)
    assert "error" in response.json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.dictionaries(
        st.sampled_from(["display_name", "height_cm", "weight_kg", "sex", "date_of_birth", "x"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=30),
        ),
    )
)
def test_any_patient_body_is_201_or_a_4xx_naming_a_field(body: dict[str, Any]) -> None:
    world = _SHARED.setdefault("world", build_world())
    response = world.request(Role.NURSE, "POST", "/api/patients", json=body)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["field"]


_SHARED: dict[str, World] = {}
