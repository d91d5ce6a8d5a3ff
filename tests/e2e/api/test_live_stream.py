"""GET /api/stream: committed changes reach a subscriber as server-sent events."""

from __future__ import annotations

import json

from msinfusion.application.records import Role
from tests.e2e.api.world import build_world


def events_of(text: str) -> list[tuple[str, dict[str, str]]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_a_session_command_is_announced_on_the_stream() -> None:
    world = build_world()
    session = world.ids["session"]
    before = world.centre.live.since(0)[-1].sequence
    version = world.request(Role.NURSE, "GET", f"/api/sessions/{session}").json()["version"]
    sent = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session}/commands",
        json={
            "expected_version": version,
            "command": {
                "command": "RecordVitals",
                "at": "2026-03-02T10:45:00+00:00",
                "heart_rate_bpm": 80,
            },
        },
    )
    assert sent.status_code == 200, sent.text
    response = world.request(
        Role.VIEWER, "GET", "/api/stream?limit=1", headers={"Last-Event-ID": str(before)}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    ((kind, data),) = events_of(response.text)
    assert kind == "session-changed"
    assert data["session_id"] == session
    assert data["version"] == str(version + 1)


def test_anonymous_callers_get_no_stream() -> None:
    world = build_world()
    assert world.request(None, "GET", "/api/stream?limit=1").status_code == 401
