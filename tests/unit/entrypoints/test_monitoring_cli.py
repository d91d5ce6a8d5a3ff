"""``monitors simulate`` against a loopback listener, and ``mllp-listen``'s refusals."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer
from msinfusion.entrypoints.monitoring_cli import mllp_app, monitors_app
from tests.e2e.api.world import NOW, build_world

runner = CliRunner()


def test_simulate_plays_readings_to_a_listener_and_reports_the_acks() -> None:
    world = build_world()
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        result = runner.invoke(
            monitors_app,
            ["simulate", "--chairs", "2", "--interval", "0.05", "--count", "3",
             "--port", str(server.port), "--start", NOW.isoformat()],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Chair 1 has the infusion in progress; there is no Chair 2: its readings are quarantined.
    assert "sent 6 messages from 2 monitors; answers: AA 3, AE 3" in result.output
    assert "round trip: median" in result.output


def test_a_monitor_whose_clock_runs_ahead_is_answered_ae_and_quarantined() -> None:
    """The listener's clock is months behind the monitors' (world time 2026-03-02): every
    reading is ahead of its receipt, refused with ``clock-future`` and held, never charted."""
    world = build_world()
    before = world.service.get_version(world.ids["session"])
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        result = runner.invoke(
            monitors_app,
            ["simulate", "--chairs", "1", "--interval", "0.05", "--count", "2",
             "--port", str(server.port)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "answers: AE 2" in result.output
    with world.uow_factory() as uow:
        held = [q.reason_code for q in uow.quarantine.list()]
    assert held == ["refused:clock-future", "refused:clock-future"]
    assert world.service.get_version(world.ids["session"]) == before


def test_simulate_says_when_no_listener_answers() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(monitors_app, ["simulate", "--count", "1", "--port", str(port)])
    assert result.exit_code == 2
    assert "cannot reach the MLLP listener" in result.output


def test_listen_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(
            mllp_app, ["mllp-listen", "--port", str(port), "--database", "memory"]
        )
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
