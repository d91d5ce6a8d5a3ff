"""SessionService over every unit of work: persistent, acknowledged after commit, concurrent.

The same use cases the CLI runs in memory, now on the fake, SQLite and PostgreSQL: a second
service on the same store (another worker or a restart) sees every acknowledged event, and two
services acting on one session with the same expected version cannot both win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction

import pytest

from msinfusion.application.ports import UnitOfWork
from msinfusion.application.session_summary import summary_from_view
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.errors import CommandRefused, ConcurrencyError, SessionNotFound
from msinfusion.session import commands as cmd
from msinfusion.session import replay, view_at
from msinfusion.session.codec import event_to_dict
from msinfusion.session.interchange import command_from_dict
from tests.unit.session.helpers import at, premedicate, protocol

Factory = Callable[[], UnitOfWork]
PROTOCOL = "ocrelizumab-600-standard"


def _started(factory: Factory) -> tuple[SessionService, str]:
    service = SessionService(shipped_catalog(), unit_of_work=factory)
    session = service.create_session()
    service.handle(
        session,
        cmd.CheckIn(
            at=at(-150), user="nurse-a", patient_id="p-001", protocol_id=PROTOCOL, dose_number=3
        ),
    )
    service.handle(session, cmd.RecordAssessment(at=at(-145), user="nurse-a", passed=True))
    premedicate(service, session, PROTOCOL)
    first = Fraction(protocol(PROTOCOL).ladder.steps[0].rate_ml_per_h)
    service.handle(session, cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=first))
    return service, session


def test_events_are_stored_in_codec_form_and_a_new_service_replays_them(
    uow_factory: Factory,
) -> None:
    service, session = _started(uow_factory)
    events = service.list_events(session)
    with uow_factory() as uow:
        stored = uow.events.read(session)
    assert [{k: v for k, v in e.items() if k != "command"} for e in stored] == [
        event_to_dict(e) for e in events
    ]
    # Each entry's first event carries the command it was decided from, in interchange form.
    commands = [command_from_dict(e["command"]) for e in stored if "command" in e]
    assert [type(c).__name__ for c in commands][:2] == ["CheckIn", "RecordAssessment"]
    restarted = SessionService(shipped_catalog(), unit_of_work=uow_factory)
    assert restarted.list_events(session) == events
    assert restarted.get_state(session) == replay(events) == service.get_state(session)
    assert restarted.get_view(session, at(30)) == service.get_view(session, at(30))


def test_the_board_summary_is_written_with_the_events(uow_factory: Factory) -> None:
    service, session = _started(uow_factory)
    events = service.list_events(session)
    with uow_factory() as uow:
        stored = uow.sessions.get(session)
    assert stored == summary_from_view(session, view_at(events, protocol(PROTOCOL)))
    assert (stored.status, stored.version, stored.protocol_id) == (
        "infusing",
        len(events),
        PROTOCOL,
    )


def test_a_refused_command_stores_nothing(uow_factory: Factory) -> None:
    service, session = _started(uow_factory)
    version = service.get_version(session)
    with pytest.raises(CommandRefused):
        service.handle(
            session, cmd.ChangeRate(at=at(1), user="nurse-a", rate_ml_per_h=Fraction(999))
        )
    with uow_factory() as uow:
        assert uow.events.version(session) == version
        assert uow.sessions.get(session).version == version


def test_unknown_and_duplicate_sessions(uow_factory: Factory) -> None:
    service = SessionService(shipped_catalog(), unit_of_work=uow_factory)
    with pytest.raises(SessionNotFound):
        service.get_version("session-none")
    service.create_session("s-1")
    assert SessionService(shipped_catalog(), unit_of_work=uow_factory).get_version("s-1") == 0
    with pytest.raises(ConcurrencyError):
        SessionService(shipped_catalog(), unit_of_work=uow_factory).create_session("s-1")


def test_a_service_sees_what_another_service_appended(uow_factory: Factory) -> None:
    first, session = _started(uow_factory)
    second = SessionService(shipped_catalog(), unit_of_work=uow_factory)
    version = second.get_version(session)
    first.handle(session, cmd.RecordVitals(at=at(5), user="nurse-a", spo2_pct=Fraction(98)))
    second.handle(
        session,
        cmd.RecordVitals(at=at(6), user="nurse-b", spo2_pct=Fraction(97)),
        expected_version=version + 1,
    )
    assert first.list_events(session) == second.list_events(session)
    assert first.get_version(session) == version + 2


def test_two_services_with_the_same_expected_version_exactly_one_wins(
    uow_factory: Factory,
) -> None:
    first, session = _started(uow_factory)
    second = SessionService(shipped_catalog(), unit_of_work=uow_factory)
    version = second.get_version(session)
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def act(name: str, service: SessionService, minute: int) -> None:
        command = cmd.RecordVitals(at=at(minute), user=name, spo2_pct=Fraction(96))
        start.wait()
        try:
            results[name] = service.handle(session, command, expected_version=version)
        except ConcurrencyError as error:
            results[name] = error

    threads = [
        threading.Thread(target=act, args=("nurse-a", first, 7)),
        threading.Thread(target=act, args=("nurse-b", second, 8)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    won = [name for name, r in results.items() if isinstance(r, tuple)]
    lost = [r for r in results.values() if isinstance(r, ConcurrencyError)]
    assert len(won) == 1
    assert len(lost) == 1
    assert (lost[0].expected, lost[0].actual) == (version, version + 1)
    events = SessionService(shipped_catalog(), unit_of_work=uow_factory).list_events(session)
    assert len(events) == version + 1
    assert events[-1].user == won[0]
    assert first.list_events(session) == second.list_events(session) == events
