"""Smart-pump throughput: PCD-10 events and PCD-03 orders per second through the adapter.

On a SQLite file (WAL, ``synchronous=FULL``), the Chair 2 infusion of ``tests/e2e/api/
pump_world.py`` with its simulated pump and gateway:

* raw insert: one ~300-byte row per transaction into the same file (the reference);
* events: N PCD-10 reports (a start confirmation each, distinct MSH-10) sent over one MLLP
  connection to the listener and answered ACK^R42 one by one: decode, one transaction
  (idempotency check, ``RecordPumpEvent`` decided and appended, the message stored), the ACK;
* orders: N orders stored in the outbox (one transaction each, RGV^O15 written; on the
  chairside this is part of the nurse's command transaction) and dispatched to the simulated
  gateway: the lease claimed (one transaction), the RGV^O15 sent over MLLP and its ACK^O15
  read, the status stored with the lease released (one transaction).

Reported as rates and as the cost of one event / order in raw inserts, measured in the same run
(the machine is shared and loaded: ratios stay comparable). N is ``MSINFUSION_BENCH_PUMP_N``
(default 200); with ``--benchmark-disable`` (``make bench-smoke``) it is 5.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.adapters.hl7.mllp import send_frames_sync
from msinfusion.adapters.pumps.pcd10 import write_report
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.device_records import DeviceMessage
from msinfusion.application.session_streams import NumberedEvent
from msinfusion.bootstrap import build_unit_of_work_factory
from msinfusion.session.events import RateChanged
from tests.e2e.api.pump_world import PUMP, T0, pump_world

COUNT = int(os.environ.get("MSINFUSION_BENCH_PUMP_N", "200"))
SMOKE = 5


def test_pump_events_and_orders_per_second(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    count = SMOKE if benchmark.disabled else COUNT
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "pumps.db"))
    with pump_world(uow_factory=factory) as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        pw.simulator.confirm(PUMP)
        pw.world.clock.now = T0 + timedelta(minutes=29)
        session = pw.session_id

        def raw() -> float:
            begun = time.perf_counter()
            for i in range(count):
                with factory() as uow:
                    uow.device_messages.add(
                        DeviceMessage(
                            id=f"raw-{i}",
                            transport="bench",
                            sender="bench",
                            session_id=session,
                            received_at=pw.world.clock(),
                            answer="A" * 60,
                            raw="R" * 240,
                        )
                    )
                    uow.commit()
            return time.perf_counter() - begun

        def events() -> float:
            texts = [
                write_report(
                    control_id=f"BENCH-{i}",
                    pump_id=PUMP,
                    kind="delivery-started",
                    at=T0 + timedelta(seconds=i + 1),
                    now=T0 + timedelta(seconds=i + 1),
                    rate_ml_per_h=Fraction(40),
                    pump_volume_ml=Fraction(i + 1, 90),
                    order_id=pw.orders()[0].id,
                    drug_id="ocrelizumab-600-standard",
                )
                for i in range(count)
            ]
            begun = time.perf_counter()
            answers = send_frames_sync("127.0.0.1", pw.listener_port, texts)
            elapsed = time.perf_counter() - begun
            assert all("MSA|AA|" in a for a in answers)
            return elapsed

        def orders() -> float:
            begun = time.perf_counter()
            for i in range(count):
                event = RateChanged(
                    at=pw.world.clock(),
                    user="nurse1",
                    rate_ml_per_h=Fraction(40),
                    previous_rate_ml_per_h=Fraction(40),
                    cause="nurse",
                    override_reason=None,
                )
                queued = pw.world.centre.pump_orders.queue(
                    session,
                    [NumberedEvent(sequence=100_000 + i, event=event)],
                    now=pw.world.clock(),
                )
                assert len(queued) == 1
                assert pw.world.centre.pump_orders.dispatch(now=pw.world.clock()) == 1
            return time.perf_counter() - begun

        def run() -> tuple[float, float, float]:
            return raw(), events(), orders()

        raw_s, events_s, orders_s = benchmark.pedantic(run, rounds=1, iterations=1)
        recorded = [e for e in pw.events() if e["type"] == "PumpEventRecorded"]
        assert len(recorded) == count + 1
    line = (
        f"N={count}: raw insert {count / raw_s:.0f}/s, events {count / events_s:.0f}/s "
        f"(= {events_s / raw_s:.1f} raw inserts each), orders {count / orders_s:.0f}/s "
        f"(= {orders_s / raw_s:.1f} raw inserts each)"
    )
    benchmark.extra_info["pumps"] = line
    print(line)
