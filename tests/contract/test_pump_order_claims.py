"""The pump order outbox on every back end: indexed lookups, the send lease, two dispatchers.

Two ``PumpOrders`` with their own claimant names on one database stand for the web server and
``pumps listen``: dispatching at the same moment, each order is sent exactly once and, per
pump, in order; an order whose sender crashed (its lease ran out) is claimed and sent again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from msinfusion.adapters.pumps.pcd03 import Pcd03Writer
from msinfusion.application.audit import AuditedAccess
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.pump_orders import SEND_LEASE, PumpOrders
from msinfusion.application.pump_ports import GatewayAnswer
from msinfusion.application.pump_records import PumpAssociation, PumpOrder, PumpOrderStatus
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog import shipped_catalog
from tests.contract import samples

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


def _order(number: int, pump_id: str, *, session: str = "s-1") -> PumpOrder:
    return PumpOrder(
        id=f"{session}-{number}",
        session_id=session,
        event_sequence=number,
        pump_id=pump_id,
        order_control="XO",
        rate_ml_per_h=Fraction(40 + number),
        volume_to_be_infused_ml=Fraction(500),
        requested_at=T0 + timedelta(seconds=number),
        requested_by="nurse1",
        message=f"RGV-{session}-{number}",
    )


def _store(factory: Factory, *orders: PumpOrder) -> None:
    with factory() as uow:
        for order in orders:
            uow.pump_orders.add(order)
        uow.commit()


def _all(factory: Factory) -> dict[str, PumpOrder]:
    with factory() as uow:
        return {o.id: o for o in uow.pump_orders.list()}


@dataclass
class RecordingGateway:
    """Accepts every order after ``delay_s`` (a gateway on the network), recording each send."""

    delay_s: float = 0.0
    sent: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, pump_id: str, message: str) -> GatewayAnswer:
        time.sleep(self.delay_s)
        with self.lock:
            self.sent.append((pump_id, message))
        return GatewayAnswer(accepted=True)


def _dispatcher(factory: Factory, gateway: RecordingGateway, claimant: str) -> PumpOrders:
    return PumpOrders(
        AuditedAccess(factory),
        SessionStreams(shipped_catalog()),
        writer=Pcd03Writer(),
        gateway=gateway,
        claimant=claimant,
    )


def test_queued_and_of_session_are_ordered_and_filtered(uow_factory: Factory) -> None:
    _store(
        uow_factory,
        _order(3, "P-1"),
        _order(1, "P-1"),
        replace(_order(2, "P-2"), status=PumpOrderStatus.SENT),
        _order(1, "P-1", session="s-2"),
    )
    with uow_factory() as uow:
        queued = [o.id for o in uow.pump_orders.queued()]
        mine = [o.id for o in uow.pump_orders.of_session("s-1")]
        nobody = uow.pump_orders.of_session("s-9")
    assert queued == ["s-1-1", "s-2-1", "s-1-3"]  # by requested_at (1 s, 1 s, 3 s), session
    assert mine == ["s-1-1", "s-1-2", "s-1-3"]
    assert nobody == []


def test_the_pump_of_a_session_is_its_chairs_active_one(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.patients.add(samples.patient())
        for chair_id in ("c-1", "c-2", "c-3"):
            uow.chairs.add(samples.chair(chair_id, name=f"Chair {chair_id}"))
        uow.appointments.add(samples.appointment("a-1", session_id="s-1"))
        uow.appointments.add(samples.appointment("a-2", chair_id="c-2", session_id="s-2"))
        uow.appointments.add(samples.appointment("a-3", chair_id="c-3", session_id="s-3"))
        for pump, chair_id, minutes, ended in (
            ("P-old", "c-1", 0, True),  # released
            ("P-1", "c-1", 5, False),
            ("P-2", "c-2", 0, False),
        ):
            uow.pump_associations.add(
                PumpAssociation(
                    id=pump,
                    chair_id=chair_id,
                    associated_at=T0 + timedelta(minutes=minutes),
                    associated_by="nurse1",
                    ended_at=T0 + timedelta(minutes=1) if ended else None,
                )
            )
        uow.commit()
    with uow_factory() as uow:
        found = {s: uow.pump_associations.active_for_session(s) for s in ("s-1", "s-2", "s-3")}
        unknown = uow.pump_associations.active_for_session("s-404")
    assert {s: a.id if a else None for s, a in found.items()} == {
        "s-1": "P-1",
        "s-2": "P-2",
        "s-3": None,  # its chair has no pump: the nurse programs it by hand
    }
    assert unknown is None


def test_one_claimant_wins_a_lease_until_it_runs_out(uow_factory: Factory) -> None:
    _store(uow_factory, _order(1, "P-1"), replace(_order(2, "P-1"), status=PumpOrderStatus.SENT))
    until = T0 + SEND_LEASE

    def claim(order_id: str, claimant: str, now: datetime) -> bool:
        with uow_factory() as uow:
            won = uow.pump_orders.claim(order_id, claimant=claimant, until=until, now=now)
            uow.commit()
        return won

    assert claim("s-1-1", "web", T0)
    assert not claim("s-1-1", "listener", T0 + timedelta(seconds=59))  # web holds it
    assert _all(uow_factory)["s-1-1"].claimed_by == "web"
    assert claim("s-1-1", "listener", until + timedelta(seconds=1))  # web's lease ran out
    assert _all(uow_factory)["s-1-1"].claimed_by == "listener"
    assert not claim("s-1-2", "web", T0)  # sent already: nothing to claim
    assert not claim("s-1-404", "web", T0)


def test_two_dispatchers_at_once_send_each_order_once_and_in_order(
    uow_factory: Factory,
) -> None:
    pumps = ("P-1", "P-2", "P-3")
    orders = [_order(n, pumps[n % 3]) for n in range(1, 13)]
    _store(uow_factory, *orders)
    gateway = RecordingGateway(delay_s=0.005)
    web = _dispatcher(uow_factory, gateway, "web")
    listener = _dispatcher(uow_factory, gateway, "listener")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(dispatcher: PumpOrders) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(6):  # rounds, as the timer would run them
                dispatcher.dispatch(now=T0 + timedelta(minutes=1))
        except BaseException as error:  # handed to the test's thread below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(d,)) for d in (web, listener)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    messages = [message for _, message in gateway.sent]
    assert sorted(messages) == sorted(o.message for o in orders)  # each exactly once
    for pump in pumps:  # per pump, never overtaken
        mine = [m for p, m in gateway.sent if p == pump]
        assert mine == [o.message for o in orders if o.pump_id == pump]
    stored = _all(uow_factory)
    assert {o.status for o in stored.values()} == {PumpOrderStatus.SENT}
    assert all(o.attempts == 1 and o.claimed_by is None for o in stored.values())


def test_an_order_whose_sender_crashed_is_sent_once_its_lease_runs_out(
    uow_factory: Factory,
) -> None:
    _store(uow_factory, _order(1, "P-1"), _order(2, "P-1"), _order(3, "P-2"))
    with uow_factory() as uow:  # a sender claimed order 1 and died before it answered
        assert uow.pump_orders.claim("s-1-1", claimant="crashed", until=T0 + SEND_LEASE, now=T0)
        uow.commit()
    gateway = RecordingGateway()
    survivor = _dispatcher(uow_factory, gateway, "survivor")
    # While the lease runs, pump P-1's queue waits (order 2 must not overtake order 1).
    assert survivor.dispatch(now=T0 + timedelta(seconds=30)) == 1
    assert gateway.sent == [("P-2", "RGV-s-1-3")]
    assert survivor.dispatch(now=T0 + SEND_LEASE + timedelta(seconds=1)) == 2
    assert gateway.sent[1:] == [("P-1", "RGV-s-1-1"), ("P-1", "RGV-s-1-2")]
    assert survivor.dispatch(now=T0 + timedelta(minutes=5)) == 0


@pytest.mark.parametrize("error", [ConnectionRefusedError, TimeoutError])
def test_a_failed_send_releases_the_lease_for_the_next_round(
    uow_factory: Factory, error: type[Exception]
) -> None:
    _store(uow_factory, _order(1, "P-1"))

    class Down:
        def send(self, pump_id: str, message: str) -> GatewayAnswer:
            raise error

    orders = _dispatcher(uow_factory, RecordingGateway(), "web")
    orders.use_gateway(Down())
    assert orders.dispatch(now=T0) == 0
    failed = _all(uow_factory)["s-1-1"]
    assert (failed.status, failed.attempts, failed.claimed_by) == (PumpOrderStatus.QUEUED, 1, None)
    gateway = RecordingGateway()
    other = _dispatcher(uow_factory, gateway, "listener")  # another process, at once
    assert other.dispatch(now=T0 + timedelta(seconds=1)) == 1
    assert gateway.sent == [("P-1", "RGV-s-1-1")]


def test_an_rrg_that_overtakes_the_ack_is_kept(uow_factory: Factory) -> None:
    """The gateway's RRG^O16 (on its own connection) is stored before the dispatcher has read
    the ACK^O15 of the same order: the order stays confirmed, the attempt is counted."""
    _store(uow_factory, _order(1, "P-1"))
    holder: list[PumpOrders] = []

    class Quick:
        def send(self, pump_id: str, message: str) -> GatewayAnswer:
            holder[0].answer("s-1-1", GatewayAnswer(accepted=True), now=T0)
            return GatewayAnswer(accepted=True)

    orders = _dispatcher(uow_factory, RecordingGateway(), "web")
    orders.use_gateway(Quick())
    holder.append(orders)
    assert orders.dispatch(now=T0) == 1
    stored = _all(uow_factory)["s-1-1"]
    assert (stored.status, stored.attempts, stored.sent_at) == (PumpOrderStatus.CONFIRMED, 1, T0)
    assert stored.claimed_by is None
