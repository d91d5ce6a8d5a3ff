"""The cases of issue 17 that once closed the connection without an ACK, sent through the real
MLLP listener on the fake, SQLite and PostgreSQL: each gets a valid ACK echoing MSH-10, a
quarantine entry, and the connection stays usable; no log line carries the patient's
identifiers. Then the listener's limits: a connection cap, an idle timeout for half-sent
frames, and a frame-size cap answered AR."""

from __future__ import annotations

import contextlib
import logging
import socket

import pytest

from msinfusion.adapters.hl7.mllp import (
    MAX_FRAME_BYTES,
    BackgroundMllpServer,
    frame,
    send_frames_sync,
)
from tests.e2e.api.world import World, build_world
from tests.integration.hl7.hl7check import validate_ack
from tests.integration.hl7.test_mllp import message, msa, quarantine


def mrn_of(world: World) -> str:
    with world.uow_factory() as uow:
        return uow.patients.get(world.ids["patient"]).identifiers[0].value


def broken(world: World) -> list[tuple[str, str, str, str]]:
    """(case, text, MSA-2 expected, reason code): each names the world's patient in PID-3."""
    pid = f"{world.ids['patient']}~{mrn_of(world)}^^^urn:test:mrn^MR"
    good = message(world, "OK1").replace(f"PID|||{world.ids['patient']}", f"PID|||{pid}")
    msh = good.split("\r")[0]
    return [
        ("NaN value", good.replace("|72|", "|NaN|").replace("|OK1|", "|B1|"), "B1", "malformed"),
        ("MSH-2 '^~0'", "MSH|^~0\r" + good.split("\r", 1)[1], "UNREADABLE", "malformed"),
        ("NUL byte", good.replace("|OK1|", "|B2|").replace("Chair 1", "Chair\x001"), "B2",
         "malformed"),
        ("MSH-3 over 200", good.replace("MON^", "M" * 201 + "^").replace("|OK1|", "|B3|"), "B3",
         "malformed"),
        ("key over 255", good.replace("|OK1|", "|" + "K" * 250 + "|"), "K" * 250, "malformed"),
        ("the good one", good, "OK1", ""),
        ("bad MSH-12", msh.replace("|2.6|", "|9.9|").replace("|OK1|", "|B4|") + "\r"
         + good.split("\r", 1)[1], "B4", "unsupported"),
    ]  # fmt: skip


def test_messages_that_once_closed_the_connection_get_acks_and_are_held(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    cases = broken(world)
    caplog.set_level(logging.DEBUG)
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        answers = send_frames_sync("127.0.0.1", server.port, [text for _, text, _, _ in cases])
    assert len(answers) == len(cases)  # one connection, every frame answered in turn
    for (case, _, control_id, reason), answer in zip(cases, answers, strict=True):
        validate_ack(answer)
        msa_2 = next(s for s in answer.split("\r") if s.startswith("MSA|")).split("|")[2]
        assert msa_2 == control_id, case
        assert msa(answer) == ("AA" if not reason else "AR"), case
    assert sorted(r for r, _ in quarantine(world)) == sorted(r for *_, r in cases if r)
    logged = caplog.text
    assert world.ids["patient"] not in logged
    assert mrn_of(world) not in logged


def is_closed(connection: socket.socket, *, wait_s: float) -> bool:
    """Whether the listener closed ``connection`` (without answering) within ``wait_s``."""
    connection.settimeout(wait_s)
    try:
        return connection.recv(100) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_beyond_the_cap_are_closed_and_idle_half_frames_time_out() -> None:
    world = build_world()
    with BackgroundMllpServer(
        world.centre.monitoring, clock=world.clock, idle_timeout_s=1.5, max_connections=5
    ) as server:
        half_sent = [
            socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)
        ]
        try:
            for connection in half_sent:
                with contextlib.suppress(ConnectionError):  # a refused one may be gone already
                    connection.sendall(b"\x0bMSH|^~\\&|MON")  # a frame that never ends
            assert sum(is_closed(c, wait_s=0.3) for c in half_sent[5:]) == 15  # beyond the cap
            assert not any(is_closed(c, wait_s=0.05) for c in half_sent[:5])  # still waiting
            assert all(is_closed(c, wait_s=4) for c in half_sent[:5])  # idle: closed, no answer
        finally:
            for connection in half_sent:
                connection.close()
        (ack,) = send_frames_sync("127.0.0.1", server.port, [message(world, "AFTER")])
        assert msa(ack) == "AA"  # the listener still serves


def test_a_frame_over_the_size_cap_is_answered_ar_and_closed() -> None:
    world = build_world()
    with (
        BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection,
    ):
        connection.sendall(frame("MSH|^~\\&|" + "X" * (MAX_FRAME_BYTES + 10)))
        received = b""
        while not received.endswith(b"\x1c\x0d"):
            chunk = connection.recv(4096)
            assert chunk, received
            received += chunk
        answer = received[1:-2].decode()
        validate_ack(answer)
        assert msa(answer) == "AR"
        assert f"exceeds {MAX_FRAME_BYTES} bytes" in answer
        connection.settimeout(5)
        assert connection.recv(100) == b""
