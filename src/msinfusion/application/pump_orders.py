"""Orders to the pump (IHE PIV PCD-03): which pump, what to send, the durable outbox.

The outbox is transactional: ``project`` runs inside the nurse's command (a ``SessionUseCases``
projector, before its one commit) and stores one ``PumpOrder`` per person-charted start, rate
step, reaction rate cut, re-escalation or resume, for the pump associated with the session's
chair — the order exists exactly when the command does. A chair without a pump costs one
indexed read in that transaction (``active_for_session``), no transaction of its own. The order
id is ``<session>-<event sequence>``: the event that caused it can never cause a second one.
Before an order is stored as ``queued`` it is checked against the engine's hard limits (the
protocol's maximum rate, the volume left in the bag) and, when the centre refuses unverified
library values, against the protocol's verification: a failed check stores it ``rejected`` with
the reason and nothing is sent. The pump's own library is the second check.

``dispatch`` sends queued orders, oldest first, one pump at a time, off the request path
(``pump_dispatch.PumpDispatcher``, woken after the commit and by a timer). Several processes
may dispatch (the web server and ``pumps listen``): an order is sent only under its lease,
won by a conditional update (``PumpOrderRepository.claim``) that one process alone wins; a
lease that ran out (a crashed sender) is claimed again. A lost connection leaves the order
``queued`` (``attempts`` counts tries, the lease is released) and stops that pump's queue so
that orders never overtake each other; the next ``dispatch`` sends the same frozen message
again, so the gateway sees one order, never two.

The gateway answers twice (TF-2 §3.3.4.4.10, §3.3.5): ACK^O15 at once (accepted: ``sent``,
the pump is programmed; CE/CR: ``rejected``) and later, on a connection of its own, RRG^O16:
``answer`` records it — AA ``confirmed`` at the pump, AE/AR ``rejected`` with ERR-5's reason.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.monitoring import chairs_of_sessions
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.pump_ports import (
    GatewayAnswer,
    OrderContent,
    OrderWriter,
    PumpGateway,
)
from msinfusion.application.pump_records import (
    TERMINAL,
    PumpAssociation,
    PumpOrder,
    PumpOrderStatus,
)
from msinfusion.application.session_streams import (
    Decision,
    NumberedEvent,
    SessionStreams,
    in_transaction,
)
from msinfusion.catalog.model import Protocol
from msinfusion.errors import DuplicateRecord, InvalidCommand, RecordNotFound
from msinfusion.session.events import Event, InfusionResumed, InfusionStarted, RateChanged
from msinfusion.session.state import SessionState

log = logging.getLogger(__name__)

DEVICE_USER_PREFIX = "device:"

SEND_LEASE = timedelta(seconds=60)
"""How long a dispatcher holds an order it is sending: longer than a gateway's answer may take
(``MllpPumpGateway`` waits 10 s per connect and per answer), so a live sender never loses it."""


def causes_order(event: Event) -> bool:
    """A start, a resume or a rate change charted by a person (a pump's own report is not
    sent back to it)."""
    if event.user.startswith(DEVICE_USER_PREFIX):
        return False
    return isinstance(event, InfusionStarted | InfusionResumed | RateChanged)


def _rate_of(event: Event) -> Fraction:
    if not isinstance(event, InfusionStarted | InfusionResumed | RateChanged):
        raise TypeError(f"{type(event).__name__} causes no pump order")
    return event.rate_ml_per_h


def active_pump_of_chair(uow: UnitOfWork, chair_id: str) -> PumpAssociation | None:
    found = [a for a in uow.pump_associations.list() if a.chair_id == chair_id and a.is_active]
    return max(found, key=lambda a: a.associated_at) if found else None


def chair_of_pump(uow: UnitOfWork, pump_id: str) -> str | None:
    """The chair pump ``pump_id`` serves now, or None (an unassociated pump)."""
    try:
        association = uow.pump_associations.get(pump_id)
    except RecordNotFound:
        return None
    return association.chair_id if association.is_active else None


def pump_for_session(uow: UnitOfWork, session_id: str) -> str | None:
    """The pump associated with the chair of the session's appointment, or None."""
    association = uow.pump_associations.active_for_session(session_id)
    return None if association is None else association.id


def new_claimant() -> str:
    """A dispatcher's name in the leases it takes: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpPanel:
    """The chairside's pump read model: the pump at the chair (None: none) and the orders,
    oldest first, each with its status (queued, sent, confirmed, rejected with reason)."""

    pump_id: str | None
    orders: tuple[PumpOrder, ...]

    @property
    def latest(self) -> PumpOrder | None:
        return self.orders[-1] if self.orders else None

    @property
    def awaiting_answer(self) -> bool:
        """Whether an order is still queued or waits for the pump's answer (the panel then
        looks again sooner)."""
        return any(o.status not in TERMINAL for o in self.orders)


class PumpOrders:
    """Associations (scan or serial), the order outbox and its dispatch."""

    def __init__(
        self,
        access: AuditedAccess,
        streams: SessionStreams,
        *,
        writer: OrderWriter,
        gateway: PumpGateway | None = None,
        refuse_unverified: bool = False,
        claimant: str | None = None,
        lease: timedelta = SEND_LEASE,
    ) -> None:
        self._access = access
        self._streams = streams
        self._writer = writer
        self._gateway = gateway
        self._refuse_unverified = refuse_unverified
        self._sending = threading.Lock()
        self.claimant = claimant or new_claimant()
        self._lease = lease

    def use_gateway(self, gateway: PumpGateway | None) -> None:
        self._gateway = gateway

    @property
    def has_gateway(self) -> bool:
        return self._gateway is not None

    # -- associations ---------------------------------------------------------------------
    def associate(self, actor: Actor, pump_id: str, chair_id: str, *, method: str = "scan") -> None:
        """Pump ``pump_id`` (its scanned barcode or serial number) now serves ``chair_id``;
        the chair's previous pump, and the pump's previous chair, are released."""
        pump_id = pump_id.strip()
        if not pump_id:
            raise InvalidCommand("pump_id must be the pump's serial number", field="pump_id")
        if method not in ("scan", "serial"):
            raise InvalidCommand("method must be scan or serial", field="method")
        subject = Subject(verb="pump.associate", resource_type="pump", resource_id=pump_id)

        def work(uow: UnitOfWork) -> None:
            uow.chairs.get(chair_id)  # RecordNotFound names chair_id
            previous = active_pump_of_chair(uow, chair_id)
            if previous is not None and previous.id != pump_id:
                uow.pump_associations.update(replace(previous, ended_at=actor.at))
            association = PumpAssociation(
                id=pump_id,
                chair_id=chair_id,
                associated_at=actor.at,
                associated_by=actor.user_id,
                method=method,
            )
            try:
                uow.pump_associations.get(pump_id)
            except RecordNotFound:
                uow.pump_associations.add(association)
            else:
                uow.pump_associations.update(association)

        self._access.run(actor, Action.ASSOCIATE_PUMP, subject, work)

    def release(self, actor: Actor, pump_id: str) -> None:
        """End pump ``pump_id``'s association: its events are quarantined from now on."""
        subject = Subject(verb="pump.release", resource_type="pump", resource_id=pump_id)

        def work(uow: UnitOfWork) -> None:
            association = uow.pump_associations.get(pump_id)
            uow.pump_associations.update(replace(association, ended_at=actor.at))

        self._access.run(actor, Action.ASSOCIATE_PUMP, subject, work)

    def associate_with_session(self, actor: Actor, pump_id: str, session_id: str) -> str:
        """The nurse scanned pump ``pump_id`` at the chair of ``session_id``; the chair's id."""
        with self._access.uow_factory() as uow:
            chair_name = chairs_of_sessions(uow, actor.at).get(session_id)
            chair = next((c for c in uow.chairs.list() if c.name == chair_name), None)
        if chair is None:
            raise InvalidCommand(
                "this session has no chair today to associate a pump with", field="session_id"
            )
        self.associate(actor, pump_id, chair.id, method="scan")
        return chair.id

    def pump_panel(self, actor: Actor, session_id: str) -> PumpPanel:
        """What the chairside shows: the chair's pump and the session's orders, one read."""
        subject = Subject(verb="pump.orders.read", resource_type="session", resource_id=session_id)

        def work(uow: UnitOfWork) -> PumpPanel:
            return PumpPanel(
                pump_id=pump_for_session(uow, session_id),
                orders=tuple(uow.pump_orders.of_session(session_id)),
            )

        return self._access.run(actor, Action.READ_SESSION, subject, work)

    def list_for_session(self, actor: Actor, session_id: str) -> list[PumpOrder]:
        """The session's orders, oldest first (the chairside shows their status)."""
        subject = Subject(verb="pump.orders.read", resource_type="session", resource_id=session_id)
        return self._access.run(
            actor, Action.READ_SESSION, subject, lambda uow: uow.pump_orders.of_session(session_id)
        )

    # -- the outbox -----------------------------------------------------------------------
    def project(self, uow: UnitOfWork, decision: Decision) -> None:
        """The ``SessionUseCases`` projector: the decision's orders, in its transaction."""
        wanted = [n for n in decision.numbered_events if causes_order(n.event)]
        if not wanted:
            return
        association = uow.pump_associations.active_for_session(decision.session_id)
        if association is None:
            return  # no pump at this chair: the nurse programs it by hand
        self._store(
            uow,
            decision.session_id,
            decision.after.state,
            association,
            wanted,
            now=decision.command.recorded_at,
        )

    def queue(
        self, session_id: str, events: Iterable[NumberedEvent], *, now: datetime
    ) -> list[PumpOrder]:
        """Store the orders of ``events`` not stored yet, in a transaction of its own (for
        events committed without the projector: tools, benchmarks)."""
        wanted = list(events)

        def work(uow: UnitOfWork) -> list[PumpOrder]:
            association = uow.pump_associations.active_for_session(session_id)
            if association is None:
                return []
            state = self._streams.read_in(uow, session_id).state
            return self._store(uow, session_id, state, association, wanted, now=now)

        try:
            return in_transaction(self._access.uow_factory, work, retry=True)
        except DuplicateRecord:  # queued concurrently: it is there
            return []

    def _store(
        self,
        uow: UnitOfWork,
        session_id: str,
        state: SessionState,
        association: PumpAssociation,
        wanted: list[NumberedEvent],
        *,
        now: datetime | None,
    ) -> list[PumpOrder]:
        chair_name = uow.chairs.get(association.chair_id).name
        stored = []
        for numbered in wanted:
            try:
                uow.pump_orders.get(f"{session_id}-{numbered.sequence}")
                continue
            except RecordNotFound:
                pass
            order = self._order(
                uow,
                state,
                pump_id=association.id,
                chair_name=chair_name,
                session_id=session_id,
                numbered=numbered,
                now=now or numbered.event.at,
            )
            uow.pump_orders.add(order)
            stored.append(order)
        return stored

    def _order(
        self,
        uow: UnitOfWork,
        state: SessionState,
        *,
        pump_id: str,
        chair_name: str,
        session_id: str,
        numbered: NumberedEvent,
        now: datetime,
    ) -> PumpOrder:
        order_id = f"{session_id}-{numbered.sequence}"
        event = numbered.event
        rate = _rate_of(event)
        protocol = self._streams.catalog.get_protocol(state.protocol_id)
        therapy = self._streams.catalog.therapy_of(protocol)
        patient = uow.patients.get(state.patient_id)
        content = OrderContent(
            order_id=order_id,
            order_control="RE" if isinstance(event, InfusionStarted) else "XO",
            pump_id=pump_id,
            patient_id=state.patient_id,
            patient_name=patient.display_name,
            patient_birth_date=patient.date_of_birth,
            chair_name=chair_name,
            library_drug_id=protocol.id,
            drug_name=therapy.inn,
            drug_amount_mg=state.dose_mg,
            diluent_volume_ml=state.bag_volume_ml,
            concentration_mg_per_ml=state.concentration_mg_per_ml,
            rate_ml_per_h=rate,
            volume_to_be_infused_ml=state.remaining_volume_ml,
            requested_at=event.at,
            requested_by=event.user,
            weight_kg=None if patient.weight_kg is None else Fraction(patient.weight_kg),
        )
        reason = self._limit_problem(state, content, verified=_verified(protocol))
        return PumpOrder(
            id=order_id,
            session_id=session_id,
            event_sequence=numbered.sequence,
            pump_id=pump_id,
            order_control=content.order_control,
            rate_ml_per_h=rate,
            volume_to_be_infused_ml=content.volume_to_be_infused_ml,
            requested_at=event.at,
            requested_by=event.user,
            message=self._writer.write(content, now=now),
            status=PumpOrderStatus.QUEUED if reason is None else PumpOrderStatus.REJECTED,
            reason=reason,
            answered_at=None if reason is None else now,
        )

    def _limit_problem(
        self, state: SessionState, content: OrderContent, *, verified: bool
    ) -> str | None:
        """The engine's hard limits, checked again on what is about to be sent."""
        if content.rate_ml_per_h > state.max_rate_ml_per_h:
            return (
                f"engine-limit: {content.rate_ml_per_h} mL/h is above the protocol maximum "
                f"of {state.max_rate_ml_per_h} mL/h"
            )
        if content.volume_to_be_infused_ml <= 0:
            return "engine-limit: the bag is empty; there is nothing to infuse"
        if content.volume_to_be_infused_ml > state.bag_volume_ml:
            return "engine-limit: the volume to be infused is more than the bag"
        if self._refuse_unverified and not verified:
            return "unverified-limit: the protocol's rate limits are not verified"
        return None

    def dispatch(self, *, now: datetime) -> int:
        """Send the queued orders this dispatcher can claim (see the module docstring);
        the number answered by the gateway."""
        gateway = self._gateway
        if gateway is None:
            return 0
        sent = 0
        with self._sending:  # one sender per process; the lease keeps other processes out
            with self._access.uow_factory() as uow:
                queued = uow.pump_orders.queued()
            blocked: set[str] = set()
            for order in queued:
                if order.pump_id in blocked:
                    continue
                if not self._claim(order, now):
                    blocked.add(order.pump_id)  # another dispatcher sends this pump's queue
                    continue
                try:
                    answer = gateway.send(order.pump_id, order.message)
                except (OSError, TimeoutError) as error:
                    log.warning("pump order %s not sent: %s", order.id, type(error).__name__)
                    blocked.add(order.pump_id)
                    self._save(replace(order, attempts=order.attempts + 1))
                    continue
                self._save(_answered(order, answer, now=now, sent=True))
                sent += 1
        return sent

    def _claim(self, order: PumpOrder, now: datetime) -> bool:
        def work(uow: UnitOfWork) -> bool:
            return uow.pump_orders.claim(
                order.id, claimant=self.claimant, until=now + self._lease, now=now
            )

        return in_transaction(self._access.uow_factory, work, retry=False)

    def _save(self, order: PumpOrder) -> None:
        """The order's new state, its lease released. An answer stored while it was being
        sent (the gateway's RRG^O16, or the pump's PCD-10 start, can come before its ACK^O15
        is read) is kept: only the attempt is counted. The first write is conditional on the
        stored status, so an answer committed concurrently is never overwritten."""

        def work(uow: UnitOfWork) -> None:
            released = replace(order, claimed_by=None, claimed_until=None)
            if uow.pump_orders.update_unless_answered(released):
                return
            current = uow.pump_orders.get(order.id)  # answered: final, no one changes it now
            uow.pump_orders.update(
                replace(
                    current,
                    attempts=order.attempts,
                    sent_at=order.sent_at,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

        in_transaction(self._access.uow_factory, work, retry=False)

    def answer(self, order_id: str, answer: GatewayAnswer, *, now: datetime) -> PumpOrder:
        """The gateway's later application answer (RRG^O16) to order ``order_id``: accepted,
        the nurse confirmed it at the pump; else rejected with the pump's code and reason. An
        order already confirmed or rejected keeps its state (a repeated answer changes
        nothing). ``RecordNotFound`` (field ``order_id``) for an order never sent from here."""

        def work(uow: UnitOfWork) -> PumpOrder:
            try:
                order = uow.pump_orders.get(order_id)
            except RecordNotFound:
                raise RecordNotFound(f"no pump order {order_id}", field="order_id") from None
            if order.status in TERMINAL:
                return order
            answered = _answered(order, answer, now=now, confirmed=True)
            uow.pump_orders.update(answered)
            return answered

        return in_transaction(self._access.uow_factory, work, retry=False)


def _answered(
    order: PumpOrder,
    answer: GatewayAnswer,
    *,
    now: datetime,
    sent: bool = False,
    confirmed: bool = False,
) -> PumpOrder:
    """``order`` as ``answer`` leaves it: ACK^O15 (``sent``) or RRG^O16 (``confirmed``)."""
    if answer.accepted:
        status = PumpOrderStatus.CONFIRMED if confirmed else PumpOrderStatus.SENT
        reason = None
    else:
        status = PumpOrderStatus.REJECTED
        reason = f"{answer.code or 'rejected'}: {answer.reason or 'no reason given'}"
    return replace(
        order,
        status=status,
        reason=reason,
        attempts=order.attempts + 1 if sent else order.attempts,
        sent_at=now if sent else order.sent_at,
        answered_at=now,
    )


def _verified(protocol: Protocol) -> bool:
    return protocol.max_rate_ml_per_h.verified and protocol.ladder.verified
