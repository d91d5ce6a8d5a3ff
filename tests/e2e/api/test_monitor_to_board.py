"""A simulated bedside monitor -> MLLP -> alert on the board, within the test.

The monitor plays the synthetic reaction pattern (falling systolic, rising heart rate, fever)
as PCD-01 over a real loopback socket; the listener records the vitals, the session raises its
alerts, the live bus and ``GET /api/stream`` announce ``alert-raised``, and the board, the
session view and ``GET /api/alerts`` show the open alert, which a nurse acknowledges.
"""

from __future__ import annotations

import threading

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, run_coroutine
from msinfusion.adapters.hl7.simulator import Monitor, simulate_monitors
from msinfusion.application.live import Notice
from msinfusion.application.records import Role
from tests.e2e.api.test_live_stream import events_of
from tests.e2e.api.world import build_world


def test_a_simulated_reaction_reaches_the_board_as_an_alert() -> None:
    world = build_world()
    session = world.ids["session"]
    raised = threading.Event()
    seen: list[Notice] = []

    def listen(notice: Notice) -> None:
        seen.append(notice)
        if notice.kind == "alert-raised" and notice.data.get("session_id") == session:
            raised.set()

    world.centre.live.subscribe(listen)
    before = world.centre.live.since(0)[-1].sequence
    monitor = Monitor(bed="Chair 1", patient_id=world.ids["patient"], serial="0000000000000042")
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        report = run_coroutine(
            lambda: simulate_monitors(
                [monitor],
                host="127.0.0.1",
                port=server.port,
                interval_s=0.01,
                count=8,
                reaction_at_min=1,
                minutes_per_reading=1,  # reading n is minute n: the ramp ends at reading 6
                seed=7,
                clock=world.clock,
                run_id="E2E",
            )
        )
    assert report.answers == {"AA": 8}
    assert raised.wait(timeout=10), [n.kind for n in seen]

    missed = len(world.centre.live.since(before))  # the stream closes after that many
    stream = world.request(
        Role.VIEWER, "GET", f"/api/stream?limit={missed}", headers={"Last-Event-ID": str(before)}
    )
    kinds = [(kind, data.get("session_id")) for kind, data in events_of(stream.text)]
    assert ("observation-recorded", session) in kinds
    assert ("alert-raised", session) in kinds

    (row,) = [
        r
        for r in world.request(Role.NURSE, "GET", "/api/board?date=2026-03-02").json()
        if r["session_id"] == session
    ]
    assert row["session"]["alerts_open"] >= 1
    rules = {a["rule"] for a in row["session"]["alerts"]}
    assert rules & {"worse-than-baseline", "news2-parameter-3"}
    listed = world.request(Role.NURSE, "GET", "/api/alerts").json()
    first = listed[0]
    assert (first["session_id"], first["chair_name"]) == (session, "Chair 1")

    acked = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session}/alerts/{first['alert_id']}/acknowledge",
        json={"note": "at the bedside"},
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["events"][0]["type"] == "AlertAcknowledged"
    assert any(n.kind == "alert-acknowledged" for n in seen)
    view = world.request(Role.NURSE, "GET", f"/api/sessions/{session}").json()["view"]
    assert first["alert_id"] not in {a["alert_id"] for a in view["alerts"]}
    again = world.request(
        Role.NURSE, "POST", f"/api/sessions/{session}/alerts/{first['alert_id']}/acknowledge"
    )
    assert (again.status_code, again.json()["rule"]) == (422, "alert-already-acknowledged")
    denied = world.request(
        Role.VIEWER, "POST", f"/api/sessions/{session}/alerts/{first['alert_id']}/acknowledge"
    )
    assert denied.status_code == 403
