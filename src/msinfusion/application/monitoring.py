"""Device feed and alert use cases: observations from bedside monitors, open alerts, acks.

``DeviceFeed.ingest(transport, text, now=...)`` is the one path for a device message, whatever
its wire format (``hl7-mllp`` PCD-01 via ``adapters/hl7``, ``rest`` JSON via the web adapter):

1. decode it with the transport's ``DeviceCodec`` (malformed, unsupported, unmappable or
   implausible: quarantined);
2. in one transaction: a message whose idempotency key (HL7: sender + MSH-10) was accepted
   before gets the stored answer again and records nothing (``duplicate``); otherwise match the
   session in progress — the patient id (PID-3 / ``patient_id``) and the chair name (PV1-3 bed /
   ``chair``, case-insensitive) must single out one session whose status is checked-in,
   infusing, paused or observation (else ``unknown-patient``: quarantined) — decide
   ``RecordVitals`` as user ``device:<sender>`` (``SessionStreams.decide_in``, the decision path
   of every session command: the alerts the vital signs raise are decided and stored with
   them), store the accepted message with its answer, and commit once, so a crash never leaves
   vitals without their message or the reverse;
3. after the commit, the bus publishes ``SessionCommitted`` (live ``observation-recorded``,
   ``session-changed`` and one ``alert-raised`` per alert).

A refused command (e.g. ``clock-future``: the device's clock runs more than the centre's
tolerance ahead of the receipt) is quarantined too, in its own transaction, and so is a message
whose idempotency key was accepted with other content (``conflict``). Nothing a device sends is
dropped. A message with several readings (OBR groups, observation times) records each as its
own ``RecordVitals`` in the one transaction, or none.
``replay`` (admin) runs a quarantined message through steps 1-3 again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.bus import MessageBus, SessionCommitted
from msinfusion.application.device_batch import BatchRun, MessageWrites
from msinfusion.application.device_matching import (
    IN_PROGRESS,
    AmbiguousPatient,
    SessionMatcher,
    chairs_of_sessions,
    match_key,
    sessions_in_progress,
)
from msinfusion.application.device_outcomes import Accepted, Readings
from msinfusion.application.device_readings import (
    ConflictingMessage,
    reason_code_of,
    vitals_command,
)
from msinfusion.application.device_records import (
    ClockSkew,
    DeviceMessage,
    QuarantinedMessage,
    QuarantineStatus,
    content_hash,
    same_message,
    storable,
)
from msinfusion.application.monitoring_ports import (
    DeviceCodec,
    DeviceReading,
    Receipt,
)
from msinfusion.application.permissions import Action
from msinfusion.application.ports import Savepoints, UnitOfWork
from msinfusion.application.quarantine_replay import replay_held
from msinfusion.application.session_streams import SessionStreams, in_transaction
from msinfusion.errors import (
    ConcurrencyError,
    DeviceMessageError,
    DuplicateRecord,
    InvalidCommand,
    InvalidVitalSigns,
    MonitoringError,
    SessionError,
    UnknownPatient,
    UnmappableMessage,
)
from msinfusion.session.commands import RecordVitals
from msinfusion.session.events import AlertRaised

log = logging.getLogger(__name__)

__all__ = [
    "IN_PROGRESS",
    "AmbiguousPatient",
    "ClockSkew",
    "ConflictingMessage",
    "DeviceFeed",
    "chairs_of_sessions",
    "content_hash",
    "reason_code_of",
    "sessions_in_progress",
    "storable",
    "vitals_command",
]


Failure = tuple[Exception, DeviceReading | None]
Message = tuple[str, datetime]
"""A message's text and when it was received."""


def _stored(uow: UnitOfWork, key: str) -> DeviceMessage | None:
    return uow.device_messages.get_many((key,)).get(key)


class DeviceFeed:
    """Device messages in, answers out; quarantine review (see the module docstring)."""

    def __init__(
        self,
        access: AuditedAccess,
        streams: SessionStreams,
        *,
        bus: MessageBus,
        new_id: Callable[[str], str],
        codecs: Iterable[DeviceCodec] = (),
    ) -> None:
        self._access = access
        self._streams = streams
        self._bus = bus
        self._new_id = new_id
        self._codecs: dict[str, DeviceCodec] = {c.transport: c for c in codecs}
        self._matcher = SessionMatcher()
        self._skew: dict[str, ClockSkew] = {}
        self._lock = threading.Lock()

    def clock_skew(self, actor: Actor) -> dict[str, ClockSkew]:
        """Per sender: how far its readings' times ran from their receipt (a metric)."""
        subject = Subject(verb="devices.clock-skew.read", resource_type="device")
        self._access.authorize(actor, Action.REVIEW_QUARANTINE, subject)
        with self._lock:
            return dict(self._skew)

    def _count_skew(self, sender: str, measured_at: datetime, now: datetime) -> None:
        skew_s = (measured_at - now).total_seconds()
        with self._lock:
            seen = self._skew.get(sender, ClockSkew())
            self._skew[sender] = ClockSkew(
                readings=seen.readings + 1,
                ahead=seen.ahead + (skew_s > 0),
                max_ahead_s=max(seen.max_ahead_s, skew_s),
                max_behind_s=max(seen.max_behind_s, -skew_s),
                last_s=skew_s,
            )

    def has_codec(self, transport: str) -> bool:
        with self._lock:
            return transport in self._codecs

    def add_codec(self, codec: DeviceCodec) -> None:
        """Register (or replace) the codec of ``codec.transport``."""
        with self._lock:
            self._codecs[codec.transport] = codec

    def _codec(self, transport: str) -> DeviceCodec:
        with self._lock:
            codec = self._codecs.get(transport)
        if codec is None:
            raise InvalidCommand(f"no device codec for transport {transport!r}", field="transport")
        return codec

    def ingest(self, transport: str, text: str, *, now: datetime) -> Receipt:
        """Accept, recognise a duplicate, or quarantine one message; never raises for bad
        content (only for an unknown ``transport``)."""
        codec = self._codec(transport)
        outcome = self._attempt(codec, text, now)
        if isinstance(outcome, Receipt):
            return self._committed(outcome, now)
        return self._hold(codec, text, now, *outcome)

    def post_observation(self, actor: Actor, text: str) -> Receipt:
        """``ingest`` of one JSON observation (``application/observations.py``) sent by
        ``actor`` (``ingest_observations``: device, nurse, physician), audited."""
        subject = Subject(verb="observation.post", resource_type="observation")
        self._access.authorize(actor, Action.INGEST_OBSERVATIONS, subject)
        receipt = self.ingest("rest", text, now=actor.at)
        resource = receipt.session_id or receipt.quarantine_id
        outcome = "ok" if receipt.accepted else f"quarantined:{receipt.reason_code}"
        self._access.note(actor, replace(subject, resource_id=resource), outcome[:32])
        return receipt

    def _attempt(self, codec: DeviceCodec, text: str, now: datetime) -> Receipt | Failure:
        decoded = self._decoded(codec, text, now)
        return decoded if isinstance(decoded, tuple) else self._recorded(codec, text, now, decoded)

    def _decoded(self, codec: DeviceCodec, text: str, now: datetime) -> Readings | Failure:
        """Step 1: the message's readings and their commands, or why it cannot be used."""
        try:
            readings = codec.decode(text)
        except (DeviceMessageError, InvalidVitalSigns) as error:
            return error, None
        if not readings:
            return UnmappableMessage("no observation maps to a vital sign", field="OBX-3"), None
        for reading in readings:
            self._count_skew(reading.sender, reading.vitals.measured_at, now)
        try:
            return Readings(commands=tuple((r, vitals_command(r)) for r in readings))
        except (MonitoringError, SessionError) as error:
            return error, readings[0]

    def _recorded(
        self, codec: DeviceCodec, text: str, now: datetime, decoded: Readings
    ) -> Receipt | Failure:
        """Steps 2-3 for one message in a transaction of its own (retried on a lost race)."""
        commands = decoded.commands
        touched: set[str] = set()
        try:
            return in_transaction(
                self._access.uow_factory,
                lambda uow: self._record_in(
                    uow, codec=codec, text=text, now=now, commands=commands, touched=touched
                ),
                retry=True,
            )
        except DuplicateRecord:  # the same message, accepted concurrently: answer as before
            self._forget(touched)
            with self._access.uow_factory() as uow:
                stored = _stored(uow, commands[0][0].message_key)
            if stored is None:  # pragma: no cover - a duplicate that is not stored
                raise
            return Receipt(outcome="duplicate", answer=stored.answer, session_id=stored.session_id)
        except (SessionError, MonitoringError) as error:
            self._forget(touched)
            return error, commands[0][0]
        except BaseException:
            self._forget(touched)
            raise

    def _forget(self, session_ids: Iterable[str]) -> None:
        """Readings decided in a transaction that rolled back: drop what the cache saw."""
        for session_id in session_ids:
            self._streams.forget(session_id)

    def _record_in(
        self,
        uow: UnitOfWork,
        *,
        codec: DeviceCodec,
        text: str,
        now: datetime,
        commands: tuple[tuple[DeviceReading, RecordVitals], ...],
        touched: set[str],
        batch: BatchRun | None = None,
        writes: MessageWrites | None = None,
    ) -> Receipt | Failure:
        """Step 2 of the module docstring, in the caller's transaction: every reading of the
        message (one per OBR group or observation time) is decided here, or none is. In a
        ``batch`` the stored keys and checked matches are the batch's, and the message's rows
        and summaries go to ``writes`` (the batch writes them) instead of the repositories."""
        first = commands[0][0]
        keys = {reading.message_key: reading for reading, _ in commands}
        lookup = (lambda key: _stored(uow, key)) if batch is None else batch.stored
        stored = [found for key in keys if (found := lookup(key)) is not None]
        if stored:
            if all(same_message(found, text) for found in stored):
                found = stored[0]
                return Receipt(
                    outcome="duplicate", answer=found.answer, session_id=found.session_id
                )
            return ConflictingMessage(
                "the message control id (MSH-10) was accepted before with other content",
                field="MSH-10",
            ), first
        sessions: list[str] = []
        for reading, _ in commands:
            try:
                session_id = self._matcher.find_in(
                    uow, reading, now, checked=None if batch is None else batch.checked
                )
            except UnknownPatient as error:
                return error, reading
            sessions.append(session_id)
        answer = codec.answer(text, now=now, error=None, session_id=sessions[0])
        decisions = []
        for (_, command), session_id in zip(commands, sessions, strict=True):
            touched.add(session_id)
            decisions.append(
                self._streams.decide_in(
                    uow,
                    session_id,
                    command,
                    None,
                    recorded_at=now,
                    from_device=True,
                    summaries=None if writes is None else writes.summaries,
                )
            )
        digest = content_hash(text)
        accepted = [
            DeviceMessage(
                id=key,
                transport=codec.transport,
                sender=reading.sender,
                session_id=sessions[0],
                received_at=now,
                answer=answer,
                raw=text,
                content_sha256=digest,
            )
            for key, reading in keys.items()
        ]
        if writes is None:
            for row in accepted:
                uow.device_messages.add(row)
        else:
            writes.rows.extend(accepted)
        last = decisions[-1]
        return Accepted(
            outcome="accepted",
            answer=answer,
            session_id=sessions[0],
            version=last.version,
            alert_ids=tuple(
                e.alert_id for d in decisions for e in d.new_events if isinstance(e, AlertRaised)
            ),
            decisions=tuple(decisions),
        )

    def _committed(self, receipt: Receipt, now: datetime) -> Receipt:
        """Remember and announce an accepted reading's decision, now that it is committed."""
        if not isinstance(receipt, Accepted):
            return receipt
        for decision in receipt.decisions:
            self._streams.remember(decision.session_id, decision)
            self._bus.publish(
                SessionCommitted(
                    session_id=decision.session_id,
                    version=decision.version,
                    events=decision.numbered_events,
                    at=now,
                    from_device=True,
                )
            )
        return receipt.plain()

    def _hold(
        self,
        codec: DeviceCodec,
        text: str,
        now: datetime,
        error: Exception,
        reading: DeviceReading | None,
    ) -> Receipt:
        held, receipt = self._held(codec, text, now, error, reading)
        with self._access.uow_factory() as uow:
            uow.quarantine.add(held)
            uow.commit()
        log.info("device message quarantined %s %s", held.id, held.reason_code)
        return receipt

    def _held(
        self,
        codec: DeviceCodec,
        text: str,
        now: datetime,
        error: Exception,
        reading: DeviceReading | None,
    ) -> tuple[QuarantinedMessage, Receipt]:
        """The quarantine row of a message that cannot be used, and its answer."""
        answer = codec.answer(text, now=now, error=error, session_id=None)
        code, reason = reason_code_of(error), getattr(error, "message", "rejected")
        held = QuarantinedMessage(
            id=self._new_id("quarantine"),
            transport=codec.transport,
            received_at=now,
            reason_code=code,
            reason=reason,
            raw=storable(text),
            answer=storable(answer),
            sender=None if reading is None else reading.sender,
            message_key=None if reading is None else reading.message_key,
        )
        return held, Receipt(
            outcome="quarantined",
            answer=answer,
            quarantine_id=held.id,
            reason_code=code,
            reason=reason,
            field=getattr(error, "field", None),
        )

    def ingest_many(self, transport: str, messages: Sequence[Message]) -> list[Receipt]:
        """``ingest`` of messages that arrived together, committed in one transaction (group
        commit); the receipts are returned, in order, only after that commit.

        Each message is recorded in a savepoint: one whose decision fails (refused, unknown
        patient, conflict) is rolled back to it and quarantined in the same transaction; one
        that meets another writer (the same message accepted by another listener, a lost race
        on its stream) or a storage error is rolled back to it and ingested alone after the
        commit. If the batch cannot commit (another listener stored one of its keys since the
        batch read them: ``BatchRun``), nothing of it is stored and every message is ingested
        alone. A unit of work without savepoints ingests one message at a time."""
        codec = self._codec(transport)
        decoded = [self._decoded(codec, text, now) for text, now in messages]
        try:
            outcomes = self._batch_in_one_transaction(codec, messages, decoded)
        except Exception as error:  # nothing of the batch is stored: one by one
            log.warning("device batch not committed: %s", type(error).__name__)
            outcomes = [None] * len(messages)
        receipts: list[Receipt] = []
        for (text, now), readings, outcome in zip(messages, decoded, outcomes, strict=True):
            if outcome is None:
                alone = (
                    readings
                    if isinstance(readings, tuple)
                    else self._recorded(codec, text, now, readings)
                )
                receipts.append(
                    self._hold(codec, text, now, *alone)
                    if isinstance(alone, tuple)
                    else self._committed(alone, now)
                )
            else:
                receipts.append(self._committed(outcome, now))
        return receipts

    def _batch_in_one_transaction(
        self,
        codec: DeviceCodec,
        messages: Sequence[Message],
        decoded: Sequence[Readings | Failure],
    ) -> list[Receipt | None]:
        """The batch's receipts (None: to be ingested alone), committed before they return;
        first without a savepoint per message, then with them if a write failed (``BatchRun``)."""
        if len(messages) < 2:
            return [None] * len(messages)
        try:
            return self._batch_attempt(codec, messages, decoded, savepoints=False)
        except Exception as error:  # nothing of this attempt is stored
            log.info("device batch again with savepoints: %s", type(error).__name__)
            return self._batch_attempt(codec, messages, decoded, savepoints=True)

    def _batch_attempt(
        self,
        codec: DeviceCodec,
        messages: Sequence[Message],
        decoded: Sequence[Readings | Failure],
        *,
        savepoints: bool,
    ) -> list[Receipt | None]:
        with self._access.uow_factory() as uow:
            if not isinstance(uow, Savepoints):
                return [None] * len(messages)
            batch = BatchRun.start(
                uow,
                (r for d in decoded if isinstance(d, Readings) for r, _ in d.commands),
                self._matcher,
                self._streams,
                savepoints=savepoints,
            )
            outcomes = [
                self._in_savepoint(
                    uow, codec=codec, text=text, now=now, decoded=readings, batch=batch
                )
                for (text, now), readings in zip(messages, decoded, strict=True)
            ]
            batch.write(uow)
            uow.commit()
        for outcome in outcomes:
            if outcome is not None and outcome.outcome == "quarantined":
                log.info(
                    "device message quarantined %s %s", outcome.quarantine_id, outcome.reason_code
                )
        return outcomes

    def _in_savepoint(
        self,
        uow: UnitOfWork,
        *,
        codec: DeviceCodec,
        text: str,
        now: datetime,
        decoded: Readings | Failure,
        batch: BatchRun,
    ) -> Receipt | None:
        """One message of a batch (None: to be ingested alone after the commit)."""
        assert isinstance(uow, Savepoints)  # the caller checked
        outcome = (
            self._record_in_savepoint(
                uow, codec=codec, text=text, now=now, decoded=decoded, batch=batch
            )
            if isinstance(decoded, Readings)
            else decoded
        )
        if outcome is None or isinstance(outcome, Receipt):
            return outcome
        held, receipt = self._held(codec, text, now, *outcome)
        try:
            with uow.savepoint():
                uow.quarantine.add(held)
        except Exception:  # quarantined alone after the commit instead
            return None
        return receipt

    def _record_in_savepoint(
        self,
        uow: UnitOfWork,
        *,
        codec: DeviceCodec,
        text: str,
        now: datetime,
        decoded: Readings,
        batch: BatchRun,
        again: bool = True,
    ) -> Receipt | Failure | None:
        assert isinstance(uow, Savepoints)  # the caller checked
        touched: set[str] = set()
        writes = MessageWrites()
        try:
            with uow.savepoint() if batch.savepoints else contextlib.nullcontext():
                outcome = self._record_in(
                    uow,
                    codec=codec,
                    text=text,
                    now=now,
                    commands=decoded.commands,
                    touched=touched,
                    batch=batch,
                    writes=writes,
                )
        except (DuplicateRecord, ConcurrencyError):  # another writer was first: alone
            self._forget(touched)
            if not batch.savepoints:
                raise  # the transaction may be aborted: the batch again, with savepoints
            return None
        except (SessionError, MonitoringError) as error:
            # Refused on a match the batch checked: once more, matched afresh (the session may
            # have been discharged since, and then a refusal is an unknown patient). Without a
            # savepoint, a message of several readings (one may be charted) runs with them.
            self._forget(touched)
            if not batch.savepoints and len(decoded.commands) > 1:
                raise
            if again and batch.recheck(match_key(r) for r, _ in decoded.commands):
                return self._record_in_savepoint(
                    uow, codec=codec, text=text, now=now, decoded=decoded, batch=batch, again=False
                )
            return error, decoded.commands[0][0]
        except Exception as error:  # storage trouble for this message only: alone
            self._forget(touched)
            if not batch.savepoints:
                raise
            log.warning("device message set aside from its batch: %s", type(error).__name__)
            return None
        if isinstance(outcome, Accepted):
            batch.accept(writes)
        return outcome

    def list_quarantine(
        self, actor: Actor, *, status: QuarantineStatus | None = None
    ) -> list[QuarantinedMessage]:
        subject = Subject(verb="quarantine.list", resource_type="quarantine")
        found = self._access.run(
            actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.list()
        )
        return [q for q in found if status is None or q.status is status]

    def replay(self, actor: Actor, quarantine_id: str) -> Receipt:
        """Run a held message through the feed again, now (``quarantine_replay``)."""

        def attempt(held: QuarantinedMessage) -> Receipt | Exception:
            outcome = self._attempt(self._codec(held.transport), held.raw, actor.at)
            return (
                self._committed(outcome, actor.at) if isinstance(outcome, Receipt) else outcome[0]
            )

        def answer(held: QuarantinedMessage, error: Exception) -> str:
            codec = self._codec(held.transport)
            return codec.answer(held.raw, now=actor.at, error=error, session_id=None)

        receipt = replay_held(
            self._access,
            actor,
            quarantine_id,
            attempt=attempt,
            answer=answer,
            reason_code=reason_code_of,
        )
        assert receipt is not None  # every transport is this feed's
        return receipt
