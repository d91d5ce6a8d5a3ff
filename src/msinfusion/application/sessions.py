"""Infusion sessions: the one command path, and the session reads screens need.

Every session command — the chairside form, the JSON API, an alert acknowledgement, the demo
loader — arrives here typed (``session.commands``; adapters parse, ``session.interchange`` is
the one decoder) and goes through ``SessionUseCases.handle(actor, session_id, command,
expected_version)``. Device readings take the same ``SessionStreams.decide_in`` inside the
device feed's transaction (``application/monitoring.py``).

One transaction per command: permission, the engine's decision, the append, the board
projection, the start gates (``StartInfusion``), the audit entry and the patient the page shows,
then one commit. The answer (``CommandOutcome``) holds the committed version, the new events
with their sequence numbers and the view after them, so the HTTP reply and the chairside page
render from it without reading again. After the commit the bus publishes ``SessionCommitted``.

Projectors (``add_projector``) run inside that one transaction, after the decision and before
the commit: what must be stored with the command or not at all — the pump order outbox
(``pump_orders.PumpOrders.project``) — is written there, never by a bus handler afterwards.
A projector that raises rolls the command back; one with nothing to do costs no transaction.

The command's ``user`` must be the authenticated user (field ``user``); a command with an
``override_reason`` also needs ``override_soft_limit``. Every command — accepted, refused by a
safety rule, stale or malformed — leaves an audit entry: the accepted one in the transaction
that stores its events, a refusal in its own. Reading a session (it holds a patient id) is
audited too, in the transaction that reads it.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

from msinfusion.application.audit import Actor, AuditedAccess, Subject, entry, outcome_of
from msinfusion.application.bag_check import require_bag_matches
from msinfusion.application.bus import MessageBus, SessionCommitted, SessionOpened
from msinfusion.application.chair_safety import (
    require_allergy_acknowledged,
    require_cosignable,
    require_identification,
    require_verbal_order,
)
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.permissions import Action, require_command
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.reaction_history import reaction_history, require_not_contraindicated
from msinfusion.application.record_keeping import referenced
from msinfusion.application.records import AppointmentStatus, Patient, SessionSummary
from msinfusion.application.session_streams import (
    SNAPSHOT_EVERY,
    Decision,
    NumberedEvent,
    SessionStreams,
    Stream,
    UnitOfWorkFactory,
    in_transaction,
    numbered,
)
from msinfusion.application.session_views import stream_view
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import (
    AccessError,
    CommandRefused,
    ConcurrencyError,
    DuplicateRecord,
    InvalidCommand,
    MsinfusionError,
    ProtocolNotFound,
    RecordNotFound,
)
from msinfusion.planning.gates import GateStage, require_clear
from msinfusion.session.chart import Chart
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.commands import CheckIn, Command, CosignVerbalOrder, StartInfusion
from msinfusion.session.events import Event
from msinfusion.session.queries import SessionView, state_at
from msinfusion.session.state import SessionState, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChairsideView:
    """A session as one read saw it — version, view (timeline entries, rate segments, due
    actions, alerts) and the patient it is for: what the chairside screen and the session API
    format, never reading again."""

    session_id: str
    version: int
    view: SessionView
    patient: Patient | None
    ordered_premedications: tuple[tuple[str, str], ...] = ()
    """The physician's premedication choices on the session's order (``TherapyOrder``)."""


@dataclass(frozen=True, kw_only=True)
class CommandOutcome:
    """A stored command: the committed version, its events, and the session after them.

    ``view`` is built on first use from the committed stream (``build_view``, a pure function
    of it): the JSON API answers with the version and events only and never pays for it. No
    slots, so that ``cached_property`` can keep it.
    """

    session_id: str
    version: int
    events: tuple[NumberedEvent, ...]
    build_view: Callable[[], SessionView] = field(repr=False, compare=False)
    patient: Patient | None
    ordered_premedications: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def view(self) -> SessionView:
        return self.build_view()

    @property
    def read(self) -> ChairsideView:
        return ChairsideView(
            session_id=self.session_id,
            version=self.version,
            view=self.view,
            patient=self.patient,
            ordered_premedications=self.ordered_premedications,
        )


def view_of(
    stream: Stream, at: datetime | None, display_tz: tzinfo, *, late_after: timedelta = LATE_AFTER
) -> SessionView:
    """The view of ``stream`` at ``at``: its events in clinical order, numbered as stored
    (``view_at``, from the stream version's memo: ``session_views``)."""
    return stream_view(stream, at, display_tz, late_after=late_after)


def live_view(
    stream: Stream, now: datetime, display_tz: tzinfo, *, late_after: timedelta = LATE_AFTER
) -> SessionView:
    """The view at ``now`` — or at the last event when that is later (a clock running behind)."""
    last = stream.state.last_at
    when = None if last is not None and last > now else now
    return view_of(stream, when, display_tz, late_after=late_after)


def _ordered_premedications(uow: UnitOfWork, session_id: str) -> tuple[tuple[str, str], ...]:
    appointment = uow.appointments.find_by_session(session_id)
    if appointment is None or appointment.order_id is None:
        return ()
    return uow.orders.get(appointment.order_id).premedications


def _patient_of(uow: UnitOfWork, stream: Stream) -> Patient | None:
    if not stream.state.patient_id:
        return None
    try:
        return uow.patients.get(stream.state.patient_id)
    except RecordNotFound:
        return None


DecisionProjector = Callable[[UnitOfWork, Decision], None]
"""Called with the command's unit of work and its decision, before the commit."""


class SessionUseCases:
    """Open sessions, handle commands, read views and events — with permissions and audit."""

    def __init__(
        self,
        access: AuditedAccess,
        streams: SessionStreams,
        *,
        new_id: Callable[[str], str],
        bus: MessageBus,
        clinical: ClinicalRecords,
    ) -> None:
        self._access = access
        self._streams = streams
        self._new_id = new_id
        self._bus = bus
        self._clinical = clinical
        self._projectors: list[DecisionProjector] = []

    @property
    def streams(self) -> SessionStreams:
        return self._streams

    def add_projector(self, projector: DecisionProjector) -> None:
        """Run ``projector`` in every accepted command's transaction (module docstring)."""
        self._projectors.append(projector)

    def open_session(self, actor: Actor, *, appointment_id: str | None = None) -> str:
        """A new, empty session (its first command is ``CheckIn``), linked to an appointment,
        in one transaction with its audit entry."""
        session_id = self._new_id("session")
        subject = Subject(verb="session.open", resource_type="session", resource_id=session_id)

        def work(uow: UnitOfWork) -> str:
            if appointment_id is not None:
                appointment = referenced(uow.appointments, appointment_id, "appointment_id")
                if appointment.session_id is not None or appointment.status in (
                    AppointmentStatus.CANCELLED,
                    AppointmentStatus.COMPLETED,
                ):
                    raise InvalidCommand(
                        "the appointment is closed or has a session", field="appointment_id"
                    )
                uow.appointments.update(
                    replace(appointment, session_id=session_id, status=AppointmentStatus.CHECKED_IN)
                )
            _register_stream(uow, session_id)
            return session_id

        opened = self._access.run(actor, Action.OPEN_SESSION, subject, work)
        self._bus.publish(
            SessionOpened(session_id=opened, appointment_id=appointment_id, at=actor.at)
        )
        return opened

    def handle(
        self,
        actor: Actor,
        session_id: str,
        command: Command,
        *,
        expected_version: int | None,
        display_tz: tzinfo,
    ) -> CommandOutcome:
        """Decide and store one command in one transaction (see the module docstring).

        ``expected_version=None`` decides on the newest state, again after a lost race (alert
        acknowledgements); a screen always sends the version it showed. Raises the session
        errors unchanged, after auditing them.
        """
        name = type(command).__name__
        subject = Subject(
            verb=f"session.command.{name}", resource_type="session", resource_id=session_id
        )

        def work(
            uow: UnitOfWork,
        ) -> tuple[Decision, Patient | None, tuple[tuple[str, str], ...]]:
            require_verbal_order(uow, actor, command)
            charted = self._check_in_from_record(uow, session_id, command)
            decision = self._streams.decide_in(
                uow, session_id, charted, expected_version, recorded_at=actor.at, prepared=prepared
            )
            if isinstance(command, StartInfusion):
                self._require_start_gates(uow, session_id, decision.before.state, command.at)
                require_bag_matches(uow, session_id, decision.before.state, command)
            if isinstance(command, CosignVerbalOrder):
                require_cosignable(decision.before.chart, command, actor)
            patient_id = decision.after.state.patient_id or _appointment_patient(uow, session_id)
            patient = None if not patient_id else uow.patients.get(patient_id)
            if patient is not None:
                require_allergy_acknowledged(patient, command)
            if patient is None or patient.id != decision.after.state.patient_id:
                patient = _patient_of(uow, decision.after)  # read once when it is the same
            ordered = _ordered_premedications(uow, session_id)
            for project in self._projectors:
                project(uow, decision)
            # Last: on PostgreSQL the audit chain's append lock is held from here to the commit.
            charted = decision.command
            late = self._streams.policy.is_late(charted.at, charted.recorded_at)
            uow.audit.record(entry(actor, subject, "ok-late" if late else "ok", at=actor.at))
            return decision, patient, ordered

        try:
            verbal = getattr(command, "verbal_order_by", None) is not None
            has_override = command.override_reason is not None and not verbal
            require_command(actor.role, name, has_override=has_override)
            if command.user != actor.username:
                raise InvalidCommand("user must be your own user name (or left out)", field="user")
            # Charted on the cached stream before the write lock; used if still current.
            prepared = self._streams.prepare(session_id, command, recorded_at=actor.at)
            decision, patient, ordered = in_transaction(
                self._access.uow_factory, work, retry=expected_version is None
            )
        except (AccessError, MsinfusionError) as error:
            self._access.note(actor, subject, outcome_of(error))
            raise
        self._streams.remember(session_id, decision)
        log.info("audit %s %s ok", subject.verb, actor.user_id)
        events = decision.numbered_events
        self._bus.publish(
            SessionCommitted(
                session_id=session_id, version=decision.version, events=events, at=actor.at
            )
        )
        return CommandOutcome(
            session_id=session_id,
            version=decision.version,
            events=events,
            build_view=functools.partial(
                live_view,
                decision.after,
                actor.at,
                display_tz,
                late_after=self._streams.policy.late_after,
            ),
            patient=patient,
            ordered_premedications=ordered,
        )

    def _check_in_from_record(self, uow: UnitOfWork, session_id: str, command: Command) -> Command:
        """A check-in as the record makes it: for the appointment's patient, protocol and dose
        (``appointment-mismatch``), never for a contraindicated therapy
        (``therapy-contraindicated``), with the worst earlier reaction to the therapy derived
        from the stored sessions (the worse of that and any given). Other commands pass."""
        if not isinstance(command, CheckIn):
            return command
        patient = referenced(uow.patients, command.patient_id, "patient_id")
        appointment = uow.appointments.find_by_session(session_id)
        if appointment is None or appointment.patient_id == command.patient_id:
            require_identification(patient, command)
        if appointment is not None and (
            appointment.patient_id,
            appointment.protocol_id,
            appointment.dose_number,
        ) != (command.patient_id, command.protocol_id, command.dose_number):
            raise CommandRefused(
                "appointment-mismatch",
                f"this session is for appointment {appointment.id}: patient "
                f"{appointment.patient_id}, {appointment.protocol_id}, dose "
                f"{appointment.dose_number}; the check-in names patient {command.patient_id}, "
                f"{command.protocol_id}, dose {command.dose_number}",
            )
        therapy_id = self._therapy_of(command.protocol_id)
        if therapy_id is None:
            return command  # the engine refuses an unknown protocol with its own rule
        history = reaction_history(uow, self._streams, patient, excluding_session_id=session_id)
        require_not_contraindicated(history, therapy_id)
        known = history.get(therapy_id)
        derived = None if known is None else known.worst_reaction
        given = command.worst_prior_reaction
        worst = (
            derived
            if given is None
            else given
            if derived is None
            else max(given, derived, key=lambda s: s.rank)
        )
        return replace(command, worst_prior_reaction=worst)

    def _therapy_of(self, protocol_id: str) -> str | None:
        try:
            return self._streams.catalog.get_protocol(protocol_id).therapy_id
        except ProtocolNotFound:
            return None

    def _require_start_gates(
        self, uow: UnitOfWork, session_id: str, state: SessionState, at: datetime
    ) -> None:
        """Starting the dose needs a signed, active order (``order-missing``), a therapy the
        patient's history does not contraindicate (``therapy-contraindicated``) and every
        mandatory gate passed or validly overridden.

        Checked after the engine accepted the command, in the transaction that stores it, so a
        protocol refusal (e.g. the premedication window) is reported first and a result
        retracted meanwhile cannot slip through.
        """
        if state.status is not Status.CHECKED_IN or not state.protocol_id:
            return
        appointment = uow.appointments.find_by_session(session_id)
        order = None
        if appointment is not None and appointment.order_id is not None:
            order = uow.orders.get(appointment.order_id)
        if order is None or not order.active:
            raise CommandRefused(
                "order-missing",
                "an infusion starts only under an active physician's order: this session's "
                "appointment has none"
                if appointment is not None
                else "an infusion starts only under an active physician's order: this session "
                "belongs to no appointment",
            )
        therapy_id = self._therapy_of(state.protocol_id)
        if therapy_id is not None:
            patient = uow.patients.get(state.patient_id)
            require_not_contraindicated(
                reaction_history(uow, self._streams, patient, excluding_session_id=session_id),
                therapy_id,
            )
        gates = self._clinical.dose_gates(
            uow,
            patient_id=state.patient_id,
            protocol_id=state.protocol_id,
            dose_number=state.dose_number,
            on=self._clinical.local_day(at),
            order_id=None if appointment is None else appointment.order_id,
            booked_count=False,
            course_day=state.course_day,
            excluding_session_id=session_id,
        )
        require_clear(gates.gates, GateStage.START)

    def get(
        self, actor: Actor, session_id: str, *, at: datetime | None, display_tz: tzinfo
    ) -> ChairsideView:
        """The session's version, its view at ``at`` (default: now) and its patient: one read,
        audited in the same transaction."""
        subject = Subject(verb="session.read", resource_type="session", resource_id=session_id)

        def work(uow: UnitOfWork) -> tuple[Stream, Patient | None, tuple[tuple[str, str], ...]]:
            stream = self._streams.read_in(uow, session_id)
            return stream, _patient_of(uow, stream), _ordered_premedications(uow, session_id)

        stream, patient, ordered = self._access.run(actor, Action.READ_SESSION, subject, work)
        late_after = self._streams.policy.late_after
        view = (
            live_view(stream, actor.at, display_tz, late_after=late_after)
            if at is None
            else view_of(stream, at, display_tz, late_after=late_after)
        )
        return ChairsideView(
            session_id=session_id,
            version=stream.version,
            view=view,
            patient=patient,
            ordered_premedications=ordered,
        )

    def list_events(self, actor: Actor, session_id: str) -> tuple[NumberedEvent, ...]:
        subject = Subject(
            verb="session.events.read", resource_type="session", resource_id=session_id
        )
        stream = self._access.run(
            actor,
            Action.READ_SESSION,
            subject,
            lambda uow: self._streams.read_in(uow, session_id),
        )
        return numbered(stream.stored_events)


def _appointment_patient(uow: UnitOfWork, session_id: str) -> str | None:
    appointment = uow.appointments.find_by_session(session_id)
    return None if appointment is None else appointment.patient_id


def _register_stream(uow: UnitOfWork, session_id: str) -> None:
    """Register a new, empty stream (its summary row); an existing id is a conflict."""
    actual = uow.events.version(session_id)
    try:
        uow.sessions.get(session_id)
    except RecordNotFound:
        pass
    else:
        raise ConcurrencyError(session_id=session_id, expected=0, actual=actual)
    try:
        # An empty stream folds to the initial state; one with events (never, in practice) is
        # read from its stream until its next command.
        empty = SessionState()
        summary = SessionSummary(session_id=session_id, version=actual)
        if actual == 0:
            summary = replace(summary, therapy_contraindicated=False, state=empty)
        uow.sessions.add(summary)
    except DuplicateRecord:
        raise ConcurrencyError(session_id=session_id, expected=0, actual=actual) from None


class SessionService:
    """The engine over storage without actors: tools that act as one operator (``session
    replay``, tests, benchmarks). The same ``decide_in`` and retry loop as the use cases; no
    permissions, audit or notices.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        unit_of_work: UnitOfWorkFactory,
        new_session_id: Callable[[], str] | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        counter = itertools.count(1)
        self._streams = SessionStreams(catalog, snapshot_every=snapshot_every)
        self._unit_of_work = unit_of_work
        self._new_session_id = new_session_id or (lambda: f"session-{next(counter)}")

    @property
    def streams(self) -> SessionStreams:
        return self._streams

    def create_session(self, session_id: str | None = None) -> str:
        """Open an empty stream; its first command must be ``CheckIn``."""
        new_id = session_id or self._new_session_id()
        in_transaction(self._unit_of_work, lambda uow: _register_stream(uow, new_id), retry=False)
        return new_id

    def handle(
        self,
        session_id: str,
        command: Command,
        expected_version: int | None = None,
        *,
        before_commit: Callable[[UnitOfWork], None] | None = None,
    ) -> tuple[Event, ...]:
        """Decide ``command``, store its events, commit, return them. Refusals store nothing;
        ``before_commit(uow)`` runs in the same transaction, right before the commit."""

        def work(uow: UnitOfWork) -> Decision:
            decision = self._streams.decide_in(
                uow,
                session_id,
                command,
                expected_version,
                recorded_at=command.recorded_at or command.at,
            )
            if before_commit is not None:
                before_commit(uow)
            return decision

        decision = in_transaction(self._unit_of_work, work, retry=expected_version is None)
        self._streams.remember(session_id, decision)
        return decision.new_events

    def _read(self, session_id: str) -> Stream:
        with self._unit_of_work() as uow:
            return self._streams.read_in(uow, session_id)

    def get_version(self, session_id: str) -> int:
        return self._read(session_id).version

    def get_chart(self, session_id: str) -> Chart:
        """The session's entries in recording and clinical order, and the folded state."""
        return self._read(session_id).chart

    def list_events(self, session_id: str) -> tuple[Event, ...]:
        """The stored events in recording order (stream numbers 1, 2, ...)."""
        return self._read(session_id).stored_events

    def get_state(self, session_id: str, at: datetime | None = None) -> SessionState:
        """The folded state, integrated to ``at`` when given."""
        stream = self._read(session_id)
        return stream.state if at is None else state_at(stream.events, at)

    def get_view(
        self, session_id: str, at: datetime | None = None, *, display_tz: tzinfo | None = None
    ) -> SessionView:
        return view_of(self._read(session_id), at, display_tz or UTC)
