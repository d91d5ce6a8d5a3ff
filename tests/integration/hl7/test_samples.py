"""Three of the published PCD-01 samples (``samples/``, each citing its source; only the
patient id and the times changed) over MLLP into a centre on the fake, SQLite and PostgreSQL,
with what each stores and its ACK (hl7apy); ``test_published_samples.py`` covers all twelve.

Here: the IHE PCD DEC blood-pressure example as the HAPI test suite publishes it, and two
messages assembled from the GE B40/B20 HL7 reference manual's sample pages (the files say so).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from msinfusion.adapters.hl7.codec import Pcd01Codec
from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, send_frames_sync
from msinfusion.application.monitoring_ports import PatientKey
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, World
from tests.integration.hl7.hl7check import validate_ack
from tests.integration.hl7.test_pcd01 import values
from tests.integration.hl7.worlds import ZURICH, add_sample_patient_session, stored_world

SAMPLES = Path(__file__).parent / "samples"
CODEC = Pcd01Codec(default_zone=ZoneInfo("Europe/Zurich"))
ACK_AT = datetime(2026, 3, 2, 10, 45, tzinfo=UTC)


def sample(name: str) -> str:
    """The sample's HL7 text (the ``#`` source lines dropped, CR segment ends kept)."""
    lines = (SAMPLES / name).read_bytes().decode().split("\n")
    assert lines[0].startswith("# Source: "), f"{name} does not cite its source"
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


IHE_BP = sample("ihe_pcd_bp_hapi.hl7")
GE_ART = sample("ge_b40_invasive_bp_assembled.hl7")
GE_SPO2 = sample("ge_b40_spo2_resp_temp_assembled.hl7")


def ack_of(text: str) -> str:
    ack = CODEC.answer(text, now=ACK_AT, error=None, session_id=None)
    validate_ack(ack)
    return ack


def test_every_sample_cites_a_source_url() -> None:
    for path in sorted(SAMPLES.glob("*.hl7")):
        header = [line for line in path.read_text().split("\n") if line.startswith("#")]
        assert any("https://" in line for line in header), path.name


def test_the_ihe_nibp_example_stores_systolic_diastolic_and_mean_at_the_cuffs_time() -> None:
    (reading,) = CODEC.decode(IHE_BP)
    assert reading.message_key == "hl7:AcmeInc/ACDE48234567ABCD:MSGID1234"
    assert reading.identifiers == (
        PatientKey(value="SYN-IHE-01", systems=("Imaginary Hospital",), kind="PI"),
    )
    assert reading.chair_name is None  # no PV1: matched by the patient alone
    # OBX 3 (the NIBP device row) carries the time its three metrics inherit; status R.
    assert reading.vitals.measured_at == datetime(2026, 3, 2, 10, 43, tzinfo=UTC)
    assert values(reading) == {
        "systolic_mmhg": 120,
        "diastolic_mmhg": 80,
        "mean_arterial_mmhg": 100,
    }
    assert ack_of(IHE_BP) == (
        "MSH|^~\\&|MSINFUSION||AcmeInc^ACDE48234567ABCD^EUI-64||20260302104500+0000||"
        "ACK^R01^ACK|ACKMSGID1234|P|2.6\r"
        "MSA|AA|MSGID1234|\r"
        "ERR||OBX^1^2|102^Data type error^HL70357|W||||"
        "OBX 1: MDC_TIME_SYNC_PROTOCOL is CWE, not numeric: skipped\r"
        "ERR||OBX^7^2|102^Data type error^HL70357|W||||"
        "OBX 7: MDC_ATTR_TIME_ABS is DTM, not numeric: skipped\r"
    )


def test_the_ge_arterial_line_stores_its_mean_and_pulse_in_the_centres_zone() -> None:
    (reading,) = CODEC.decode(GE_ART)
    assert reading.message_key == "hl7:VSP/080019FFFE134535:004097134535"
    assert reading.identifiers == (PatientKey(value="SYN-GE-01", systems=("PID",), kind="MR"),)
    assert reading.chair_name == "V2"  # PV1-3 'SURGERY^^V2': the bed component
    # MSH-7 and OBR-7 have no offset (GE's own sample): Europe/Zurich, 11:41 = 10:41 UTC.
    assert reading.vitals.measured_at == datetime(2026, 3, 2, 10, 41, tzinfo=UTC)
    assert values(reading) == {
        "systolic_mmhg": 112,
        "diastolic_mmhg": 76,
        "mean_arterial_mmhg": 95,
        "heart_rate_bpm": 80,  # MDC_BLD_PULS_RATE_INV
    }
    assert ack_of(GE_ART) == (
        "MSH|^~\\&|MSINFUSION||VSP^080019FFFE134535^EUI-64|GE Healthcare|20260302104500+0000||"
        "ACK^R01^ACK|ACK004097134535|P|2.6\r"
        "MSA|AA|004097134535|\r"
    )


def test_the_ge_second_respiratory_rate_and_temperature_are_warnings_not_last_wins() -> None:
    (reading,) = CODEC.decode(GE_SPO2)
    assert values(reading) == {
        "spo2_pct": 100,
        "respiratory_rate_per_min": 18,  # airway (OBX 45), not ECG impedance (OBX 47: 30)
        "temperature_c": Decimal("37.1"),  # OBX 49, not OBX 50 (36.5)
    }
    assert ack_of(GE_SPO2) == (
        "MSH|^~\\&|MSINFUSION||VSP^080019FFFE134535^EUI-64|GE Healthcare|20260302104500+0000||"
        "ACK^R01^ACK|ACK004097134535|P|2.6\r"
        "MSA|AA|004097134535|\r"
        "ERR||OBX^6^3|207^Application internal error^HL70357|W||||OBX 6 (set id 47): a second "
        "respiratory_rate_per_min in one reading: the first (OBX 4 (set id 45)) is recorded\r"
        "ERR||OBX^9^3|207^Application internal error^HL70357|W||||OBX 9 (set id 50): a second "
        "temperature_c in one reading: the first (OBX 8 (set id 49)) is recorded\r"
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def zurich_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    yield from stored_world(request.param, request, tmp_path, settings=ZURICH)


def msa(ack: str) -> str:
    (segment,) = [s for s in ack.split("\r") if s.startswith("MSA|")]
    return segment.split("|")[1]


def test_the_samples_over_mllp_store_exactly_their_values(zurich_world: World) -> None:
    world = zurich_world
    session = add_sample_patient_session(world)
    before = world.service.get_version(session)
    other_before = world.service.get_version(world.ids["session"])
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        ihe, ge, reused = send_frames_sync("127.0.0.1", server.port, [IHE_BP, GE_ART, GE_SPO2])
    for ack in (ihe, ge, reused):
        validate_ack(ack)
    assert (msa(ihe), msa(ge)) == ("AA", "AA")
    # The two GE pages share Example 1's MSH-10 with other content: the first stands.
    assert reused.split("\r")[1] == (
        "MSA|AE|004097134535|the message control id (MSH-10) was accepted before with other content"
    )
    recorded = [
        e for e in world.service.list_events(session)[before:] if isinstance(e, VitalsRecorded)
    ]
    assert [
        (
            e.at,
            e.user,
            e.systolic_mmhg,
            e.diastolic_mmhg,
            e.mean_arterial_mmhg,
            e.heart_rate_bpm,
            e.recorded_at,
        )
        for e in recorded
    ] == [  # in the order they were recorded, each charted at its own time
        (NOW - timedelta(minutes=2), "device:AcmeInc/ACDE48234567ABCD", 120, 80, 100, None, NOW),
        (NOW - timedelta(minutes=4), "device:VSP/080019FFFE134535", 112, 76, 95, 80, NOW),
    ]
    assert world.service.get_version(world.ids["session"]) == other_before  # Chair 1: untouched
    with world.uow_factory() as uow:
        held = [(q.reason_code, q.message_key) for q in uow.quarantine.list()]
        stored = uow.device_messages.get("hl7:AcmeInc/ACDE48234567ABCD:MSGID1234")
    assert held == [("conflict", "hl7:VSP/080019FFFE134535:004097134535")]
    assert (stored.session_id, stored.answer) == (session, ihe)
