"""The whole smart-pump loop on one machine: chairside -> PCD-03 -> simulated pump -> PCD-10.

ocrelizumab-600-standard, 500 mL bag, ladder 40 / 80 / 120 / 160 / 200 mL/h every 30 min
(catalog, cited). Hand-computed volumes (mL = rate x hours):

    0-30 min at 40: 20     30-60 at 80: 40 (60)     60-90 at 120: 60 (120)
    90-120 at 160: 80 (200)     120-130 at 200: 33 1/3 (233 1/3)
    minute 130, moderate reaction: half of 200 = 100 mL/h (label rule, catalog)
    the remaining 266 2/3 mL at 100 mL/h take 160 min: the bag is empty at minute 290.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from msinfusion.adapters.hl7.mllp import send_frames_sync
from msinfusion.adapters.pumps.link import MllpPumpGateway
from msinfusion.adapters.pumps.simulator import mllp_sender
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.pump_records import PumpOrderStatus
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_unit_of_work_factory
from tests.e2e.api.pump_world import PUMP, T0, pump_world
from tests.e2e.api.world import actor_for
from tests.unit.adapters.web.test_ui_routes import page_fields, sign_in

LADDER = ((30, 80), (60, 120), (90, 160), (120, 200))


def _pump_events(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == "PumpEventRecorded"]


def _valid(text: str) -> str:
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    message.validate()
    return str(message.name)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_start_ladder_reaction_and_completion_with_the_pumps_volume(
    store: str, tmp_path: Path
) -> None:
    factory = (
        build_unit_of_work_factory(sqlite_url(tmp_path / "pumps.db")) if store == "sqlite" else None
    )
    with pump_world(uow_factory=factory) as pw:
        sim = pw.simulator
        # 1. The nurse confirms the start: the pump receives the order (RE, VTBI = the bag).
        started = pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        assert [e["type"] for e in started["events"]] == ["InfusionStarted"]
        (order,) = pw.orders()
        assert (order.order_control, order.rate_ml_per_h, order.volume_to_be_infused_ml) == (
            "RE",
            40,
            500,
        )
        assert order.status is PumpOrderStatus.SENT  # programmed, awaiting the nurse at the pump
        assert len(sim.orders_received) == 1
        assert _valid(sim.orders_received[0]) == "RGV_O15"
        assert sim.pump(PUMP).pending is not None
        assert not sim.pump(PUMP).running
        # 2. The nurse confirms at the pump; the session shows it.
        sim.confirm(PUMP)
        assert pw.orders()[0].status is PumpOrderStatus.CONFIRMED
        (confirmation,) = _pump_events(pw.events())
        assert (confirmation["kind"], confirmation["rate_ml_per_h"]) == ("delivery-started", "40")
        assert confirmation["contradiction"] is None
        assert confirmation["order_id"] == order.id
        # 3. Each ladder step goes out (XO) and comes back documented.
        pw.refresh()
        for minute, rate in LADDER:
            pw.at(minute)
            pw.nurse({"command": "ChangeRate", "rate_ml_per_h": rate})
            assert pw.orders()[-1].order_control == "XO"
            assert pw.orders()[-1].rate_ml_per_h == rate
            sim.confirm(PUMP)
            assert pw.orders()[-1].status is PumpOrderStatus.CONFIRMED
            pw.refresh()
        back = _pump_events(pw.events())
        assert [e["rate_ml_per_h"] for e in back] == ["40", "80", "120", "160", "200"]
        # the pump's volume beside the record's at each step: 0, 20, 60, 120, 200 mL
        assert [Fraction(str(e["pump_volume_ml"])) for e in back] == [0, 20, 60, 120, 200]
        assert all(e["volume_difference_ml"] == "0" for e in back)
        # 4. A moderate reaction halves the rate: the order goes out, the pump confirms.
        pw.at(130)
        reaction = pw.nurse(
            {"command": "RecordReaction", "severity": "moderate", "symptoms": ["flushing"]}
        )
        assert any(
            e["type"] == "RateChanged" and e["rate_ml_per_h"] == "100" for e in reaction["events"]
        )
        halved = pw.orders()[-1]
        assert (halved.order_control, halved.rate_ml_per_h) == ("XO", 100)
        sim.confirm(PUMP)
        assert pw.orders()[-1].status is PumpOrderStatus.CONFIRMED
        assert sim.pump(PUMP).volume_ml == Fraction(700, 3)  # 233 1/3 mL
        # 5. The bag empties at minute 290 (pump's clock), reported at minute 300.
        pw.at(300)
        events = pw.events()
        completed = next(e for e in events if e["type"] == "InfusionCompleted")
        report = _pump_events(events)[-1]
        assert completed["occurred_at"] == "2026-03-02T16:35:00+00:00"  # T0 11:45 + 290 min
        assert completed["recorded_at"] == "2026-03-02T16:45:00+00:00"
        assert completed["volume_infused_ml"] == "500"
        assert (report["kind"], report["pump_volume_ml"], report["engine_volume_ml"]) == (
            "delivery-complete",
            "500",
            "500",
        )
        assert all(_valid(text) == "ORU_R01" for text in sim.events_sent)
        assert len(pw.orders()) == 6  # one order per confirmed change, none twice
        assert len(sim.orders_received) == 6


def test_a_manual_rate_above_the_step_is_the_pumps_truth_and_alerts_the_nurse() -> None:
    with pump_world() as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        pw.simulator.confirm(PUMP)
        pw.at(10)
        pw.simulator.set_rate_at_pump(PUMP, Fraction(120))  # the step allows 40 until minute 30
        events = pw.events()
        manual = _pump_events(events)[-1]
        assert manual["contradiction"] == "ladder-step"
        assert manual["pump_rate_ml_per_h_applied"] == "120"
        alert = next(e for e in events if e["type"] == "AlertRaised")
        assert alert["rule"] == "pump-contradicts-record"
        assert "ladder step" in str(alert["message"])
        # The record follows the pump: at minute 20, 40 x 1/6 + 120 x 1/6 = 26 2/3 mL.
        state = pw.world.service.get_state(pw.session_id, T0 + timedelta(minutes=20))
        assert state.rate_ml_per_h == 120
        assert state.volume_ml == Fraction(80, 3)
        assert not any(e["type"] == "RateChanged" for e in events)  # no nurse change invented


def test_an_order_the_pump_rejects_shows_the_reason_and_nothing_runs() -> None:
    with pump_world() as pw:
        pw.simulator._library["ocrelizumab-600-standard"] = Fraction(30)  # a stale pump library
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        (order,) = pw.orders()
        assert order.status is PumpOrderStatus.REJECTED
        assert order.reason == "9024: Library hard limit exceeded"
        assert pw.simulator.pump(PUMP).pending is None
        assert _pump_events(pw.events()) == []


def test_a_lost_connection_queues_orders_once_and_loses_no_event() -> None:
    with pump_world(gateway=False) as pw:
        orders = pw.world.centre.pump_orders
        orders.use_gateway(MllpPumpGateway("127.0.0.1", 9, timeout_s=2))  # nothing listens
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        (queued,) = pw.orders()
        assert (queued.status, queued.attempts) == (PumpOrderStatus.QUEUED, 1)
        # The gateway takes the order but its answer is lost: still queued, sent once more.
        orders.use_gateway(MllpPumpGateway("127.0.0.1", pw.gateway_port, timeout_s=2))
        pw.simulator.drop_next_answer = True
        assert orders.dispatch(now=pw.world.clock()) == 0
        assert pw.orders()[0].status is PumpOrderStatus.QUEUED
        assert orders.dispatch(now=pw.world.clock()) == 1
        assert orders.dispatch(now=pw.world.clock()) == 0  # nothing left to send
        (sent,) = pw.orders()
        assert (sent.status, sent.attempts) == (PumpOrderStatus.SENT, 3)
        received = pw.simulator.orders_received
        assert len(received) == 2
        assert received[0] == received[1]  # the same message again
        assert len(pw.simulator.pump(PUMP).answered) == 1  # programmed once
        # The listener is unreachable: the pump keeps its events and sends them in order later.
        pw.simulator.use_sender(mllp_sender("127.0.0.1", 9, timeout_s=2))
        pw.simulator.confirm(PUMP)
        pw.at(10)
        pw.simulator.occlude(PUMP)
        assert len(pw.simulator.unsent) == 3  # the RRG^O16, the start, the occlusion
        assert _pump_events(pw.events()) == []
        assert pw.orders()[0].status is PumpOrderStatus.SENT  # its RRG is held at the gateway
        pw.simulator.use_sender(mllp_sender("127.0.0.1", pw.listener_port))
        assert pw.simulator.flush() == 3
        assert pw.orders()[0].status is PumpOrderStatus.CONFIRMED
        kinds = [e["kind"] for e in _pump_events(pw.events())]
        assert kinds == ["delivery-started", "alarm"]
        events = pw.events()
        assert any(e["type"] == "InfusionPaused" for e in events)
        assert any(
            e["type"] == "LineEventRecorded" and e["kind"] == "line-occluded" for e in events
        )
        assert any(e["type"] == "AlertRaised" and e["rule"] == "pump-alarm" for e in events)


def test_a_duplicate_event_is_answered_again_and_recorded_once() -> None:
    with pump_world() as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        pw.simulator.confirm(PUMP)
        text = pw.simulator.events_sent[-1]
        version = pw.world.service.get_version(pw.session_id)
        again = send_frames_sync("127.0.0.1", pw.listener_port, [text, text])
        assert again[0] == again[1]
        assert "MSA|AA|" in again[0]
        assert pw.world.service.get_version(pw.session_id) == version
        assert len(_pump_events(pw.events())) == 1


def test_an_unassociated_pump_is_quarantined_and_nothing_is_ordered() -> None:
    with pump_world(associate=False) as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        assert pw.orders() == []  # no pump at the chair: the nurse programs it by hand
        pw.simulator.pump(PUMP).pending = None
        pw.simulator.set_rate_at_pump(PUMP, Fraction(40))
        (answer,) = [pw.simulator.events_sent[-1]]
        version = pw.world.service.get_version(pw.session_id)
        receipt = pw.world.centre.pump_feed.ingest(answer, now=pw.world.clock())
        assert (receipt.outcome, receipt.reason_code) == ("quarantined", "unassociated-pump")
        assert "MSA|AE|" in receipt.answer
        assert pw.world.service.get_version(pw.session_id) == version
        assert _pump_events(pw.events()) == []


def test_the_nurse_scans_the_pump_at_the_chairside_and_sees_each_orders_state() -> None:
    with pump_world(associate=False) as pw:
        client, path = pw.world.client, f"/sessions/{pw.session_id}"
        panel = f"/ui/sessions/{pw.session_id}/pump"
        csrf = sign_in(pw.world, Role.NURSE)
        page = client.get(path).text
        assert f'hx-get="{panel}"' in page  # the page loads its pump panel
        assert 'data-testid="pump-none"' in client.get(panel).text
        scanned = client.post(f"{path}/pump", data={"csrf_token": csrf, "pump_id": PUMP})
        assert scanned.status_code == 200, scanned.text
        assert f'data-testid="pump-id">{PUMP}<' in scanned.text
        # The nurse confirms the start on the chairside: the order goes to the scanned pump.
        fields = page_fields(page, "StartInfusion")
        started = client.post(
            f"{path}/commands/StartInfusion", data={**fields, "rate_ml_per_h": "40"}
        )
        assert started.status_code == 200, started.text
        assert 'data-status="queued"' in client.get(panel).text  # stored with the start
        pw.send()
        shown = client.get(panel).text
        assert 'data-status="sent"' in shown
        assert "waiting for confirmation at the pump" in shown
        pw.simulator.confirm(PUMP)
        assert 'data-status="confirmed"' in client.get(panel).text
        # A rate the pump's library refuses comes back rejected, with the pump's reason.
        pw.simulator._library["ocrelizumab-600-standard"] = Fraction(60)
        pw.at(30)
        fields = page_fields(client.get(path).text, "ChangeRate")
        stepped = client.post(f"{path}/commands/ChangeRate", data={**fields, "rate_ml_per_h": "80"})
        assert stepped.status_code == 200, stepped.text
        pw.send()
        shown = client.get(panel).text
        assert 'data-status="rejected"' in shown
        assert "9024: Library hard limit exceeded" in shown
        refused = client.post(f"{path}/pump", data={"csrf_token": csrf, "pump_id": " "})
        assert refused.status_code == 422
        assert "pump_id" in refused.text


def test_no_role_may_send_a_pump_report_through_the_api() -> None:
    with pump_world() as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        body = {
            "expected_version": pw.version,
            "command": {
                "command": "RecordPumpEvent",
                "at": pw.world.clock().isoformat(),
                "pump_id": PUMP,
                "kind": "delivery-started",
                "rate_ml_per_h": 200,
            },
        }
        for role in (Role.NURSE, Role.PHYSICIAN, Role.DEVICE, Role.ADMIN):
            answer = pw.world.request(
                role, "POST", f"/api/sessions/{pw.session_id}/commands", json=body
            )
            assert answer.status_code == 403, (role, answer.text)
        assert _pump_events(pw.events()) == []


def test_a_quarantined_pump_report_is_replayed_once_the_pump_is_associated() -> None:
    with pump_world(associate=False) as pw:
        pw.nurse({"command": "StartInfusion", "rate_ml_per_h": 40})
        pw.simulator.set_rate_at_pump(PUMP, Fraction(40))  # sent to the listener: quarantined
        held = pw.world.request(Role.ADMIN, "GET", "/api/quarantine").json()
        (mine,) = [q for q in held if q["reason_code"] == "unassociated-pump"]
        path = f"/api/quarantine/{mine['id']}/replay"
        still = pw.world.request(Role.ADMIN, "POST", path).json()
        assert (still["outcome"], still["reason_code"]) == ("quarantined", "unassociated-pump")
        nurse = actor_for(pw.world, Role.NURSE)
        pw.world.centre.pump_orders.associate_with_session(nurse, PUMP, pw.session_id)
        done = pw.world.request(Role.ADMIN, "POST", path).json()
        assert (done["outcome"], done["session_id"]) == ("accepted", pw.session_id)
        assert [e["kind"] for e in _pump_events(pw.events())] == ["delivery-started"]
        again = pw.world.request(Role.ADMIN, "POST", path)
        assert again.status_code == 422  # replayed already
