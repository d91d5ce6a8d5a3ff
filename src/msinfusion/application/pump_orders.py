"""Orders to the pump (IHE PIV PCD-03): which pump, what to send, the durable outbox.

When a nurse's confirmed start, rate step, reaction rate cut, re-escalation or resume is
committed (``SessionCommitted`` on the bus, never one a pump reported), ``queue`` writes one
``PumpOrder`` per such event for the pump associated with the session's chair, in its own
transaction. The order id is ``<session>-<event sequence>``: a second notice of the same
event, a retry, or ``queue`` run again after a crash finds the order there and adds nothing.
Before an order is stored as ``queued`` it is checked against the engine's hard limits (the
protocol's maximum rate, the volume left in the bag) and, when the centre refuses unverified
library values, against the protocol's verification: a failed check stores it ``rejected`` with
the reason and nothing is sent. The pump's own library is the second check.

``dispatch`` sends queued orders, oldest first, one pump at a time. A lost connection leaves the
order ``queued`` (``attempts`` counts tries) and stops that pump's queue so that orders never
overtake each other; the next ``dispatch`` (after the next order, or the listener's timer)
sends the same frozen message again, so the gateway sees one order, never two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.bus import SessionCommitted
from msinfusion.application.monitoring import chairs_of_sessions
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.pump_ports import OrderContent, OrderWriter, PumpGateway
from msinfusion.application.pump_records import PumpAssociation, PumpOrder, PumpOrderStatus
from msinfusion.application.session_streams import NumberedEvent, SessionStreams, in_transaction
from msinfusion.catalog.model import Protocol
from msinfusion.errors import DuplicateRecord, InvalidCommand, RecordNotFound
from msinfusion.session.events import Event, InfusionResumed, InfusionStarted, RateChanged
from msinfusion.session.state import SessionState

log = logging.getLogger(__name__)

DEVICE_USER_PREFIX = "device:"


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


def pump_for_session(uow: UnitOfWork, session_id: str, now: datetime) -> str | None:
    """The pump associated with the chair of the session's appointment, or None."""
    chair_name = chairs_of_sessions(uow, now).get(session_id)
    chair = next((c for c in uow.chairs.list() if c.name == chair_name), None)
    if chair is None:
        return None
    association = active_pump_of_chair(uow, chair.id)
    return None if association is None else association.id


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpPanel:
    """The chairside's pump read model: the pump at the chair (None: none) and the orders,
    oldest first, each with its status (queued, sent, confirmed, rejected with reason)."""

    pump_id: str | None
    orders: tuple[PumpOrder, ...]

    @property
    def latest(self) -> PumpOrder | None:
        return self.orders[-1] if self.orders else None


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
    ) -> None:
        self._access = access
        self._streams = streams
        self._writer = writer
        self._gateway = gateway
        self._refuse_unverified = refuse_unverified
        self._sending = threading.Lock()

    def use_gateway(self, gateway: PumpGateway) -> None:
        self._gateway = gateway

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
                pump_id=pump_for_session(uow, session_id, actor.at),
                orders=tuple(orders_of(uow, session_id)),
            )

        return self._access.run(actor, Action.READ_SESSION, subject, work)

    def list_for_session(self, actor: Actor, session_id: str) -> list[PumpOrder]:
        """The session's orders, oldest first (the chairside shows their status)."""
        subject = Subject(verb="pump.orders.read", resource_type="session", resource_id=session_id)
        return self._access.run(
            actor, Action.READ_SESSION, subject, lambda uow: orders_of(uow, session_id)
        )

    # -- the outbox -----------------------------------------------------------------------
    def on_committed(self, notice: SessionCommitted) -> None:
        """The bus handler: queue the notice's orders, then send what is queued."""
        if notice.from_device:
            return
        wanted = [n for n in notice.events if causes_order(n.event)]
        if wanted and self.queue(notice.session_id, wanted, now=notice.at):
            self.dispatch(now=notice.at)

    def queue(
        self, session_id: str, events: Iterable[NumberedEvent], *, now: datetime
    ) -> list[PumpOrder]:
        """Store the orders of ``events`` not stored yet (see the module docstring)."""
        wanted = list(events)

        def work(uow: UnitOfWork) -> list[PumpOrder]:
            pump_id = pump_for_session(uow, session_id, now)
            if pump_id is None:
                return []  # no pump at this chair: the nurse programs it by hand
            state = self._streams.read_in(uow, session_id).state
            stored = []
            for numbered in wanted:
                order_id = f"{session_id}-{numbered.sequence}"
                try:
                    uow.pump_orders.get(order_id)
                    continue
                except RecordNotFound:
                    pass
                order = self._order(
                    uow, state, pump_id=pump_id, session_id=session_id, numbered=numbered, now=now
                )
                uow.pump_orders.add(order)
                stored.append(order)
            return stored

        try:
            return in_transaction(self._access.uow_factory, work, retry=True)
        except DuplicateRecord:  # queued concurrently by another notice: it is there
            return []

    def _order(
        self,
        uow: UnitOfWork,
        state: SessionState,
        *,
        pump_id: str,
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
        chair_name = chairs_of_sessions(uow, now).get(session_id, "")
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
        """Send the queued orders (see the module docstring); the number sent."""
        gateway = self._gateway
        if gateway is None:
            return 0
        sent = 0
        with self._sending:  # one sender at a time: an order is never sent twice at once
            with self._access.uow_factory() as uow:
                queued = sorted(
                    (o for o in uow.pump_orders.list() if o.status is PumpOrderStatus.QUEUED),
                    key=lambda o: (o.requested_at, o.session_id, o.event_sequence),
                )
            blocked: set[str] = set()
            for order in queued:
                if order.pump_id in blocked:
                    continue
                try:
                    answer = gateway.send(order.pump_id, order.message)
                except (OSError, TimeoutError) as error:
                    log.warning("pump order %s not sent: %s", order.id, type(error).__name__)
                    blocked.add(order.pump_id)
                    self._save(replace(order, attempts=order.attempts + 1))
                    continue
                status = PumpOrderStatus.SENT if answer.accepted else PumpOrderStatus.REJECTED
                reason = None
                if not answer.accepted:
                    reason = f"{answer.code or 'rejected'}: {answer.reason or 'no reason given'}"
                self._save(
                    replace(
                        order,
                        status=status,
                        reason=reason,
                        attempts=order.attempts + 1,
                        sent_at=now,
                        answered_at=now,
                    )
                )
                sent += 1
        return sent

    def _save(self, order: PumpOrder) -> None:
        with self._access.uow_factory() as uow:
            uow.pump_orders.update(order)
            uow.commit()


def orders_of(uow: UnitOfWork, session_id: str) -> list[PumpOrder]:
    found = [o for o in uow.pump_orders.list() if o.session_id == session_id]
    return sorted(found, key=lambda o: o.event_sequence)


def _verified(protocol: Protocol) -> bool:
    return protocol.max_rate_ml_per_h.verified and protocol.ladder.verified
