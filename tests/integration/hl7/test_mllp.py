"""The MLLP listener end to end over loopback: real sockets, framed messages, ACK codes
AA/AE/AR, idempotent duplicates, the quarantine table, and replay by an admin; every test on
the in-memory fake, SQLite and PostgreSQL (``conftest.world``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, send_frames_sync
from msinfusion.adapters.hl7.simulator import Monitor, Reading, pcd01_message
from msinfusion.application.device_records import QuarantineStatus
from msinfusion.application.records import Role
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, World, actor_for

NORMAL = Reading(
    heart_rate_bpm=72,
    spo2_pct=97,
    systolic_mmhg=118,
    diastolic_mmhg=76,
    respiratory_rate_per_min=16,
    temperature_c=Decimal("36.8"),
)


def msa(ack: str) -> str:
    """MSA-1 of an ACK."""
    (segment,) = [s for s in ack.split("\r") if s.startswith("MSA|")]
    return segment.split("|")[1]


def message(world: World, control_id: str, *, bed: str = "Chair 1") -> str:
    monitor = Monitor(bed=bed, patient_id=world.ids["patient"], serial="0012345678901234")
    return pcd01_message(monitor, NORMAL, control_id=control_id, at=NOW)


def quarantine(world: World) -> list[tuple[str, str]]:
    with world.uow_factory() as uow:
        return [(q.reason_code, q.status.value) for q in uow.quarantine.list()]


def test_an_accepted_message_is_recorded_and_answered_aa(world: World) -> None:
    session = world.ids["session"]
    before = world.service.get_version(session)
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (ack,) = send_frames_sync("127.0.0.1", server.port, [message(world, "M1")])
    assert msa(ack) == "AA"
    assert "MSA|AA|M1|" in ack
    assert "|ACKM1|" in ack
    events = world.service.list_events(session)
    assert len(events) == before + 1
    recorded = events[-1]
    assert isinstance(recorded, VitalsRecorded)
    assert recorded.user == "device:MON/0012345678901234"
    assert (recorded.systolic_mmhg, recorded.temperature_c) == (118, Decimal("36.8"))
    with world.uow_factory() as uow:
        stored = uow.device_messages.get("hl7:MON/0012345678901234:M1")
    assert (stored.session_id, stored.answer) == (session, ack)


def test_a_duplicate_control_id_gets_the_same_ack_and_no_second_record(world: World) -> None:
    service, session = world.service, world.ids["session"]
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        first, again = send_frames_sync(
            "127.0.0.1", server.port, [message(world, "M7"), message(world, "M7")]
        )
        version = service.get_version(session)
        (third,) = send_frames_sync("127.0.0.1", server.port, [message(world, "M7")])
    assert first == again == third
    assert service.get_version(session) == version
    assert quarantine(world) == []


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("this is not HL7", "AR", "malformed"),
        ("MSH|^~\\&|MON||||20260302094500+0000||ADT^A01|X1|P|2.6\r", "AR", "unsupported"),
        (
            "MSH|^~\\&|MON||||20260302094500+0000||ORU^R01|X2|P|2.6\rPV1||O|INFUSION^Chair 1\r"
            "OBX|1|NM|188736^MDC_MASS_BODY_ACTUAL^MDC|1.1.1.1|70|263875^MDC_DIM_KILO_G^MDC|||||R\r",
            "AE",
            "unmappable",
        ),
    ],
)
def test_bad_messages_are_answered_and_quarantined(
    world: World, text: str, code: str, reason: str
) -> None:
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (ack,) = send_frames_sync("127.0.0.1", server.port, [text])
    assert msa(ack) == code
    assert "\rERR||" in ack  # ERR-2 location, ERR-3 code
    assert quarantine(world) == [(reason, "held")]


def test_an_unknown_patient_is_quarantined_then_replayed_by_an_admin(world: World) -> None:
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (ack,) = send_frames_sync("127.0.0.1", server.port, [message(world, "M9", bed="CHAIR07")])
    assert msa(ack) == "AE"
    assert "204^Unknown key identifier" in ack
    assert quarantine(world) == [("unknown-patient", "held")]
    (held,) = world.request(Role.ADMIN, "GET", "/api/quarantine?status=held").json()
    assert held["reason_code"] == "unknown-patient"
    assert "raw" not in held
    # The chair is renamed to what the monitor sends; the admin replays the message.
    admin = actor_for(world, Role.ADMIN)
    world.centre.records.update_chair(admin, world.ids["chair"], {"name": "CHAIR07"})
    replayed = world.request(Role.ADMIN, "POST", f"/api/quarantine/{held['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["outcome"] == "accepted"
    assert replayed.json()["session_id"] == world.ids["session"]
    assert quarantine(world) == [("unknown-patient", "replayed")]
    again = world.request(Role.ADMIN, "POST", f"/api/quarantine/{held['id']}/replay")
    assert again.status_code == 422
    assert world.request(Role.NURSE, "GET", "/api/quarantine").status_code == 403


def test_a_frame_without_the_start_byte_is_still_answered(world: World) -> None:
    import socket

    with (
        BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection,
    ):
        connection.sendall(message(world, "M3").encode() + b"\x1c\x0d")
        answer = b""
        for _ in range(100):  # bounded: the answer is one small frame
            if answer.endswith(b"\x1c\x0d"):
                break
            answer += connection.recv(4096)
    assert answer.startswith(b"\x0b")
    assert msa(answer.decode().strip("\x0b\x1c\x0d")) == "AA"
    assert QuarantineStatus.HELD.value not in {s for _, s in quarantine(world)}


def test_a_reused_control_id_with_other_content_is_quarantined_as_a_conflict(
    world: World,
) -> None:
    first = message(world, "C1")
    other = first.replace("|72|", "|140|")
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        ok, conflict = send_frames_sync("127.0.0.1", server.port, [first, other])
    assert msa(ok) == "AA"
    assert msa(conflict) == "AE"
    assert "MSA|AE|C1|" in conflict
    assert quarantine(world) == [("conflict", "held")]


def test_any_pid_3_repetition_and_two_obr_groups_record_two_readings(world: World) -> None:
    session = world.ids["session"]
    before = world.service.get_version(session)
    text = message(world, "G1").replace(
        f"PID|||{world.ids['patient']}", f"PID|||MRN-OTHER^^^HOSP^MR~{world.ids['patient']}"
    )
    stamp = text.split("\r")[0].split("|")[6]
    earlier = (NOW - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S%z")
    text = text.replace(f"||||||{stamp}\r", f"||||||{earlier}\r", 1).replace(
        f"|||{stamp}\r", f"|||{earlier}\r"
    ) + (
        f"OBR|2|G1b^MON|G1b^MON|182777000^monitoring of patient^SCT|||{stamp}\r"
        "OBX|8|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R\r"
    )
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (ack,) = send_frames_sync("127.0.0.1", server.port, [text])
    assert msa(ack) == "AA", ack
    recorded = [
        e for e in world.service.list_events(session)[before:] if isinstance(e, VitalsRecorded)
    ]
    assert [(e.at, e.heart_rate_bpm) for e in recorded] == [
        (NOW - timedelta(minutes=5), 72),
        (NOW, 80),
    ]


def test_an_idle_half_sent_frame_is_closed(world: World) -> None:
    import socket

    with (
        BackgroundMllpServer(
            world.centre.monitoring, clock=world.clock, idle_timeout_s=0.3
        ) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection,
    ):
        connection.sendall(b"\x0bMSH|^~\\&|MON")
        assert connection.recv(100) == b""  # closed by the listener, no answer to half a frame


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_any_bytes_get_an_answer_and_a_quarantine_entry_or_a_record(
    world: World, data: bytes
) -> None:
    from msinfusion.adapters.hl7.mllp import unframe

    text = unframe(data + b"\x1c\x0d")
    with world.uow_factory() as uow:
        held_before = len(uow.quarantine.list())
    receipt = world.centre.monitoring.ingest("hl7-mllp", text, now=NOW)
    assert receipt.answer.startswith("MSH|^~\\&|MSINFUSION|")
    with world.uow_factory() as uow:
        held_after = len(uow.quarantine.list())
    assert receipt.accepted or held_after == held_before + 1
