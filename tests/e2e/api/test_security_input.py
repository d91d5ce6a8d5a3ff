"""Input that used to reach a 5xx (issue 20): lone surrogates in free text, dates near year
9999, unknown order options — each is a 422 naming the field, and nothing unreadable is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.application.records import Role
from tests.e2e.api.security_worlds import WorldMaker
from tests.e2e.api.world import World, build_world

FAR = "9999-12-31T23:59:59-14:00"


def _post(world: World, role: Role, path: str, body: dict[str, Any]) -> Any:
    # Sent as raw JSON so that a lone surrogate travels as the escape a client would write.
    raw = json.dumps(body).encode()
    headers = {**world.auth(role), "Content-Type": "application/json"}
    return world.client.post(path, content=raw, headers=headers)


def _patient(world: World) -> str:
    created = _post(world, Role.PHYSICIAN, "/api/patients", {"display_name": "Synthetic X"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_lone_surrogate_is_422_naming_the_field(make_world: WorldMaker) -> None:
    world = make_world()
    refused = _post(world, Role.NURSE, "/api/patients", {"display_name": "A\udc00B"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "display_name"
    assert world.request(Role.NURSE, "GET", "/api/patients").status_code == 200
    pair = _post(world, Role.NURSE, "/api/patients", {"display_name": "Emoji \U0001f600 ok"})
    assert pair.status_code == 201


def test_unknown_order_options_are_refused_at_the_order(make_world: WorldMaker) -> None:
    world = make_world()
    patient = _patient(world)
    body = {"patient_id": patient, "therapy_id": "natalizumab", "start_date": "2026-03-02"}
    for options, field in (({"bogus": "1"}, "option:bogus"), ({"interval": "9w"}, None)):
        refused = _post(world, Role.PHYSICIAN, "/api/orders", {**body, "options": options})
        assert refused.status_code == 422, refused.text
        if field:
            assert refused.json()["field"] == field
    assert world.request(Role.PHYSICIAN, "GET", "/api/orders").json() == []
    ok = _post(world, Role.PHYSICIAN, "/api/orders", {**body, "options": {"interval": "4w"}})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        (Role.ADMIN, "GET", f"/api/audit?since={FAR.replace('+', '%2B')}"),
        (Role.NURSE, "GET", "/api/board?date=9999-12-31"),
        (Role.NURSE, "GET", "/api/appointments?date=9999-12-31"),
        (
            Role.NURSE,
            "GET",
            f"/api/catalog/ocrelizumab-600-standard/plan?start={FAR}&dose_number=1",
        ),
        (
            Role.NURSE,
            "GET",
            "/api/catalog/ocrelizumab-600-standard/plan?start=0001-01-01T00:00:00%2B14:00&dose_number=1",
        ),
    ],
)
def test_dates_near_the_ends_of_the_calendar_are_422(
    make_world: WorldMaker, role: Role, method: str, path: str
) -> None:
    world = make_world()
    response = world.request(role, method, path)
    assert response.status_code == 422, (path, response.status_code, response.text)


def test_an_order_in_year_9999_is_422(make_world: WorldMaker) -> None:
    world = make_world()
    body = {"patient_id": _patient(world), "therapy_id": "ocrelizumab", "start_date": "9999-12-31"}
    assert _post(world, Role.PHYSICIAN, "/api/orders", body).status_code == 422


FREE_TEXT = [
    (Role.NURSE, "/api/patients", "display_name", {}),
    (Role.ADMIN, "/api/chairs", "name", {}),
    (
        Role.ADMIN,
        "/api/users",
        "display_name",
        {"username": "fuzzuser", "role": "viewer", "password": "a long fuzz passphrase"},
    ),
]


@pytest.fixture(scope="module")
def fuzz_world() -> World:
    return build_world(clinical=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(st.characters(codec=None), min_size=1, max_size=40),
    case=st.sampled_from(FREE_TEXT),
)
def test_any_unicode_in_free_text_is_422_or_stored_and_stays_readable(
    fuzz_world: World, text: str, case: tuple[Role, str, str, dict[str, Any]]
) -> None:
    role, path, field, extra = case
    body = {**extra, field: text}
    if "username" in body:
        body["username"] = f"fuzz{abs(hash(text)) % 10**8}"
    response = _post(fuzz_world, role, path, body)
    assert response.status_code in (201, 409, 422), response.text
    if any("\ud800" <= c <= "\udfff" for c in text):
        assert response.status_code == 422
        assert response.json()["field"] == field
    listing = path if path != "/api/users" else "/api/users"
    reader = Role.ADMIN if path in ("/api/users", "/api/chairs") else Role.NURSE
    assert fuzz_world.request(reader, "GET", listing).status_code == 200


def test_a_session_note_with_a_lone_surrogate_leaves_the_session_readable(
    memory_world: World,
) -> None:
    world, session = memory_world, memory_world.ids["session"]
    version = world.request(Role.NURSE, "GET", f"/api/sessions/{session}").json()["version"]
    command = {
        "type": "RecordLineEvent",
        "at": "2026-03-02T10:44:00+00:00",
        "user": "nurse1",
        "kind": "site_check",
        "note": "\udc00",
    }
    body = {"command": command, "expected_version": version}
    refused = _post(world, Role.NURSE, f"/api/sessions/{session}/commands", body)
    assert refused.status_code == 422
    assert world.request(Role.NURSE, "GET", f"/api/sessions/{session}").status_code == 200
    assert world.request(Role.NURSE, "GET", f"/api/sessions/{session}/events").status_code == 200
