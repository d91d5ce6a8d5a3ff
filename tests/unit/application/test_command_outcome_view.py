"""A command's answer builds the session view only when it is asked for (issue 22): the JSON
API replies with the version and events, the chairside page renders the view."""

from __future__ import annotations

from datetime import UTC
from fractions import Fraction
from typing import Any

import pytest

from msinfusion.application import sessions
from msinfusion.application.records import Role
from msinfusion.session.commands import RecordVitals
from tests.e2e.api.world import NOW, World, actor_for, build_world, in_memory_factory


@pytest.fixture
def world() -> World:
    return build_world(in_memory_factory())


def count_views(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    eager = sessions.live_view

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return eager(*args, **kwargs)

    monkeypatch.setattr(sessions, "live_view", counted)
    return built


def test_the_json_api_answer_builds_no_view(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    path = f"/api/sessions/{world.ids['session']}"
    version = world.request(Role.NURSE, "GET", path).json()["version"]
    built = count_views(monkeypatch)
    command = {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": 72}
    body = {"expected_version": version, "command": command}
    response = world.request(Role.NURSE, "POST", f"{path}/commands", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + 1
    assert built == []


def test_the_view_is_built_once_and_is_the_view_after_the_command(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = world.ids["session"]
    nurse = actor_for(world, Role.NURSE)
    read = world.centre.sessions.get(nurse, session_id, at=NOW, display_tz=UTC)
    built = count_views(monkeypatch)
    outcome = world.centre.sessions.handle(
        nurse,
        session_id,
        RecordVitals(at=NOW, user=nurse.username, heart_rate_bpm=Fraction(72)),
        expected_version=read.version,
        display_tz=UTC,
    )
    assert built == []
    first = outcome.view
    assert outcome.view is first
    assert outcome.read.view is first
    assert built == [1]
    after = world.centre.sessions.get(nurse, session_id, at=NOW, display_tz=UTC)
    assert after.version == outcome.version == read.version + 1
    assert first.events == after.view.events == read.view.events + 1
    assert first.state.last_vitals_at == after.view.state.last_vitals_at == NOW
