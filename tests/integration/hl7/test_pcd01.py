"""IHE PCD-01 parsing, MDC mapping and ACKs against golden files, and every malformed class."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from msinfusion.adapters.hl7.ack import build_ack
from msinfusion.adapters.hl7.pcd01 import parse_pcd01, to_vital_signs
from msinfusion.errors import (
    DeviceMessageError,
    InvalidVitalSigns,
    MalformedMessage,
    UnknownPatient,
    UnmappableMessage,
    UnsupportedMessage,
)

GOLDEN = Path(__file__).parent / "golden"
CET = timezone(timedelta(hours=1))
NOW = datetime(2025, 1, 10, 9, 15, 2, tzinfo=CET)


def golden(name: str) -> str:
    """Golden files keep HL7's carriage-return segment ends byte-exact (no newline translation)."""
    return (GOLDEN / name).read_bytes().decode()


DOSSIER = golden("pcd01_dossier_5_1.hl7")


def ack_for(text: str, control_id: str, error: Exception | None = None) -> str:
    """The ACK the PCD-01 codec builds for ``text``: the parse's sender and control id when it
    can be read, ``error`` (or the parse or mapping error) as the answer."""
    try:
        message = parse_pcd01(text)
    except DeviceMessageError as parse_error:
        return build_ack(
            control_id=control_id,
            acked_control_id=None,
            sending_application=None,
            now=NOW,
            error=parse_error,
        )
    try:
        to_vital_signs(message)
    except (DeviceMessageError, InvalidVitalSigns) as mapping_error:
        error = mapping_error
    return build_ack(
        control_id=control_id,
        acked_control_id=message.control_id,
        sending_application=message.sending_application,
        sending_facility=message.sending_facility,
        now=NOW,
        error=error,
    )


def test_the_dossier_message_parses() -> None:
    message = parse_pcd01(DOSSIER)
    assert message.control_id == "MSG0001"
    assert message.sending_application == "MON^0012345678901234^EUI-64"
    assert message.patient_id == "MRN123"
    assert message.bed == "CHAIR07"
    assert message.sent_at == datetime(2025, 1, 10, 9, 15, tzinfo=CET)
    # The MDS hierarchy row (OBX-11 = X) carries no value and is skipped: six metrics remain.
    assert [(o.mdc_code, o.containment, o.value) for o in message.observations] == [
        (147842, "1.1.1.1", Decimal(72)),
        (150456, "1.2.1.1", Decimal(97)),
        (150021, "1.3.1.1", Decimal(118)),
        (150022, "1.3.1.2", Decimal(76)),
        (151562, "1.4.1.1", Decimal(16)),
        (150364, "1.5.1.1", Decimal("36.8")),
    ]


def test_mdc_codes_map_to_vital_signs() -> None:
    vitals = to_vital_signs(parse_pcd01(DOSSIER))
    assert (
        vitals.heart_rate_bpm,
        vitals.spo2_pct,
        vitals.systolic_mmhg,
        vitals.diastolic_mmhg,
    ) == (
        72,
        97,
        118,
        76,
    )
    assert (vitals.respiratory_rate_per_min, vitals.temperature_c) == (16, Decimal("36.8"))
    assert vitals.source == "device"
    assert vitals.measured_at == datetime(2025, 1, 10, 9, 15, tzinfo=CET)


UNKNOWN_PATIENT = UnknownPatient(
    "no infusion in progress matches the patient (PID-3) and bed (PV1-3)", field="PID-3"
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [(None, "ack_accepted.hl7"), (UNKNOWN_PATIENT, "ack_unknown_patient.hl7")],
)
def test_acks_match_the_golden_files(error: Exception | None, expected: str) -> None:
    control = "ACK0001" if expected == "ack_accepted.hl7" else "ACK0002"
    assert ack_for(DOSSIER, control, error) == golden(expected)


def test_unparseable_text_is_rejected_with_the_golden_ack() -> None:
    assert ack_for("garbage", "ACK0003") == golden("ack_malformed.hl7")


def replace_segment(prefix: str, new: str) -> str:
    return "\r".join(new if s.startswith(prefix) else s for s in DOSSIER.split("\r"))


def replace_obx(number: int, new: str) -> str:
    return "\r".join(new if s.startswith(f"OBX|{number}|") else s for s in DOSSIER.split("\r"))


MSH = DOSSIER.split("\r")[0]

MALFORMED = [
    ("no MSH", "PID|||X", MalformedMessage, "AR"),
    (
        "not ORU^R01",
        replace_segment("MSH", MSH.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01")),
        UnsupportedMessage,
        "AR",
    ),
    (
        "empty control id",
        replace_segment("MSH", MSH.replace("|MSG0001|", "||")),
        MalformedMessage,
        "AR",
    ),
    (
        "time without offset",
        replace_segment("MSH", MSH.replace("20250110091500+0100", "20250110091500")),
        MalformedMessage,
        "AR",
    ),
    (
        "non-numeric value",
        replace_obx(
            2,
            "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|seventy|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R",
        ),
        MalformedMessage,
        "AR",
    ),
    (
        "only unknown codes",
        "\r".join(
            s for s in DOSSIER.split("\r") if not s.startswith("OBX|") or s.startswith("OBX|1|")
        )
        + "\rOBX|2|NM|999999^MDC_UNKNOWN^MDC|1.1.1.1|5|262688^MDC_DIM_PERCENT^MDC|||||R",
        UnmappableMessage,
        "AE",
    ),
    (
        "wrong unit",
        replace_obx(
            3, "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|97|266016^MDC_DIM_MMHG^MDC|||||R"
        ),
        UnmappableMessage,
        "AE",
    ),
    (
        "implausible value",
        replace_obx(
            3,
            "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|150|262688^MDC_DIM_PERCENT^MDC|||||R",
        ),
        InvalidVitalSigns,
        "AE",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "error", "code"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_every_malformed_class_gets_its_ack_code(
    case: str, text: str, error: type, code: str
) -> None:
    with pytest.raises(error):
        to_vital_signs(parse_pcd01(text))
    ack = ack_for(text, "ACK9")
    assert f"\rMSA|{code}|" in ack
    assert "\rERR|||" in ack


def test_fahrenheit_temperature_is_converted() -> None:
    text = replace_obx(
        7, "OBX|7|NM|150364^MDC_TEMP_BODY^MDC|1.5.1.1|100.4|268160^MDC_DIM_FAHR^MDC|||||R"
    )
    assert to_vital_signs(parse_pcd01(text)).temperature_c == Decimal("38.00")


def test_escaping_keeps_the_ack_parseable() -> None:
    from msinfusion.adapters.hl7.ack import escape

    assert escape("a|b^c~d\\e&f") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
