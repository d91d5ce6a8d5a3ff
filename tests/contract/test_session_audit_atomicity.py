"""A session command and its audit entry are one transaction, on every back end.

``SessionUseCases.handle`` decides, appends and records the command's audit entry in one unit of
work: a commit that fails (a crash, a full disk) stores neither the events nor the entry; a
commit that succeeds stores both, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from fractions import Fraction
from types import TracebackType
from typing import Any, Self

import pytest

from msinfusion.application.audit import Actor, AuditedAccess
from msinfusion.application.bus import MessageBus
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Patient, PatientIdentifier, Role
from msinfusion.application.sessions import SessionService, SessionUseCases
from msinfusion.catalog import shipped_catalog
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from tests.unit.session.helpers import at

Factory = Callable[[], UnitOfWork]
PROTOCOL = "ocrelizumab-600-standard"
VERB = "session.command.CheckIn"


class Crashes:
    """Units of work that crash on the ``crash_at``-th commit (counting every commit made
    through this factory), as a process killed between two transactions would."""

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.commits = 0
        self.crash_at: int | None = None

    def __call__(self) -> UnitOfWork:
        return _Counted(self.factory(), self)  # type: ignore[return-value]


class _Counted:
    def __init__(self, inner: UnitOfWork, owner: Crashes) -> None:
        self._inner = inner
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self._owner.commits += 1
        if self._owner.commits == self._owner.crash_at:
            raise OSError("the process died before this commit")
        self._inner.commit()


class Crash(Exception):
    pass


def _setup(factory: Factory) -> tuple[SessionUseCases, SessionService, Crashes, str]:
    with factory() as uow:
        uow.patients.add(
            Patient(
                id="p-001",
                display_name="Synthetic Patient",
                identifiers=(PatientIdentifier(system="urn:test:mrn", value="MRN-1"),),
                synthetic=True,
            )
        )
        uow.commit()
    crashes = Crashes(factory)
    service = SessionService(shipped_catalog(), unit_of_work=crashes)
    access = AuditedAccess(crashes)
    use_cases = SessionUseCases(
        access,
        service.streams,
        new_id=lambda prefix: f"{prefix}-1",
        bus=MessageBus(),
        clinical=ClinicalRecords(
            access, shipped_catalog(), new_id=lambda prefix: f"{prefix}-1", centre_tz=UTC
        ),
    )
    session_id = service.create_session("session-1")
    crashes.commits = 0
    return use_cases, service, crashes, session_id


def _nurse() -> Actor:
    return Actor(user_id="user-n", username="nurse-a", role=Role.NURSE, at=at(-150))


def _check_in() -> cmd.CheckIn:
    return cmd.CheckIn(
        at=at(-150),
        user="nurse-a",
        patient_id="p-001",
        protocol_id=PROTOCOL,
        dose_number=3,
        identity_check="wristband",
        confirmed_identifier="MRN-1",
    )


def _stored(factory: Factory, session_id: str) -> tuple[int, list[str]]:
    with factory() as uow:
        events = len(uow.events.read(session_id))
        entries = [e.outcome for e in uow.audit.list() if e.action == VERB]
    return events, entries


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_crash_at_any_commit_of_send_leaves_both_or_neither(
    uow_factory: Factory, crash_at: int
) -> None:
    use_cases, _, crashes, session_id = _setup(uow_factory)
    crashes.crash_at = crash_at
    try:
        use_cases.handle(_nurse(), session_id, _check_in(), expected_version=0, display_tz=UTC)
    except OSError:
        assert _stored(uow_factory, session_id) == (0, [])
    else:
        assert _stored(uow_factory, session_id) == (1, ["ok"])


def test_a_failed_commit_stores_neither_and_a_retry_stores_both_once(
    uow_factory: Factory,
) -> None:
    use_cases, _, crashes, session_id = _setup(uow_factory)
    crashes.crash_at = 1
    with pytest.raises(OSError, match="process died"):
        use_cases.handle(_nurse(), session_id, _check_in(), expected_version=0, display_tz=UTC)
    assert _stored(uow_factory, session_id) == (0, [])
    result = use_cases.handle(_nurse(), session_id, _check_in(), expected_version=0, display_tz=UTC)
    assert result.version == 1
    assert _stored(uow_factory, session_id) == (1, ["ok"])
    with uow_factory() as uow:
        (entry,) = [e for e in uow.audit.list() if e.action == VERB]
    assert (entry.user_id, entry.resource_id, entry.at) == ("user-n", session_id, at(-150))


def test_a_hook_that_raises_rolls_the_events_back(uow_factory: Factory) -> None:
    _, service, _, session_id = _setup(uow_factory)

    def crash(uow: UnitOfWork) -> None:
        uow.audit.record(_entry())
        raise Crash

    command = cmd.CheckIn(
        at=at(-150),
        user="nurse-a",
        patient_id="p-001",
        protocol_id=PROTOCOL,
        dose_number=3,
        identity_check="wristband",
        confirmed_identifier="MRN-1",
    )
    with pytest.raises(Crash):
        service.handle(session_id, command, before_commit=crash)
    assert _stored(uow_factory, session_id) == (0, [])
    assert service.get_version(session_id) == 0  # the service's cache forgot nothing it stored


def test_a_refused_command_is_audited_with_its_rule_and_stores_no_event(
    uow_factory: Factory,
) -> None:
    use_cases, _, _, session_id = _setup(uow_factory)
    start = cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=Fraction(40))
    with pytest.raises(CommandRefused, match="checked in"):
        use_cases.handle(_nurse(), session_id, start, expected_version=0, display_tz=UTC)
    with uow_factory() as uow:
        outcomes = [e.outcome for e in uow.audit.list() if e.resource_id == session_id]
        assert uow.events.read(session_id) == []
    assert outcomes == ["refused:not-checked-in"]


def _entry() -> Any:
    from msinfusion.application.audit import Subject, entry

    subject = Subject(verb=VERB, resource_type="session", resource_id="session-1")
    return entry(_nurse(), subject, "ok", at=at(-150))
