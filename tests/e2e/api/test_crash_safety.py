"""Crash safety: a uvicorn server on a SQLite file is SIGKILLed repeatedly under concurrent
session commands. After every restart, every command that got a 2xx is stored at the sequence
it was acknowledged with, and every session replays to the state the server shows.

The numbers (sent, acknowledged, found) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Appointment, Role
from msinfusion.bootstrap import build_unit_of_work_factory
from msinfusion.catalog import shipped_catalog
from msinfusion.session.codec import event_from_dict
from msinfusion.session.queries import view_at
from tests.e2e.api.world import (
    NOW,
    PROTOCOL_ID,
    World,
    build_world,
    patient_on_course,
    run_simulated,
)

ROUNDS = 3
LOAD_SECONDS = 0.8
SESSIONS = 4
START_TIMEOUT_S = 30.0


@dataclass
class Ledger:
    sent: int = 0
    unreachable: int = 0
    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(
            os.environ,
            MSINFUSION_DATABASE_URL=self.url,
            MSINFUSION_COOKIE_SECURE="0",
            # The seeded visit is dated 2026-03-02 and the server runs on the real clock: let it
            # chart that far back (the load's entries are late, each with its reason).
            MSINFUSION_CHARTING_REACH_BACK_H=str(24 * 365 * 5),
        )
        command = [
            sys.executable, "-m", "uvicorn", "--factory",
            "msinfusion.entrypoints.server_cli:app_from_env",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not start; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _load(
    server: Server, token: str, session_id: str, stop: threading.Event, ledger: Ledger
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    version, n = 6, 0
    with httpx.Client(headers=headers, timeout=5) as client:
        while not stop.is_set():
            n += 1
            at = (NOW + timedelta(seconds=n)).astimezone(UTC).isoformat()
            body = {
                "expected_version": version,
                "command": {
                    "command": "RecordVitals",
                    "at": at,
                    "heart_rate_bpm": 60 + n % 40,
                    "late_reason": "load test replays a synthetic day",
                },
            }
            with ledger.lock:
                ledger.sent += 1
            try:
                reply = client.post(f"{server.base}/api/sessions/{session_id}/commands", json=body)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.unreachable += 1
                time.sleep(0.05)
                continue
            if reply.status_code == 200:
                version = reply.json()["version"]
                with ledger.lock:
                    ledger.acknowledged.append((session_id, version, at))
            elif reply.status_code == 409:
                version = reply.json()["actual"]  # a command committed before a kill, unanswered
            else:
                with ledger.lock:
                    ledger.unexpected.append(f"{reply.status_code} {reply.text[:200]}")


def _seed(url: str) -> World:
    return build_world(build_unit_of_work_factory(url))


def _verify(
    server: Server, token: str, sessions: list[str], ledger: Ledger, *, replay: bool
) -> tuple[dict[str, Any], int, int]:
    """Every acknowledged command is stored at its sequence; with ``replay`` (no load running)
    the server's view of every session equals a local replay of its stored events."""
    with ledger.lock:  # before reading: every one of these was acknowledged by now
        acknowledged = list(ledger.acknowledged)
    headers = {"Authorization": f"Bearer {token}"}
    protocol = shipped_catalog().get_protocol("ocrelizumab-600-standard")
    stored: dict[str, list[dict[str, Any]]] = {}
    views: dict[str, Any] = {}
    for session_id in sessions:
        events = httpx.get(f"{server.base}/api/sessions/{session_id}/events", headers=headers)
        stored[session_id] = events.json()["events"]
        at = "2026-03-02T12:00:00+00:00"
        shown = httpx.get(
            f"{server.base}/api/sessions/{session_id}", params={"at": at}, headers=headers
        ).json()
        decoded = [
            event_from_dict({k: v for k, v in e.items() if k != "sequence"})
            for e in stored[session_id]
        ]
        replayed = view_at(decoded, protocol, NOW.replace(hour=12, minute=0)).to_json_dict()
        if replay:
            assert shown["view"] == replayed, f"{session_id} does not replay to the state shown"
        views[session_id] = shown["view"]
    found = 0
    for session_id, sequence, at in acknowledged:
        event = stored[session_id][sequence - 1]
        assert event["sequence"] == sequence
        assert (event["type"], event["at"]) == ("VitalsRecorded", at), (
            "an acknowledged command is lost"
        )
        found += 1
    stored_vitals = sum(len(events) - 6 for events in stored.values())
    return views, found, stored_vitals


@pytest.mark.slow
def test_acknowledged_commands_survive_sigkill(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "crash.db")
    world = _seed(url)
    nurse_token = world.tokens[Role.NURSE]
    nurse = world.centre.accounts.authenticate_token(nurse_token).acting(NOW, "seed")
    physician = world.centre.accounts.authenticate_token(world.tokens[Role.PHYSICIAN])
    sessions = [world.ids["session"]]
    for n in range(SESSIONS - 1):  # one synthetic patient per visit: dose 3 is given once
        patient, order = patient_on_course(
            world.centre, physician.acting(NOW, "seed"), nurse, f"Synthetic Load {n:02d}"
        )
        # Every session belongs to an appointment under a signed order; the load's visits share
        # the one chair, so they are written straight to storage, past the chair check.
        visit = Appointment(
            id=f"appointment-load-{n:02d}",
            patient_id=patient.id,
            chair_id=world.ids["chair"],
            protocol_id=PROTOCOL_ID,
            dose_number=3,
            starts_at=NOW - timedelta(hours=1),
            ends_at=NOW + timedelta(hours=4),
            order_id=order.id,
        )
        with world.uow_factory() as uow:
            uow.appointments.add(visit)
            uow.commit()
        session_id = world.centre.sessions.open_session(nurse, appointment_id=visit.id)
        run_simulated(world, session_id, patient.id, until=NOW)
        sessions.append(session_id)
    server = Server(url, _free_port(), tmp_path / "server.log")
    ledger, stop = Ledger(), threading.Event()
    threads = [
        threading.Thread(target=_load, args=(server, nurse_token, sid, stop, ledger))
        for sid in sessions
    ]
    server.start()
    for thread in threads:
        thread.start()
    try:
        for round_number in range(ROUNDS):
            time.sleep(LOAD_SECONDS)
            server.kill()
            if round_number < ROUNDS - 1:
                server.start()
                _verify(server, nurse_token, sessions, ledger, replay=False)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    server.start()
    try:
        first, found, stored_vitals = _verify(server, nurse_token, sessions, ledger, replay=True)
        server.kill()
        server.start()
        again = _verify(server, nurse_token, sessions, ledger, replay=True)
        assert again == (first, found, stored_vitals)
    finally:
        server.kill()
    print(
        f"\ncrash safety: {ROUNDS} SIGKILLs, {len(sessions)} sessions: sent {ledger.sent}, "
        f"unreachable {ledger.unreachable}, acknowledged {len(ledger.acknowledged)}, "
        f"found {found}; stored {stored_vitals} (committed but unanswered when killed: "
        f"{stored_vitals - found})"
    )
    assert not ledger.unexpected, ledger.unexpected[:3]
    assert found == len(ledger.acknowledged)
    assert len(ledger.acknowledged) > ROUNDS, "too little load to mean anything"
