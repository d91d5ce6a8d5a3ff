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

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.bus import MessageBus, SessionCommitted
from msinfusion.application.device_records import (
    DeviceMessage,
    QuarantinedMessage,
    QuarantineStatus,
)
from msinfusion.application.monitoring_ports import (
    DeviceCodec,
    DeviceReading,
    PatientKey,
    Receipt,
)
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.session_streams import Decision, SessionStreams, in_transaction
from msinfusion.errors import (
    CommandRefused,
    DeviceMessageError,
    DuplicateRecord,
    InvalidCommand,
    InvalidVitalSigns,
    MalformedMessage,
    MonitoringError,
    RecordNotFound,
    SessionError,
    UnknownPatient,
    UnmappableMessage,
    UnsupportedMessage,
)
from msinfusion.session.commands import VITAL_SIGN_FIELDS, VITAL_SIGN_RESOLUTION, RecordVitals
from msinfusion.session.events import AlertRaised

log = logging.getLogger(__name__)

IN_PROGRESS = ("checked-in", "infusing", "paused", "observation")
"""Session statuses a device reading may be recorded in."""


class ConflictingMessage(DeviceMessageError):
    """A message reuses the idempotency key (HL7: sender + MSH-10) of an accepted message with
    other content: it is quarantined as ``conflict``, the first one stands."""


class AmbiguousPatient(UnknownPatient):
    """The identifiers and chair of a message fit more than one session in progress, or its
    identifiers name different patients: quarantined as ``ambiguous-patient``, nothing guessed."""


_REASON_CODES: tuple[tuple[type[Exception], str], ...] = (
    (MalformedMessage, "malformed"),
    (UnsupportedMessage, "unsupported"),
    (AmbiguousPatient, "ambiguous-patient"),
    (UnknownPatient, "unknown-patient"),
    (UnmappableMessage, "unmappable"),
    (InvalidVitalSigns, "invalid-vital-signs"),
    (InvalidCommand, "invalid-vital-signs"),
    (ConflictingMessage, "conflict"),
)
Failure = tuple[Exception, DeviceReading | None]


def reason_code_of(error: Exception) -> str:
    if isinstance(error, CommandRefused):
        return f"refused:{error.rule}"
    for cls, code in _REASON_CODES:
        if isinstance(error, cls):
            return code
    return "rejected"


def vitals_command(reading: DeviceReading) -> RecordVitals:
    """The ``RecordVitals`` of a reading, by user ``device:<sender>``; a device's finer value is
    rounded (half to even) to the resolution vital signs are charted at
    (``session.commands.VITAL_SIGN_RESOLUTION``: 36.85 °C is charted 36.8, 71.5 /min 72)."""
    vitals = reading.vitals

    def value(name: str) -> Fraction | None:
        raw = getattr(vitals, name)
        if raw is None:
            return None
        steps = VITAL_SIGN_RESOLUTION[name]
        return Fraction(round(Fraction(raw) * steps), steps)

    if all(value(name) is None for name in VITAL_SIGN_FIELDS):
        raise UnmappableMessage(
            "no observation maps to a vital sign the session records (oxygen flow alone is "
            "not recorded)",
            field="OBX-3",
        )
    return RecordVitals(
        at=vitals.measured_at,
        user=f"device:{reading.sender}",
        systolic_mmhg=value("systolic_mmhg"),
        diastolic_mmhg=value("diastolic_mmhg"),
        heart_rate_bpm=value("heart_rate_bpm"),
        spo2_pct=value("spo2_pct"),
        temperature_c=value("temperature_c"),
        respiratory_rate_per_min=value("respiratory_rate_per_min"),
        mean_arterial_mmhg=value("mean_arterial_mmhg"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Accepted(Receipt):
    """An accepted receipt still carrying its decision, until it is committed and announced."""

    decisions: tuple[Decision, ...]

    def plain(self) -> Receipt:
        return Receipt(
            outcome=self.outcome,
            answer=self.answer,
            session_id=self.session_id,
            version=self.version,
            alert_ids=self.alert_ids,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSkew:
    """A sender's reading times against their receipt: ``ahead`` counts readings stamped after
    they arrived; the worst seen both ways, and the last, in seconds."""

    readings: int = 0
    ahead: int = 0
    max_ahead_s: float = 0.0
    max_behind_s: float = 0.0
    last_s: float = 0.0


def storable(text: str) -> str:
    """``text`` as a database can hold it: a NUL (refused by PostgreSQL text) becomes U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _same_message(stored: str, text: str) -> bool:
    """A retransmission: the same text, whatever its segment endings."""

    def normal(value: str) -> str:
        return value.replace("\r\n", "\r").replace("\n", "\r").strip("\x0b\x1c\r ")

    return normal(stored) == normal(text)


def _stored(uow: UnitOfWork, key: str) -> DeviceMessage | None:
    try:
        return uow.device_messages.get(key)
    except RecordNotFound:
        return None


def chairs_of_sessions(uow: UnitOfWork, now: datetime) -> dict[str, str]:
    """Session id -> chair name for the appointments of the day around ``now``."""
    names = {chair.id: chair.name for chair in uow.chairs.list()}
    window = timedelta(days=1)
    return {
        a.session_id: names.get(a.chair_id, "")
        for a in uow.appointments.list_between(now - window, now + window)
        if a.session_id is not None
    }


def _same_system(recorded: str, given: tuple[str, ...]) -> bool:
    wanted = recorded.casefold()
    return any(wanted == system.casefold() for system in given)


def _is_patient(uow: UnitOfWork, session_id: str, keys: tuple[PatientKey, ...]) -> bool:
    """Whether ``keys`` identify the session's patient: a key is msinfusion's patient id, or
    the value of one of the patient's identifiers in the system it names. A key whose system
    the patient has with another value contradicts the others (``AmbiguousPatient``)."""
    patient_id = uow.sessions.get(session_id).patient_id
    if patient_id is None:
        return False
    try:
        identifiers = uow.patients.get(patient_id).identifiers
    except RecordNotFound:
        identifiers = ()
    found = contradicted = False
    for key in keys:
        if key.value == patient_id:
            found = True
            continue
        same_system = [
            i for i in identifiers if key.systems and _same_system(i.system, key.systems)
        ]
        if any(i.value == key.value for i in same_system):
            found = True
        elif same_system:
            contradicted = True
    if found and contradicted:
        raise AmbiguousPatient(
            "the message's patient identifiers (PID-3) name different patients: nothing recorded",
            field="PID-3",
        )
    return found


def sessions_in_progress(uow: UnitOfWork) -> list[str]:
    return sorted(s.session_id for status in IN_PROGRESS for s in uow.sessions.list(status=status))


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
        self._matches: dict[tuple[tuple[PatientKey, ...], str | None], str] = {}
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
        try:
            readings = codec.decode(text)
        except (DeviceMessageError, InvalidVitalSigns) as error:
            return error, None
        if not readings:
            return UnmappableMessage("no observation maps to a vital sign", field="OBX-3"), None
        for reading in readings:
            self._count_skew(reading.sender, reading.vitals.measured_at, now)
        try:
            commands = tuple((r, vitals_command(r)) for r in readings)
        except (MonitoringError, SessionError) as error:
            return error, readings[0]
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
                stored = _stored(uow, readings[0].message_key)
            if stored is None:  # pragma: no cover - a duplicate that is not stored
                raise
            return Receipt(outcome="duplicate", answer=stored.answer, session_id=stored.session_id)
        except (SessionError, MonitoringError) as error:
            self._forget(touched)
            return error, readings[0]
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
    ) -> Receipt | Failure:
        """Step 2 of the module docstring, in the caller's transaction: every reading of the
        message (one per OBR group or observation time) is decided here, or none is."""
        first = commands[0][0]
        keys = {reading.message_key: reading for reading, _ in commands}
        stored = [found for key in keys if (found := _stored(uow, key)) is not None]
        if stored:
            if all(_same_message(found.raw, text) for found in stored):
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
                session_id = self._find_session_in(uow, reading, now)
            except UnknownPatient as error:
                return error, reading
            sessions.append(session_id)
        answer = codec.answer(text, now=now, error=None, session_id=sessions[0])
        decisions = []
        for (_, command), session_id in zip(commands, sessions, strict=True):
            touched.add(session_id)
            decisions.append(
                self._streams.decide_in(
                    uow, session_id, command, None, recorded_at=now, from_device=True
                )
            )
        for key, reading in keys.items():
            uow.device_messages.add(
                DeviceMessage(
                    id=key,
                    transport=codec.transport,
                    sender=reading.sender,
                    session_id=sessions[0],
                    received_at=now,
                    answer=answer,
                    raw=text,
                )
            )
        last = decisions[-1]
        return _Accepted(
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
        if not isinstance(receipt, _Accepted):
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
        with self._access.uow_factory() as uow:
            uow.quarantine.add(held)
            uow.commit()
        log.info("device message quarantined %s %s", held.id, code)
        return Receipt(
            outcome="quarantined",
            answer=answer,
            quarantine_id=held.id,
            reason_code=code,
            reason=reason,
            field=getattr(error, "field", None),
        )

    def _find_session_in(self, uow: UnitOfWork, reading: DeviceReading, now: datetime) -> str:
        """The one session in progress of the patient (any identifier of ``reading``: every
        PID-3 repetition) at the chair; ``UnknownPatient`` / ``AmbiguousPatient`` name the
        field that failed."""
        keys, chair = reading.patient_keys, reading.chair_name
        if not keys and not chair:
            raise UnknownPatient(
                "the message names neither the patient (PID-3) nor the chair (PV1-3)",
                field="PID-3",
            )
        with self._lock:
            cached = self._matches.get((keys, chair))
        if cached is not None and self._still_matches(uow, cached, keys):
            return cached
        candidates = sessions_in_progress(uow)
        if keys:
            candidates = [s for s in candidates if _is_patient(uow, s, keys)]
            if not candidates:
                raise UnknownPatient(
                    "no infusion in progress is for the patient the message identifies (PID-3)",
                    field="PID-3",
                )
        if chair:
            chair_of = chairs_of_sessions(uow, now)
            wanted = chair.casefold()
            candidates = [s for s in candidates if chair_of.get(s, "").casefold() == wanted]
            if not candidates:
                raise UnknownPatient(
                    "no infusion in progress of that patient is at the chair the message names "
                    "(PV1-3)"
                    if keys
                    else "no infusion in progress is at the chair the message names (PV1-3)",
                    field="PV1-3",
                )
        if len(candidates) > 1:
            raise AmbiguousPatient(
                f"{len(candidates)} infusions in progress fit the patient (PID-3) and chair "
                "(PV1-3): nothing recorded",
                field="PID-3" if keys else "PV1-3",
            )
        with self._lock:
            self._matches[(keys, chair)] = candidates[0]
        return candidates[0]

    @staticmethod
    def _still_matches(uow: UnitOfWork, session_id: str, keys: tuple[PatientKey, ...]) -> bool:
        summary = uow.sessions.get(session_id)
        return summary.status in IN_PROGRESS and (not keys or _is_patient(uow, session_id, keys))

    def list_quarantine(
        self, actor: Actor, *, status: QuarantineStatus | None = None
    ) -> list[QuarantinedMessage]:
        subject = Subject(verb="quarantine.list", resource_type="quarantine")
        found = self._access.run(
            actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.list()
        )
        return [q for q in found if status is None or q.status is status]

    def replay(self, actor: Actor, quarantine_id: str) -> Receipt:
        """Run a held message through the feed again, now; on success it is marked replayed,
        otherwise it stays held with the new reason. A replayed message is not replayed twice."""
        subject = Subject(
            verb="quarantine.replay", resource_type="quarantine", resource_id=quarantine_id
        )
        held = self._access.run(
            actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.get(quarantine_id)
        )
        if held.status is QuarantineStatus.REPLAYED:
            raise InvalidCommand(
                f"{quarantine_id} was replayed already (session {held.session_id})",
                field="quarantine_id",
            )
        codec = self._codec(held.transport)
        outcome = self._attempt(codec, held.raw, actor.at)
        if isinstance(outcome, Receipt):
            receipt = replace(self._committed(outcome, actor.at), quarantine_id=held.id)
            updated = replace(
                held,
                status=QuarantineStatus.REPLAYED,
                attempts=held.attempts + 1,
                replayed_at=actor.at,
                replayed_by=actor.user_id,
                session_id=outcome.session_id,
            )
        else:
            error = outcome[0]
            code, reason = reason_code_of(error), getattr(error, "message", "rejected")
            answer = codec.answer(held.raw, now=actor.at, error=error, session_id=None)
            receipt = Receipt(
                outcome="quarantined",
                answer=answer,
                quarantine_id=held.id,
                reason_code=code,
                reason=reason,
            )
            updated = replace(held, attempts=held.attempts + 1, reason_code=code, reason=reason)
        self._access.run(
            actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.update(updated)
        )
        return receipt
