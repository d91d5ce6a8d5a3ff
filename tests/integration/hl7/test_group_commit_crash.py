"""Group commit never acknowledges what it has not stored: the listener process is killed
(SIGKILL, no clean-up of any kind) while several monitors stream readings into it, and every
message it answered AA must be in the database afterwards, with its reading — and no reading
without its message. Bounded: three kills at random moments, one SQLite file throughout."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from msinfusion.adapters.hl7.mllp import END_BLOCK, frame, run_coroutine, unframe
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import World, build_world
from tests.integration.hl7.test_mllp import message, msa

ROOT = Path(__file__).resolve().parents[3]
MONITORS = 6
KILLS = 3
KEY = "hl7:MON/0012345678901234:"


def start_listener(url: str, port_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    log = port_file.with_suffix(".log")
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.hl7.listener_process", url, str(port_file)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError(f"the listener did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    return process, int(port_file.read_text())


async def stream(world: World, port: int, monitor: int, round_: int, acked: list[str]) -> None:
    """Send readings one after the other until the connection dies; note each AA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
            for i in range(10_000):
                control_id = f"K{round_}-{monitor}-{i}"
                writer.write(frame(message(world, control_id)))
                await writer.drain()
                answer = unframe(await asyncio.wait_for(reader.readuntil(END_BLOCK), 30))
                assert msa(answer) == "AA", answer
                acked.append(control_id)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def kill_while_streaming(
    world: World, process: subprocess.Popen[bytes], port: int, round_: int, delay_s: float
) -> list[str]:
    acked: list[str] = []
    senders = [asyncio.create_task(stream(world, port, m, round_, acked)) for m in range(MONITORS)]
    while not acked:  # killed mid-stream, not before the first commit
        await asyncio.sleep(0.01)
    await asyncio.sleep(delay_s)
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*senders), 60)
    return acked


def test_every_aa_acknowledged_message_survives_a_sigkill(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "crash.db")
    engine = create_engine_for(url)
    upgrade(engine)
    world = build_world(sql_unit_of_work_factory(engine))
    shuffle = random.Random(22)
    all_acked: list[str] = []
    try:
        for round_ in range(KILLS):
            process, port = start_listener(url, tmp_path / "port")
            try:
                delay_s = shuffle.uniform(0.2, 0.8)
                acked = run_coroutine(
                    functools.partial(kill_while_streaming, world, process, port, round_, delay_s)
                )
            finally:
                process.kill()
                process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL
            all_acked += acked
            with world.uow_factory() as uow:
                stored = {m.id for m in uow.device_messages.list()}
                held = uow.quarantine.list()
            missing = [c for c in all_acked if KEY + c not in stored]
            assert missing == [], f"round {round_}: {len(missing)} AA messages lost"
            assert held == []
            events = world.service.list_events(world.ids["session"])
            readings = [
                e for e in events if isinstance(e, VitalsRecorded) and e.user.startswith("device:")
            ]
            assert len(readings) == len(stored)  # no reading without its message, nor the reverse
        assert len(all_acked) > KILLS * MONITORS  # the kills did fall during streaming
    finally:
        engine.dispose()
