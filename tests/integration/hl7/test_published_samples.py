"""Every published PCD-01 sample (``samples/``: 12 messages from 5 sources, each file citing its
source URL and section; only the patient id and the times changed): exactly what is stored from
it, with each reading's time, and the exact ACK, validated by hl7apy; then each one over MLLP
(the real listener) into a centre with the sample's patient at the sample's chair.

The expectations are read by hand from the sample texts (the comments say which rows give
them); nothing here is derived from the reader's own output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, send_frames_sync, unframe
from msinfusion.application.records import PatientIdentifier
from msinfusion.errors import UnmappableMessage, UnsupportedMessage
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, build_world
from tests.integration.hl7.hl7check import validate_ack
from tests.integration.hl7.test_pcd01 import values
from tests.integration.hl7.test_samples import ACK_AT, CODEC, SAMPLES, sample
from tests.integration.hl7.worlds import ZURICH, add_sample_patient_session

OUR = "MSH|^~\\&|MSINFUSION||"
STAMP = "|20260302104500+0000||ACK^R01^ACK|"
PID = PatientIdentifier


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """One sample: its source (for the count), what is stored (UTC time, values), the ACK, and
    the patient's identifiers and chair in the centre (``patient`` set: its PID-3 has no
    issuer, so msinfusion's own patient id replaces that CX-1, the only change made)."""

    file: str
    source: str
    readings: tuple[tuple[datetime, dict[str, object]], ...]
    ack: str
    identifiers: tuple[PatientIdentifier, ...] = (PID(system="urn:test:mrn", value="MRN-S-1"),)
    patient: str = ""
    chair: str = "Chair S"
    refused: type[Exception] | None = None
    held: str | None = None


GE_ACK = f"{OUR}VSP^080019FFFE134535^EUI-64|GE Healthcare{STAMP}ACK004097134535|P|2.6\r"
GE = (PID(system="PID", value="SYN-GE-01"),)
ACME = f"{OUR}AcmeInc^ACDE48234567ABCD^EUI-64|"
EFFICIA = f"{OUR}^EfficiaCM|{STAMP}ACKMONITORABC000000002D|P|2.4\r"
W102, W103, W207 = (
    "102^Data type error",
    "103^Table value not found",
    "207^Application internal error",
)


def err(where: str, code: str, text: str, severity: str = "W") -> str:
    return f"ERR||{where}|{code}^HL70357|{severity}||||{text}\r"


def x_row(n: int, ref: str) -> str:
    return err(f"OBX^{n}^11", W207, f"OBX {n}: {ref} has status X (cannot be obtained)")


PUBLISHED = (
    Published(  # ECG VMD: HR 80 (OBX 11); the PVC rate (OBX 12) is no vital sign
        file="ge_b40_ecg_heart_rate_assembled.hl7",
        source="GE B40 HL7 Reference Manual",
        readings=((at(10, 41), {"heart_rate_bpm": 80}),),
        ack=GE_ACK
        + "MSA|AA|004097134535|\r"
        + err(
            "OBX^3^3",
            W103,
            "OBX 3 (set id 12): MDC_ECG_V_P_C_RATE is not a vital sign recorded here: skipped",
        ),
        identifiers=GE,
        chair="V2",
    ),
    Published(  # arterial line 112/76 (95), pulse from it 80; 11:41 Zurich = 10:41 UTC
        file="ge_b40_invasive_bp_assembled.hl7",
        source="GE B40 HL7 Reference Manual",
        readings=(
            (
                at(10, 41),
                {
                    "systolic_mmhg": 112,
                    "diastolic_mmhg": 76,
                    "mean_arterial_mmhg": 95,
                    "heart_rate_bpm": 80,
                },
            ),
        ),
        ack=GE_ACK + "MSA|AA|004097134535|\r",
        identifiers=GE,
        chair="V2",
    ),
    Published(  # SpO2 100, airway RR 18 (not ECG RR 30), first temperature 37.1 (not 36.5)
        file="ge_b40_spo2_resp_temp_assembled.hl7",
        source="GE B40 HL7 Reference Manual",
        readings=(
            (
                at(10, 41),
                {"spo2_pct": 100, "respiratory_rate_per_min": 18, "temperature_c": Decimal("37.1")},
            ),
        ),
        ack=GE_ACK
        + "MSA|AA|004097134535|\r"
        + err(
            "OBX^6^3",
            W207,
            "OBX 6 (set id 47): a second respiratory_rate_per_min in one "
            "reading: the first (OBX 4 (set id 45)) is recorded",
        )
        + err(
            "OBX^9^3",
            W207,
            "OBX 9 (set id 50): a second temperature_c in one reading: the "
            "first (OBX 8 (set id 49)) is recorded",
        ),
        identifiers=GE,
        chair="V2",
    ),
    Published(  # NIBP 120/80 (100) at the NIBP device row's time (OBX 3-14)
        file="ihe_pcd_bp_hapi.hl7",
        source="HAPI HL7v2 test suite",
        readings=(
            (at(10, 43), {"systolic_mmhg": 120, "diastolic_mmhg": 80, "mean_arterial_mmhg": 100}),
        ),
        ack=f"{ACME}{STAMP}ACKMSGID1234|P|2.6\rMSA|AA|MSGID1234|\r"
        + err("OBX^1^2", W102, "OBX 1: MDC_TIME_SYNC_PROTOCOL is CWE, not numeric: skipped")
        + err("OBX^7^2", W102, "OBX 7: MDC_ATTR_TIME_ABS is DTM, not numeric: skipped"),
        identifiers=(PID(system="Imaginary Hospital", value="SYN-IHE-01"),),
        chair="unused",
    ),
    Published(  # every metric row has OBX-11 X: nothing may be recorded
        file="ihe_tf_e_1_1_physiological_monitor.hl7",
        source="IHE PCD Technical Framework Vol. 2 Rev. 8.0",
        readings=(),
        ack=f"{OUR}PAT_DEVICE_PHILIPS_C|Philips{STAMP}ACKHP0122182658686QQ000CND119C0WS61|P|2.6\r"
        "MSA|AE|HP0122182658686QQ000CND119C0WS61|no observation maps to a vital sign\r"
        + err("OBX^1^3", W103, "no observation maps to a vital sign", "E")
        + x_row(4, "MDC_PRESS_BLD_NONINV_SYS")
        + x_row(5, "MDC_PRESS_BLD_NONINV_DIA")
        + x_row(6, "MDC_PRESS_BLD_NONINV_MEAN")
        + x_row(9, "MDC_ECG_CARD_BEAT_RATE")
        + x_row(10, "MDC_ECG_TIME_PD_QT_GL")
        + x_row(11, "MDC_ECG_TIME_PD_QTc")
        + x_row(12, "MDC_RESP_RATE")
        + x_row(13, "MDC_ECG_STAT_RHY")
        + x_row(16, "MDC_PULS_OXIM_SAT_O2")
        + x_row(17, "MDC_PULS_OXIM_PERF_REL"),
        patient="SYN-E111-01",
        chair="1",
        refused=UnmappableMessage,
        held="unmappable",
    ),
    Published(  # NIBP 111/60 (80), pulse 63 '{beat}/min'; OBX-14 without offset: MSH-7's +0000
        file="ihe_tf_e_1_2_episodic_nibp.hl7",
        source="IHE PCD Technical Framework Vol. 2 Rev. 8.0",
        readings=(
            (
                at(10, 42, 42),
                {
                    "systolic_mmhg": 111,
                    "diastolic_mmhg": 60,
                    "mean_arterial_mmhg": 80,
                    "heart_rate_bpm": 63,
                },
            ),
        ),
        ack=f"{OUR}ACME_Gateway^080019FFFE3ED02D^EUI-64|ACME Healthcare{STAMP}"
        "ACK0104ef190d604db188c3|P|2.6\rMSA|AA|0104ef190d604db188c3|\r",
        identifiers=(PID(system="A", value="SYN-E12-01"),),
        chair="SOLAR",
    ),
    Published(  # group 1: MAP 100 (F) at the device row's 10:40:00, systolic 140 (C) at its own
        # 10:40:10, diastolic D not recorded; group 2: unknown codes, X not recorded
        file="ipf_pcd01_maximum_request.hl7",
        source="Open eHealth IPF PCD-01 test resources",
        readings=(
            (at(10, 40), {"mean_arterial_mmhg": 100}),
            (at(10, 40, 10), {"systolic_mmhg": 140}),
        ),
        ack=f"{ACME}SendFac^1.2.3.4^ISO{STAMP}ACKMSGID1234|P|2.6\rMSA|AA|MSGID1234|\r"
        + err(
            "OBX^1^3",
            W103,
            "OBX 1: MDC_DEV_SPEC_PROFILE_BP is not a vital sign recorded here: skipped",
        )
        + err("OBX^4^11", W207, "OBX 4: MDC_PRESS_BLD_NONINV_DIA has status D (deleted)")
        + err(
            "OBX^8^3",
            W103,
            "OBX 8 (set id 3): MDC_PRESS_BLD_NONINV_SYS is not a vital sign recorded here: skipped",
        )
        + err(
            "OBX^9^3",
            W103,
            "OBX 9 (set id 4): MDC_PRESS_BLD_NONINV_SYS is not a vital sign recorded here: skipped",
        )
        + err(
            "OBX^10^11",
            W207,
            "OBX 10 (set id 5): MDC_PRESS_BLD_NONINV_MEAN has status X (cannot be obtained)",
        ),
        identifiers=(PID(system="urn:oid:1.3.4.565", value="SYN-IHE-02"),),
        chair="unused",
    ),
    Published(  # ECG HR 60 (OBX 1, not the arterial pulse OBX 6), arterial 120/80 (92)
        file="ipf_pcd01_request2_e11.hl7",
        source="Open eHealth IPF PCD-01 test resources",
        readings=(
            (
                at(10, 40),
                {
                    "heart_rate_bpm": 60,
                    "systolic_mmhg": 120,
                    "diastolic_mmhg": 80,
                    "mean_arterial_mmhg": 92,
                },
            ),
        ),
        ack=f"{OUR}HL7^080019FFFF4F6AC0^EUI-64|MMS{STAMP}ACK12d15a9:11df9e61347:-7fee:30456965|"
        "P|2.6\rMSA|AA|12d15a9:11df9e61347:-7fee:30456965|\r"
        + err(
            "OBX^2^3", W103, "OBX 2: MDC_ECG_V_P_C_CNT is not a vital sign recorded here: skipped"
        )
        + err(
            "OBX^6^3",
            W207,
            "OBX 6: a second heart_rate_bpm in one reading: the first (OBX 1) is recorded",
        )
        + err(
            "OBX^7^3",
            W103,
            "OBX 7: MDC_PRESS_BLD_ART_PULM_MEAN is not a vital sign recorded here: skipped",
        )
        + err(
            "OBX^8^3",
            W103,
            "OBX 8: MDC_PRESS_BLD_ART_PULM_SYS is not a vital sign recorded here: skipped",
        )
        + err(
            "OBX^9^3",
            W103,
            "OBX 9: MDC_PRESS_BLD_ART_PULM_DIA is not a vital sign recorded here: skipped",
        ),
        identifiers=(PID(system="A", value="SYN-E11-01"),),
        chair="1",
    ),
    Published(  # NIBP 120/80 (100) at the NIBP device row's 15:41+05:00
        file="ipf_pcd01_request_j2.hl7",
        source="Open eHealth IPF PCD-01 test resources",
        readings=(
            (at(10, 41), {"systolic_mmhg": 120, "diastolic_mmhg": 80, "mean_arterial_mmhg": 100}),
        ),
        ack=f"{ACME}{STAMP}ACKMSGID1234|P|2.6\rMSA|AA|MSGID1234|\r",
        identifiers=(PID(system="Imaginary Hospital", value="SYN-IHE-01"),),
        chair="unused",
    ),
    Published(  # a query reply (ORF^R04), not PCD-01: rejected, version 2.4 echoed
        file="philips_efficia_orf_r04.hl7",
        source="Philips Efficia CM Data Export Guide",
        readings=(),
        ack=EFFICIA + "MSA|AR|MONITORABC000000002D|MSH-9 'ORF\\S\\R04' is not ORU\\S\\R01 "
        "(IHE PCD-01)\rERR|MSH^1^9^200&Unsupported message type&HL70357\r",
        patient="SYN-EFFICIA-01",
        chair="LOCATION34",
        refused=UnsupportedMessage,
        held="unsupported",
    ),
    Published(  # an alarm text (TX) only: nothing to chart
        file="philips_efficia_oru_alarm.hl7",
        source="Philips Efficia CM Data Export Guide",
        readings=(),
        ack=EFFICIA + "MSA|AE|MONITORABC000000002D|no observation maps to a vital sign\r"
        # 2.4: one ERR, one ERR-1 repetition per issue
        "ERR|OBX^1^3^103&Table value not found&HL70357~OBX^1^2^102&Data type error&HL70357\r",
        patient="SYN-EFFICIA-01",
        chair="LOCATION34",
        refused=UnmappableMessage,
        held="unmappable",
    ),
    Published(  # MDIL codes; NBP 122/85 at its own 11:43:30 Zurich, SpO2 98, pulse 80 and
        # the NBP mean 98 at the OBR's 11:44; 'Resp' 0002-5000 and the private T1 skipped
        file="philips_efficia_oru_trend_assembled.hl7",
        source="Philips Efficia CM Data Export Guide",
        readings=(
            (at(10, 43, 30), {"systolic_mmhg": 122, "diastolic_mmhg": 85}),
            (at(10, 44), {"spo2_pct": 98, "mean_arterial_mmhg": 98, "heart_rate_bpm": 80}),
        ),
        ack=EFFICIA + "MSA|AA|MONITORABC000000002D|\r"
        "ERR|OBX^6^3^103&Table value not found&HL70357~OBX^7^3^103&Table value not found"
        "&HL70357\r",
        patient="SYN-EFFICIA-01",
        chair="LOCATION34",
    ),
)
BY_FILE = {p.file: p for p in PUBLISHED}


def test_twelve_published_samples_from_five_sources_each_cited() -> None:
    files = sorted(path.name for path in SAMPLES.glob("*.hl7"))
    assert files == sorted(BY_FILE)
    assert len(files) >= 12
    assert len(Counter(p.source for p in PUBLISHED)) >= 5
    for name in files:
        header = [line for line in (SAMPLES / name).read_text().split("\n") if line.startswith("#")]
        assert any("https://" in line for line in header), name
        assert any("Changed:" in line for line in header), name


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_each_sample_stores_exactly_its_readings_and_gets_the_exact_ack(name: str) -> None:
    expected, text = BY_FILE[name], sample(name)
    if expected.refused is not None:
        with pytest.raises(expected.refused):
            CODEC.decode(text)
    else:
        decoded = [(r.vitals.measured_at, values(r)) for r in CODEC.decode(text)]
        assert decoded == list(expected.readings)
    ack = CODEC.answer(text, now=ACK_AT, error=None, session_id=None)
    assert ack == expected.ack
    validate_ack(ack)


def stored(event: VitalsRecorded) -> dict[str, object]:
    names = (
        "heart_rate_bpm",
        "spo2_pct",
        "systolic_mmhg",
        "diastolic_mmhg",
        "respiratory_rate_per_min",
        "temperature_c",
        "mean_arterial_mmhg",
    )
    return {n: getattr(event, n) for n in names if getattr(event, n) is not None}


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_each_sample_over_mllp_is_recorded_or_held_exactly(name: str) -> None:
    expected, text = BY_FILE[name], sample(name)
    world = build_world(settings=ZURICH)
    session = add_sample_patient_session(
        world, identifiers=expected.identifiers, chair_name=expected.chair
    )
    if expected.patient:  # PID-3 without an issuer: only msinfusion's own id can match
        text = text.replace(expected.patient, world.ids["sample_patient"], 1)
    before = world.service.get_version(session)
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (answer,) = send_frames_sync("127.0.0.1", server.port, [text])
    assert answer == expected.ack
    recorded = [
        e for e in world.service.list_events(session)[before:] if isinstance(e, VitalsRecorded)
    ]
    sender = next(r.sender for r in CODEC.decode(text)) if expected.readings else ""
    assert [(e.at, e.user, e.recorded_at, stored(e)) for e in recorded] == [
        (moment, f"device:{sender}", NOW, readings) for moment, readings in expected.readings
    ]
    with world.uow_factory() as uow:
        held = [q.reason_code for q in uow.quarantine.list()]
    assert held == ([expected.held] if expected.held else [])
    assert all(moment <= NOW - timedelta(seconds=60) for moment, _ in expected.readings)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(BY_FILE)),
    at_fraction=st.floats(min_value=0, max_value=1),
    cut=st.integers(min_value=0, max_value=40),
    noise=st.binary(max_size=24).filter(lambda b: b"\x1c" not in b and b"\x0b" not in b),
)
def test_a_damaged_published_sample_over_mllp_gets_a_valid_ack_and_a_record_or_a_hold(
    name: str, at_fraction: float, cut: int, noise: bytes
) -> None:
    """Any sample with any span replaced by any bytes: one ACK that validates; AA means it was
    recorded (nothing held), AE/AR that it is held in quarantine; never a crash or silence."""
    raw = sample(name).encode()
    where = int(at_fraction * len(raw))
    frame_bytes = raw[:where] + noise + raw[where + cut :]
    world = build_world(settings=ZURICH)
    session = add_sample_patient_session(world, identifiers=BY_FILE[name].identifiers)
    before = world.service.get_version(session)
    text = unframe(frame_bytes + b"\x1c\x0d")
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        (answer,) = send_frames_sync("127.0.0.1", server.port, [text])
    assert answer.startswith("MSH|^~\\&|MSINFUSION|")
    validate_ack(answer)
    code = next(s for s in answer.split("\r") if s.startswith("MSA|")).split("|")[1]
    with world.uow_factory() as uow:
        held = len(uow.quarantine.list())
    if code == "AA":
        assert held == 0
    else:
        assert code in ("AE", "AR")
        assert held == 1
        assert world.service.get_version(session) == before
