"""The pump order outbox is transactional and sent off the request path.

* The order is stored in the nurse's command transaction: one write transaction in all, and a
  command that rolls back leaves no order.
* A gateway that accepts the connection and never answers does not hold the nurse's request:
  the request returns at once, the order stays queued through the failed try, and the
  background dispatcher sends it when the gateway answers again.
* An RRG^O16 from the gateway confirms or rejects a sent order on the chairside's record.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC
from fractions import Fraction
from pathlib import Path

import pytest

from msinfusion.adapters.hl7.mllp import send_frames_sync
from msinfusion.adapters.pumps.link import MllpPumpGateway
from msinfusion.adapters.pumps.pcd03 import write_application_answer
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.pump_records import PumpOrder, PumpOrderStatus
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_unit_of_work_factory
from msinfusion.errors import CommandRefused
from msinfusion.session.commands import StartInfusion
from tests.e2e.api.pump_world import PUMP, pump_world
from tests.e2e.api.world import actor_for
from tests.transactions import CountingFactory
from tests.unit.adapters.web.test_ui_routes import page_fields, sign_in

GATEWAY_TIMEOUT_S = 6.0


@contextmanager
def silent_gateway() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung gateway)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


def _wait_for(predicate: Callable[[], bool], *, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within_s} s")
        time.sleep(0.05)


def test_the_order_is_written_in_the_commands_one_transaction(tmp_path: Path) -> None:
    counted = CountingFactory(build_unit_of_work_factory(sqlite_url(tmp_path / "outbox.db")))
    with pump_world(uow_factory=counted, gateway=False) as pw:
        counted.reset()
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        counts = counted.reset()
        (order,) = pw.orders()
        assert order.status is PumpOrderStatus.QUEUED
        assert counts.writes == 1  # events, projection, audit and the order: one commit
        assert counts.reads <= 1  # the API's authentication


def test_a_command_that_rolls_back_leaves_no_order() -> None:
    with pump_world(gateway=False) as pw:
        centre = pw.world.centre

        def refuse(_uow: object, _decision: object) -> None:
            raise CommandRefused("test-refusal", "a later step of the same command failed")

        centre.sessions.add_projector(refuse)  # runs after the pump's projector
        nurse = actor_for(pw.world, Role.NURSE)
        start = StartInfusion(at=pw.world.clock(), user=nurse.username, rate_ml_per_h=Fraction(40))
        with pytest.raises(CommandRefused):
            centre.sessions.handle(
                replace(nurse, at=pw.world.clock()),
                pw.session_id,
                start,
                expected_version=pw.version,
                display_tz=UTC,
            )
        assert pw.orders() == []
        assert pw.world.service.get_version(pw.session_id) == pw.version


def test_a_hung_gateway_never_holds_the_nurse_and_the_order_goes_out_later(
    tmp_path: Path,
) -> None:
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "hung.db"))
    with pump_world(uow_factory=factory, gateway=False) as pw, silent_gateway() as port:
        orders, dispatcher = pw.world.centre.pump_orders, pw.world.centre.pump_dispatcher
        orders.use_gateway(MllpPumpGateway("127.0.0.1", port, timeout_s=GATEWAY_TIMEOUT_S))
        dispatcher.every_s = 0.2
        client, path = pw.world.client, f"/sessions/{pw.session_id}"
        sign_in(pw.world, Role.NURSE)
        fields = page_fields(client.get(path).text, "StartInfusion")
        with dispatcher:
            begun = time.perf_counter()  # the nurse confirms the start on the chairside form
            answer = client.post(
                f"{path}/commands/StartInfusion", data={**fields, "rate_ml_per_h": "40"}
            )
            elapsed = time.perf_counter() - begun
            assert answer.status_code == 200, answer.text
            assert elapsed < GATEWAY_TIMEOUT_S / 3  # the request never waited for the gateway

            def first() -> PumpOrder:
                return pw.orders()[0]

            assert first().status is PumpOrderStatus.QUEUED
            _wait_for(lambda: first().attempts >= 1, within_s=GATEWAY_TIMEOUT_S * 4)
            assert first().status is PumpOrderStatus.QUEUED  # the try timed out: kept
            assert pw.simulator.orders_received == []
            # The gateway answers again: the timer's next round sends it, once.
            orders.use_gateway(MllpPumpGateway("127.0.0.1", pw.gateway_port, timeout_s=2))
            _wait_for(lambda: first().status is PumpOrderStatus.SENT, within_s=10)
        assert len(pw.simulator.orders_received) == 1
        assert pw.simulator.pump(PUMP).pending is not None


def test_the_gateways_rrg_confirms_or_rejects_a_sent_order() -> None:
    with pump_world() as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        pw.simulator.confirm(PUMP)  # RRG^O16 AA, then the PCD-10 start
        (confirmed,) = pw.orders()
        assert confirmed.status is PumpOrderStatus.CONFIRMED
        assert len(pw.simulator.answers_sent) == 1
        assert "MSA|AA|RGV-" in pw.simulator.answers_sent[0]
        # The next step: the nurse rejects it at the pump, the gateway says why.
        pw.refresh()
        pw.at(30)
        pw.nurse({"command": "ChangeRate", "rate_ml_per_h": 80})
        assert pw.orders()[-1].status is PumpOrderStatus.SENT
        pw.simulator.reject(PUMP)
        rejected = pw.orders()[-1]
        assert rejected.status is PumpOrderStatus.REJECTED
        assert rejected.reason == "9023: Program rejected by the user"
        assert pw.simulator.pump(PUMP).rate_ml_per_h == 40  # nothing new runs
        # A repeated RRG changes nothing; one for an order never sent is refused (AE).
        again = send_frames_sync("127.0.0.1", pw.listener_port, [pw.simulator.answers_sent[-1]])
        assert "MSA|AA|" in again[0]
        assert pw.orders()[-1] == rejected
        stranger = write_application_answer(
            message_id="RRG-X", order_id="no-such-order", patient_id="", now=pw.world.clock()
        )
        (refused,) = send_frames_sync("127.0.0.1", pw.listener_port, [stranger])
        assert "ACK^O16^ACK" in refused
        assert "MSA|AE|RRG-X|" in refused
        assert "order_id" in refused or "no pump order" in refused
