"""Infusion-session use cases for adapters: permissions and audit around ``SessionService``.

A command arrives in the public interchange form (``session/interchange.py``). Its ``user`` is
the authenticated user: a command naming someone else is refused (field ``user``). The command
needs its own action from the permission matrix, and ``override_soft_limit`` when it carries an
``override_reason``. Every command — accepted, refused by a safety rule, stale or malformed —
leaves an audit entry; reading a session (it holds a patient id) is audited too. An accepted
command's audit entry is written in the transaction that appends its events
(``SessionService.handle(before_commit=...)``): both are stored, or neither.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from msinfusion.application.alert_notices import announce_alerts
from msinfusion.application.audit import Actor, Gate, Subject, entry, outcome_of
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.handlers import referenced
from msinfusion.application.live import LiveUpdates
from msinfusion.application.permissions import Action, require_command
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import AppointmentStatus
from msinfusion.application.session_service import SessionService
from msinfusion.errors import AccessError, InvalidCommand, MsinfusionError
from msinfusion.planning.gates import GateStage, require_clear
from msinfusion.session.codec import event_to_dict
from msinfusion.session.commands import CheckIn, Command, StartInfusion
from msinfusion.session.events import Event
from msinfusion.session.interchange import COMMANDS, command_from_dict
from msinfusion.session.queries import SessionView
from msinfusion.session.state import Status

log = logging.getLogger(__name__)

_EXPONENT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)[eE]([+-]?\d+)\s*$")
MAX_DECIMAL_EXPONENT = 30
"""A decimal string such as ``"1e999999999"`` would take minutes to read exactly: refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    session_id: str
    version: int
    events: tuple[dict[str, Any], ...]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT_LENGTH = 2000


def _guard_text(name: str, value: str) -> None:
    if len(value) > MAX_TEXT_LENGTH or _CONTROL.search(value):
        raise InvalidCommand(
            f"{name} must be text of at most {MAX_TEXT_LENGTH} printable characters", field=name
        )
    match = _EXPONENT.match(value)
    if match and abs(int(match.group(2))) > MAX_DECIMAL_EXPONENT:
        raise InvalidCommand(f"{name} is out of range", field=name)


def _guard_values(command: Mapping[str, Any]) -> None:
    """Refuse text no store should hold (control characters, NUL) and runaway exponents."""
    for name, value in command.items():
        _guard_text("command", str(name))
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str):
                _guard_text(str(name), item)


def parse_command(actor: Actor, command: Mapping[str, Any]) -> Command:
    """The typed command of ``command`` sent by ``actor`` (``user`` filled in and checked)."""
    user = command.get("user", actor.username)
    if user != actor.username:
        raise InvalidCommand("user must be your own user name (or left out)", field="user")
    _guard_values(command)
    return command_from_dict({**command, "user": actor.username})


def live_view(
    service: SessionService, session_id: str, now: datetime, display_tz: tzinfo
) -> SessionView:
    """The view at ``now`` — or at the last event when that is later (a clock running behind)."""
    last = service.get_state(session_id).last_at
    when = None if last is not None and last > now else now
    return service.get_view(session_id, when, display_tz=display_tz)


class SessionUseCases:
    """Open sessions, send commands, read views and events — with permissions and audit."""

    def __init__(
        self,
        gate: Gate,
        service: SessionService,
        *,
        new_id: Callable[[str], str],
        live: LiveUpdates | None = None,
        clinical: ClinicalRecords | None = None,
    ) -> None:
        self._gate = gate
        self._service = service
        self._new_id = new_id
        self._live = live or LiveUpdates()
        self._clinical = clinical

    @property
    def service(self) -> SessionService:
        return self._service

    def open_session(self, actor: Actor, *, appointment_id: str | None = None) -> str:
        """A new, empty session (its first command is ``CheckIn``), linked to an appointment.

        The stream is created in its own transaction first (``SessionService``); the link and
        the audit entry follow in one more. A lost race for the appointment leaves an empty,
        unlinked stream behind, which holds nothing.
        """
        session_id = self._new_id("session")
        subject = Subject(verb="session.open", resource_type="session", resource_id=session_id)
        self._gate.authorize(actor, Action.OPEN_SESSION, subject)

        def link(uow: UnitOfWork) -> str:
            if appointment_id is not None:
                appointment = referenced(uow.appointments, appointment_id, "appointment_id")
                if appointment.session_id is not None or appointment.status in (
                    AppointmentStatus.CANCELLED,
                    AppointmentStatus.COMPLETED,
                ):
                    raise InvalidCommand(
                        "the appointment is closed or has a session", field="appointment_id"
                    )
                linked = replace(
                    appointment, session_id=session_id, status=AppointmentStatus.CHECKED_IN
                )
                uow.appointments.update(linked)
            return session_id

        if appointment_id is not None:
            with self._gate.uow_factory() as uow:  # refuse early, before creating the stream
                link(uow)
        self._service.create_session(session_id)
        opened = self._gate.run(actor, Action.OPEN_SESSION, subject, link)
        self._live.publish("session-changed", at=actor.at, session_id=session_id)
        if appointment_id is not None:
            self._live.publish("appointment-changed", at=actor.at, appointment_id=appointment_id)
        return opened

    def send(
        self,
        actor: Actor,
        session_id: str,
        command: Mapping[str, Any],
        *,
        expected_version: int,
    ) -> CommandResult:
        """Decide and store one command; raises the session errors unchanged (after auditing)."""
        name = str(command.get("command", "?"))[:40]
        subject = Subject(
            verb=f"session.command.{name}", resource_type="session", resource_id=session_id
        )
        try:
            if name not in COMMANDS:
                known = ", ".join(COMMANDS)
                raise InvalidCommand(f"unknown command {name!r}; known: {known}", field="command")
            require_command(
                actor.role, name, has_override=command.get("override_reason") is not None
            )
            typed = parse_command(actor, command)
            if isinstance(typed, CheckIn):
                with self._gate.uow_factory() as uow:
                    referenced(uow.patients, typed.patient_id, "patient_id")
            gates_clear = (
                self._start_gates(session_id, typed.at)
                if isinstance(typed, StartInfusion)
                else None
            )

            def audit(uow: UnitOfWork) -> None:
                if gates_clear is not None:
                    gates_clear(uow)
                uow.audit.record(entry(actor, subject, "ok", at=actor.at))

            events = self._service.handle(
                session_id, typed, expected_version=expected_version, before_commit=audit
            )
            version = self._service.get_version(session_id)
        except (AccessError, MsinfusionError) as error:
            self._gate.note(actor, subject, outcome_of(error))
            raise
        log.info("audit %s %s ok", subject.verb, actor.user_id)
        self._live.publish(
            "session-changed", at=actor.at, session_id=session_id, version=str(version)
        )
        announce_alerts(self._live, session_id, events, at=actor.at)
        return CommandResult(
            session_id=session_id,
            version=version,
            events=_numbered(events, first=version - len(events) + 1),
        )

    def _start_gates(self, session_id: str, at: datetime) -> Callable[[UnitOfWork], None] | None:
        """Starting the dose needs every mandatory gate passed or validly overridden (issue 7).

        Checked after the engine accepted the command, in the transaction that stores it, so a
        protocol refusal (e.g. the premedication window) is reported first and a result
        retracted meanwhile cannot slip through.
        """
        clinical = self._clinical
        if clinical is None:
            return None
        state = self._service.get_state(session_id)
        if state.status is not Status.CHECKED_IN or not state.protocol_id:
            return None  # the engine refuses the command with its own rule

        def require_gates(uow: UnitOfWork) -> None:
            order_id = next(
                (a.order_id for a in uow.appointments.list() if a.session_id == session_id), None
            )
            gates = clinical.dose_gates(
                uow,
                patient_id=state.patient_id,
                protocol_id=state.protocol_id,
                dose_number=state.dose_number,
                on=clinical.local_day(at),
                order_id=order_id,
                booked_count=False,
                course_day=state.course_day,
                excluding_session_id=session_id,
            )
            require_clear(gates.gates, GateStage.START)

        return require_gates

    def get_view(
        self, actor: Actor, session_id: str, *, at: datetime | None, display_tz: tzinfo
    ) -> tuple[int, SessionView]:
        """The session's version and its view at ``at`` (default: now, the request time)."""
        subject = Subject(verb="session.read", resource_type="session", resource_id=session_id)
        self._gate.authorize(actor, Action.READ_SESSION, subject)
        try:
            version = self._service.get_version(session_id)
            view = (
                live_view(self._service, session_id, actor.at, display_tz)
                if at is None
                else self._service.get_view(session_id, at, display_tz=display_tz)
            )
        except MsinfusionError as error:
            self._gate.note(actor, subject, outcome_of(error))
            raise
        self._gate.note(actor, subject, "ok")
        return version, view

    def list_events(self, actor: Actor, session_id: str) -> list[dict[str, Any]]:
        subject = Subject(
            verb="session.events.read", resource_type="session", resource_id=session_id
        )
        self._gate.authorize(actor, Action.READ_SESSION, subject)
        try:
            events: tuple[Event, ...] = self._service.list_events(session_id)
        except MsinfusionError as error:
            self._gate.note(actor, subject, outcome_of(error))
            raise
        self._gate.note(actor, subject, "ok")
        return list(_numbered(events, first=1))


def _numbered(events: Sequence[Event], *, first: int) -> tuple[dict[str, Any], ...]:
    """Stored-form events with their ``sequence`` in the stream (1-based; ``version`` is the
    event's schema version)."""
    return tuple(
        {"sequence": first + index, **event_to_dict(event)} for index, event in enumerate(events)
    )
