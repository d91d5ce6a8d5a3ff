"""Pump events in (IHE IPEC PCD-10): one report, one ``RecordPumpEvent``, on the one path.

``PumpFeed.ingest(text, now=...)``, as ``DeviceFeed.ingest`` does for monitors:

1. decode the report with the codec (malformed or unsupported: quarantined, AR);
2. in one transaction: a report whose key (pump + MSH-10) was accepted before gets the stored
   answer again and records nothing (``duplicate``); otherwise find the chair the pump serves
   (``pump_orders.chair_of_pump``; none: quarantined as ``unassociated-pump``, AE) and the
   session in progress at that chair, decide ``RecordPumpEvent`` by user ``device:<pump>`` at
   the pump's own time (``SessionStreams.decide_in`` with ``from_device``: the clinical-time
   rules of device readings), mark the order it confirms, store the accepted message, commit;
3. after the commit, the bus publishes ``SessionCommitted`` (live updates, alerts).

A refused report (``clock-future``, ``discharged`` ...) is quarantined with its rule, so
nothing a pump sends is lost; an admin replays it with ``DeviceFeed.replay`` semantics through
``replay`` here. The comparison of the pump's volume with the record uses the centre's
``volume_tolerance_ml`` (a setting: the dossier gives no threshold, so its default is marked
unverified in ``bootstrap``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from msinfusion.application.audit import Actor, AuditedAccess
from msinfusion.application.bus import MessageBus, SessionCommitted
from msinfusion.application.device_records import (
    DeviceMessage,
    QuarantinedMessage,
)
from msinfusion.application.monitoring import (
    IN_PROGRESS,
    AmbiguousPatient,
    chairs_of_sessions,
    reason_code_of,
    storable,
)
from msinfusion.application.monitoring_ports import Receipt
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.pump_orders import chair_of_pump
from msinfusion.application.pump_ports import PumpEventCodec, PumpReport
from msinfusion.application.pump_records import PumpOrder, PumpOrderStatus
from msinfusion.application.quarantine_replay import replay_held
from msinfusion.application.session_streams import Decision, SessionStreams, in_transaction
from msinfusion.errors import (
    DeviceMessageError,
    DuplicateRecord,
    RecordNotFound,
    SessionError,
    UnknownPatient,
)
from msinfusion.session.commands import RecordPumpEvent
from msinfusion.session.events import AlertRaised

log = logging.getLogger(__name__)

TRANSPORT = "pcd10"


class UnassociatedPump(UnknownPatient):
    """A report from a pump that serves no chair, or whose chair has no infusion in progress:
    quarantined as ``unassociated-pump``, nothing guessed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Accepted:
    receipt: Receipt
    decision: Decision


class PumpFeed:
    """Pump reports in, answers out (see the module docstring)."""

    def __init__(
        self,
        access: AuditedAccess,
        streams: SessionStreams,
        *,
        bus: MessageBus,
        codec: PumpEventCodec,
        new_id: Callable[[str], str],
        volume_tolerance_ml: Fraction | None,
    ) -> None:
        self._access = access
        self._streams = streams
        self._bus = bus
        self._codec = codec
        self._new_id = new_id
        self._tolerance = volume_tolerance_ml

    def ingest(self, text: str, *, now: datetime) -> Receipt:
        """Accept, recognise a duplicate, or quarantine one report; never raises for content."""
        outcome = self._attempt(text, now)
        if isinstance(outcome, Receipt):
            return outcome
        return self._hold(text, now, *outcome)

    def replay(self, actor: Actor, quarantine_id: str) -> Receipt | None:
        """Run a held PCD-10 report through the feed again (admin), now
        (``quarantine_replay``); None when the held message is not a pump's (the device feed
        replays it)."""

        def attempt(held: QuarantinedMessage) -> Receipt | Exception:
            outcome = self._attempt(held.raw, actor.at)
            return outcome if isinstance(outcome, Receipt) else outcome[0]

        return replay_held(
            self._access,
            actor,
            quarantine_id,
            attempt=attempt,
            answer=lambda held, error: self._codec.answer(held.raw, now=actor.at, error=error),
            reason_code=_reason_of,
            accepts=lambda held: held.transport == TRANSPORT,
        )

    def _attempt(self, text: str, now: datetime) -> Receipt | tuple[Exception, PumpReport | None]:
        try:
            report = self._codec.decode(text)
        except DeviceMessageError as error:
            return error, None
        try:
            command = self._command(report)
        except SessionError as error:
            return error, report
        touched: list[str] = []
        try:
            outcome = in_transaction(
                self._access.uow_factory,
                lambda uow: self._record_in(
                    uow, text, now=now, report=report, c=command, touched=touched
                ),
                retry=True,
            )
        except DuplicateRecord:
            with self._access.uow_factory() as uow:
                stored = uow.device_messages.get(report.message_key)
            return Receipt(outcome="duplicate", answer=stored.answer, session_id=stored.session_id)
        except (SessionError, UnknownPatient) as error:
            for session_id in touched:  # decided in a transaction that rolled back
                self._streams.forget(session_id)
            return error, report
        if isinstance(outcome, Receipt):
            return outcome
        decision = outcome.decision
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
        return outcome.receipt

    def _command(self, report: PumpReport) -> RecordPumpEvent:
        return RecordPumpEvent(
            at=report.at,
            user=f"device:{report.pump_id}",
            pump_id=report.pump_id,
            kind=report.kind,
            rate_ml_per_h=report.rate_ml_per_h,
            pump_volume_ml=report.pump_volume_ml,
            order_id=report.order_id,
            alarm=report.alarm,
            volume_tolerance_ml=self._tolerance,
        )

    def _record_in(
        self,
        uow: UnitOfWork,
        text: str,
        *,
        now: datetime,
        report: PumpReport,
        c: RecordPumpEvent,
        touched: list[str],
    ) -> Receipt | _Accepted:
        try:
            stored = uow.device_messages.get(report.message_key)
        except RecordNotFound:
            stored = None
        if stored is not None:
            return Receipt(outcome="duplicate", answer=stored.answer, session_id=stored.session_id)
        session_id = self._session_of(uow, report, now)
        patient_id = uow.sessions.get(session_id).patient_id
        if report.patient_id is not None and report.patient_id != patient_id:
            raise AmbiguousPatient(
                "the patient the pump names (PID-3) is not the patient at its chair",
                field="PID-3",
            )
        touched.append(session_id)
        decision = self._streams.decide_in(
            uow, session_id, c, None, recorded_at=now, from_device=True
        )
        self._confirm_order(uow, session_id, report, now)
        answer = self._codec.answer(text, now=now, error=None)
        uow.device_messages.add(
            DeviceMessage(
                id=report.message_key,
                transport=TRANSPORT,
                sender=report.pump_id,
                session_id=session_id,
                received_at=now,
                answer=answer,
                raw=storable(text),
            )
        )
        receipt = Receipt(
            outcome="accepted",
            answer=answer,
            session_id=session_id,
            version=decision.version,
            alert_ids=tuple(e.alert_id for e in decision.new_events if isinstance(e, AlertRaised)),
        )
        return _Accepted(receipt=receipt, decision=decision)

    @staticmethod
    def _session_of(uow: UnitOfWork, report: PumpReport, now: datetime) -> str:
        chair_id = chair_of_pump(uow, report.pump_id)
        if chair_id is None:
            raise UnassociatedPump(
                "the pump (OBX-18) is not associated with a chair: scan it at the chair",
                field="OBX-18",
            )
        chair_name = uow.chairs.get(chair_id).name
        in_progress = {s.session_id for st in IN_PROGRESS for s in uow.sessions.list(status=st)}
        found = sorted(
            s
            for s, name in chairs_of_sessions(uow, now).items()
            if name == chair_name and s in in_progress
        )
        if len(found) != 1:
            raise UnassociatedPump(
                f"the pump's chair has {len(found)} infusions in progress, not one",
                field="OBX-18",
            )
        return found[0]

    @staticmethod
    def _confirm_order(uow: UnitOfWork, session_id: str, report: PumpReport, now: datetime) -> None:
        """A start at an order's rate confirms it (the nurse confirmed it at the pump)."""
        if report.kind != "delivery-started":
            return
        sent: list[PumpOrder] = [
            o
            for o in uow.pump_orders.of_session(session_id)  # in event order
            if o.pump_id == report.pump_id
            and o.status is PumpOrderStatus.SENT
            and (report.order_id is None or o.id == report.order_id)
            and o.rate_ml_per_h == report.rate_ml_per_h
        ]
        if sent:
            uow.pump_orders.update(
                replace(sent[-1], status=PumpOrderStatus.CONFIRMED, answered_at=now)
            )

    def _hold(
        self, text: str, now: datetime, error: Exception, report: PumpReport | None
    ) -> Receipt:
        answer = self._codec.answer(text, now=now, error=error)
        code = "unassociated-pump" if isinstance(error, UnassociatedPump) else reason_code_of(error)
        reason = getattr(error, "message", "rejected")
        held = QuarantinedMessage(
            id=self._new_id("quarantine"),
            transport=TRANSPORT,
            received_at=now,
            reason_code=code,
            reason=reason,
            raw=storable(text),
            answer=storable(answer),
            sender=None if report is None else report.pump_id,
            message_key=None if report is None else report.message_key,
        )
        with self._access.uow_factory() as uow:
            uow.quarantine.add(held)
            uow.commit()
        log.info("pump report quarantined %s %s", held.id, code)
        return Receipt(
            outcome="quarantined",
            answer=answer,
            quarantine_id=held.id,
            reason_code=code,
            reason=reason,
            field=getattr(error, "field", None),
        )


def _reason_of(error: Exception) -> str:
    return "unassociated-pump" if isinstance(error, UnassociatedPump) else reason_code_of(error)
