"""A command charted before its transaction (``SessionStreams.prepare``, issue 22) is used only
when the transaction reads that very stream, and then decides exactly what charting it inside
the transaction decides; otherwise the command is charted again on what is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

import pytest

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.records import Role
from msinfusion.application.session_streams import Decision, SessionStreams
from msinfusion.application.sessions import SessionService
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session.simulate import simulate
from tests.e2e.api.world import NOW, build_world
from tests.unit.application.started_sessions import started_session, vitals_after
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"


def _started() -> tuple[SessionService, str, InMemoryDatabase]:
    return started_session(simulate(protocol(PROTOCOL), START, dose_number=3).commands)


@pytest.fixture
def chartings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The commands ``SessionStreams`` charts (``_charted``), in order."""
    seen: list[object] = []
    original = SessionStreams._charted

    def counted(self: SessionStreams, stream: object, command: object, **kw: object) -> object:
        seen.append(command)
        return original(self, stream, command, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(SessionStreams, "_charted", counted)
    return seen


def _decide(
    database: InMemoryDatabase,
    streams: SessionStreams,
    sid: str,
    command: cmd.Command,
    **kw: object,
) -> tuple[Decision, object, list[dict[str, object]]]:
    """The decision, the board summary and the new stored events, rolled back."""
    with InMemoryUnitOfWork(database) as uow:
        version = streams.read_in(uow, sid).version
        decision = streams.decide_in(uow, sid, command, None, recorded_at=command.at, **kw)  # type: ignore[arg-type]
        return decision, uow.sessions.get(sid), uow.events.read(sid, after_version=version)


def test_a_prepared_command_is_not_charted_again_and_decides_the_same(
    chartings: list[object],
) -> None:
    service, sid, database = _started()
    streams = service.streams
    vitals = vitals_after(service, sid, 3)
    inside, inside_summary, inside_events = _decide(database, streams, sid, vitals)
    prepared = streams.prepare(sid, vitals, recorded_at=vitals.at)
    assert prepared is not None
    chartings.clear()
    decision, summary, events = _decide(database, streams, sid, vitals, prepared=prepared)
    assert chartings == []  # the transaction used the prepared charting
    assert decision.after.chart == inside.after.chart
    assert decision.new_events == inside.new_events != ()
    assert decision.command == inside.command
    assert summary == inside_summary
    assert summary.projected_infusion_end is not None  # type: ignore[attr-defined]
    assert events == inside_events
    command = events[0]["command"]
    assert isinstance(command, dict)
    assert command["command"] == "RecordVitals"


def test_a_prepared_command_on_a_stream_that_moved_on_is_charted_again(
    chartings: list[object],
) -> None:
    service, sid, database = _started()
    streams = service.streams
    vitals = vitals_after(service, sid, 3)
    prepared = streams.prepare(sid, vitals, recorded_at=vitals.at)
    assert prepared is not None
    service.handle(sid, vitals_after(service, sid, 1))  # another writer, after the prepare
    chartings.clear()
    decision, summary, _ = _decide(database, streams, sid, vitals, prepared=prepared)
    assert chartings == [vitals]
    assert decision.before.version == prepared.stream.version + 1
    fresh, fresh_summary, _ = _decide(database, streams, sid, vitals)
    assert decision.after.chart == fresh.after.chart
    assert summary == fresh_summary


def test_a_prepared_charting_of_another_command_or_clock_is_not_used(
    chartings: list[object],
) -> None:
    service, sid, database = _started()
    streams = service.streams
    vitals = vitals_after(service, sid, 3)
    prepared = streams.prepare(sid, vitals, recorded_at=vitals.at)
    assert prepared is not None
    other = replace(vitals, heart_rate_bpm=Fraction(90))
    chartings.clear()
    decision, _, _ = _decide(database, streams, sid, other, prepared=prepared)
    assert chartings == [other]
    assert decision.command.heart_rate_bpm == Fraction(90)  # type: ignore[attr-defined]
    assert not prepared.is_for(prepared.stream, vitals, vitals.at + timedelta(seconds=1), False)


def test_a_refused_command_prepares_nothing_and_the_transaction_refuses_it() -> None:
    service, sid, database = _started()
    too_fast = cmd.ChangeRate(
        at=vitals_after(service, sid, 1).at, user="nurse-a", rate_ml_per_h=Fraction(10_000)
    )
    assert service.streams.prepare(sid, too_fast, recorded_at=too_fast.at) is None
    with pytest.raises(CommandRefused):
        _decide(database, service.streams, sid, too_fast)


def test_nothing_is_prepared_for_a_stream_not_in_the_cache() -> None:
    service, sid, _ = _started()
    vitals = vitals_after(service, sid, 3)
    service.streams.forget(sid)
    assert service.streams.prepare(sid, vitals, recorded_at=vitals.at) is None


def test_a_command_over_the_api_is_charted_once_before_its_transaction(
    chartings: list[object],
) -> None:
    world = build_world()
    path = f"/api/sessions/{world.ids['session']}"
    version = world.request(Role.NURSE, "GET", path).json()["version"]

    def post(heart_rate_bpm: int, expected: int) -> int:
        body = {
            "expected_version": expected,
            "command": {
                "command": "RecordVitals",
                "at": NOW.isoformat(),
                "heart_rate_bpm": heart_rate_bpm,
            },
        }
        response = world.request(Role.NURSE, "POST", f"{path}/commands", json=body)
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    version = post(71, version)  # the stream is cached from here on
    chartings.clear()
    after = post(72, version)
    assert after == version + 1
    assert len(chartings) == 1  # prepared, then used in the transaction
    stored = world.service.list_events(world.ids["session"])[-1]
    assert stored.heart_rate_bpm == Fraction(72)  # type: ignore[attr-defined]
