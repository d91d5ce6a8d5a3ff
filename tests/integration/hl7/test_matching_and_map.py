"""Issue 17: the patient found through any PID-3 repetition (system + value of the patient's
identifiers), the chair through PV1-3.3, unknown or ambiguous patients quarantined with an AE
naming the field; mean arterial pressure stored from NIBP (cuff and non-invasive families) and
invasive codes. Through the feed (``DeviceFeed.ingest``, the MLLP listener's path) on the fake,
SQLite and PostgreSQL (``conftest.world``); every ACK validated by hl7apy."""

from __future__ import annotations

from datetime import UTC
from fractions import Fraction

import pytest

from msinfusion.adapters.hl7.codec import Pcd01Codec
from msinfusion.application.monitoring_ports import Receipt
from msinfusion.application.records import Role
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, World, actor_for
from tests.integration.hl7.hl7check import validate_ack
from tests.integration.hl7.test_pcd01 import values
from tests.integration.hl7.worlds import add_sample_patient_session

STAMP = "20260302104500+0000"


def pcd01(pid: str, bed: str, *rows: str, control_id: str = "T1") -> str:
    """A PCD-01 message written for these tests (not a published sample)."""
    return (
        "\r".join(
            [
                f"MSH|^~\\&|MON^0012345678901234^EUI-64|TEST|||{STAMP}||ORU^R01^ORU_R01|{control_id}"
                "|P|2.6|||NE|AL",
                f"PID|||{pid}",
                f"PV1||O|INFUSION^^{bed}",
                f"OBR|1|{control_id}^MON|{control_id}^MON|182777000^monitoring of patient^SCT"
                f"|||{STAMP}",
                *rows,
            ]
        )
        + "\r"
    )


HR = "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
CUFF = (
    "OBX|2|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.3.1.1|118|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|3|NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.3.1.2|76|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|4|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.3.1.3|90|266016^MDC_DIM_MMHG^MDC|||||F",
)


def mrn(world: World) -> str:
    with world.uow_factory() as uow:
        patient = uow.patients.get(world.ids["patient"])
    return patient.identifiers[0].value  # urn:test:mrn


def ingest(world: World, text: str) -> Receipt:
    receipt = world.centre.monitoring.ingest("hl7-mllp", text, now=NOW)
    validate_ack(receipt.answer)
    return receipt


def msa_err(receipt: Receipt) -> tuple[str, list[str]]:
    segments = receipt.answer.split("\r")
    msa = next(s for s in segments if s.startswith("MSA|")).split("|")[1]
    return msa, [
        s.split("|")[2] + " " + s.split("|")[3].split("^")[0]
        for s in segments
        if s.startswith("ERR|")
    ]


def last_vitals(world: World, session: str) -> VitalsRecorded:
    recorded = [e for e in world.service.list_events(session) if isinstance(e, VitalsRecorded)]
    return recorded[-1]


def held(world: World) -> list[str]:
    with world.uow_factory() as uow:
        return [q.reason_code for q in uow.quarantine.list()]


def test_a_later_pid_3_repetition_with_the_patients_system_finds_the_session(world: World) -> None:
    pid = f"X-77^^^OTHER-HOSPITAL^MR~{mrn(world)}^^^urn:test:mrn^MR"
    receipt = ingest(world, pcd01(pid, "", HR))
    assert (receipt.outcome, receipt.session_id) == ("accepted", world.ids["session"])
    assert last_vitals(world, world.ids["session"]).heart_rate_bpm == 72


def test_an_identifier_of_the_right_system_with_another_value_is_an_unknown_patient(
    world: World,
) -> None:
    version = world.service.get_version(world.ids["session"])
    receipt = ingest(world, pcd01("MRN-99999^^^urn:test:mrn^MR", "", HR))
    assert (receipt.outcome, receipt.reason_code) == ("quarantined", "unknown-patient")
    assert msa_err(receipt) == ("AE", ["PID^1^3 204"])
    assert "MRN-99999" not in receipt.answer  # the ACK never echoes an identifier
    assert world.service.get_version(world.ids["session"]) == version
    assert held(world) == ["unknown-patient"]


def test_a_value_without_its_system_does_not_identify_anyone(world: World) -> None:
    receipt = ingest(world, pcd01(mrn(world), "", HR))  # CX-4 empty: which issuer's MRN?
    assert receipt.reason_code == "unknown-patient"


def test_identifiers_naming_two_patients_are_ambiguous_and_nothing_is_recorded(
    world: World,
) -> None:
    sample = add_sample_patient_session(world)
    versions = [world.service.get_version(s) for s in (world.ids["session"], sample)]
    contradicting = pcd01(f"{world.ids['patient']}~MRN-99999^^^urn:test:mrn^MR", "", HR)
    receipt = ingest(world, contradicting)
    assert (receipt.reason_code, msa_err(receipt)) == ("ambiguous-patient", ("AE", ["PID^1^3 204"]))
    both = pcd01(f"{mrn(world)}^^^urn:test:mrn^MR~SYN-GE-01^^^PID^MR", "", HR, control_id="T2")
    receipt = ingest(world, both)
    assert receipt.reason_code == "ambiguous-patient"
    assert "2 infusions in progress fit" in receipt.answer
    assert [world.service.get_version(s) for s in (world.ids["session"], sample)] == versions
    assert held(world) == ["ambiguous-patient", "ambiguous-patient"]


def test_the_chair_in_pv1_3_3_is_matched_and_a_wrong_chair_names_pv1_3(world: World) -> None:
    alone = ingest(world, pcd01("", "chair 1", HR))  # no PID-3: the chair (any case) alone
    assert (alone.outcome, alone.session_id) == ("accepted", world.ids["session"])
    elsewhere = ingest(world, pcd01(world.ids["patient"], "Chair 9", HR, control_id="T2"))
    assert (elsewhere.reason_code, msa_err(elsewhere)) == (
        "unknown-patient",
        ("AE", ["PV1^1^3 204"]),
    )
    assert "chair" in (elsewhere.reason or "")


def test_nibp_cuff_codes_store_systolic_diastolic_and_mean(world: World) -> None:
    receipt = ingest(world, pcd01(world.ids["patient"], "Chair 1", HR, *CUFF))
    assert receipt.outcome == "accepted", receipt.answer
    event = last_vitals(world, world.ids["session"])
    assert (event.systolic_mmhg, event.diastolic_mmhg, event.mean_arterial_mmhg) == (118, 76, 90)
    assert event.heart_rate_bpm == 72


def test_a_mean_above_the_systolic_is_refused_naming_the_field(world: World) -> None:
    rows = (*CUFF[:2], CUFF[2].replace("|90|", "|130|"))
    receipt = ingest(world, pcd01(world.ids["patient"], "Chair 1", *rows))
    assert receipt.reason_code == "invalid-vital-signs"
    assert msa_err(receipt)[0] == "AE"
    assert "mean_arterial_mmhg 130 is above systolic_mmhg 118" in receipt.answer


@pytest.mark.parametrize(
    ("codes", "family"),
    [
        ((150021, 150022, 150023), "NONINV"),
        ((150301, 150302, 150303), "CUFF"),
        ((150017, 150018, 150019), "BLD"),
        ((150033, 150034, 150035), "BLD_ART"),
        ((150037, 150038, 150039), "BLD_ART_ABP"),
    ],
)
def test_every_blood_pressure_family_maps_to_systolic_diastolic_and_mean(
    codes: tuple[int, int, int], family: str
) -> None:
    rows = [
        f"OBX|{n}|NM|{code}^MDC_PRESS_{family}^MDC|1.3.1.{n}|{value}|266016^MDC_DIM_MMHG^MDC|||||R"
        for n, (code, value) in enumerate(zip(codes, (121, 79, 93), strict=True), start=1)
    ]
    (reading,) = Pcd01Codec().decode(pcd01("P-1", "Chair 1", *rows))
    assert values(reading) == {"systolic_mmhg": 121, "diastolic_mmhg": 79, "mean_arterial_mmhg": 93}


def test_the_mean_alone_is_a_reading_and_the_timeline_shows_it(world: World) -> None:
    receipt = ingest(world, pcd01(world.ids["patient"], "Chair 1", CUFF[2]))
    assert receipt.outcome == "accepted", receipt.answer
    assert last_vitals(world, world.ids["session"]).mean_arterial_mmhg == Fraction(90)
    nurse = actor_for(world, Role.NURSE)
    read = world.centre.sessions.get(nurse, world.ids["session"], at=None, display_tz=UTC)
    lines = [entry.text for entry in read.view.entries if entry.kind == "VitalsRecorded"]
    assert lines[-1] == "Vitals MAP 90 mmHg"
