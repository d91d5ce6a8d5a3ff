"""IHE PCD-01 reading, mapping and ACKs: the dossier message (golden) and one variant of it per
case of issue 17. Every variant changes only what its name says (the dossier gives one complete
sample: standards.md 5.1, see golden/pcd01_dossier_5_1.hl7); every ACK is validated by hl7apy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from msinfusion.adapters.hl7.codec import Pcd01Codec
from msinfusion.adapters.hl7.pcd01 import parse_pcd01
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.errors import (
    DeviceMessageError,
    InvalidVitalSigns,
    MalformedMessage,
    UnknownPatient,
    UnmappableMessage,
    UnsupportedMessage,
)
from tests.integration.hl7.hl7check import golden, validate_ack

CET = timezone(timedelta(hours=1))
NOW = datetime(2025, 1, 10, 9, 15, 2, tzinfo=CET)
AT = datetime(2025, 1, 10, 9, 15, tzinfo=CET)
DOSSIER = golden("pcd01_dossier_5_1.hl7")
SEGMENTS = DOSSIER.split("\r")
MSH = SEGMENTS[0]
STAMP = "20250110091500+0100"
CODEC = Pcd01Codec()


def variant(*, drop: tuple[str, ...] = (), replace: dict[str, str] | None = None,
            append: tuple[str, ...] = (), old: str = "", new: str = "") -> str:  # fmt: skip
    lines = []
    for line in SEGMENTS:
        key = "|".join(line.split("|")[:2])
        if key in drop:
            continue
        lines.append((replace or {}).get(key, line))
    text = "\r".join(lines).rstrip("\r") + "\r" + "".join(f"{a}\r" for a in append)
    return text.replace(old, new) if old else text


def values(reading: DeviceReading) -> dict[str, object]:
    v = reading.vitals
    names = ("heart_rate_bpm", "spo2_pct", "systolic_mmhg", "diastolic_mmhg",
             "respiratory_rate_per_min", "temperature_c", "mean_arterial_mmhg")  # fmt: skip
    return {n: getattr(v, n) for n in names if getattr(v, n) is not None}


DOSSIER_VALUES = {
    "heart_rate_bpm": 72,
    "spo2_pct": 97,
    "systolic_mmhg": 118,
    "diastolic_mmhg": 76,
    "respiratory_rate_per_min": 16,
    "temperature_c": Decimal("36.8"),
}


def answer(text: str, error: Exception | None = None, codec: Pcd01Codec = CODEC) -> str:
    ack = codec.answer(text, now=NOW, error=error, session_id=None)
    validate_ack(ack)
    return ack


def err_lines(ack: str) -> list[str]:
    return [s for s in ack.split("\r") if s.startswith("ERR")]


def test_the_dossier_message_is_stored_exactly_and_answered_with_the_golden_ack() -> None:
    (reading,) = CODEC.decode(DOSSIER)
    assert reading.message_key == "hl7:MON/0012345678901234:MSG0001"
    assert reading.patient_ids == ("MRN123",)
    assert reading.chair_name is None  # PV1-3.3 (bed) is empty in the dossier message
    assert reading.vitals.measured_at == AT
    assert values(reading) == DOSSIER_VALUES
    assert answer(DOSSIER) == golden("ack_accepted.hl7")


def test_golden_acks_for_unknown_patient_and_garbage() -> None:
    unknown = UnknownPatient(
        "no infusion in progress matches the patient (PID-3) and chair (PV1-3)", field="PID-3"
    )
    assert answer(DOSSIER, unknown) == golden("ack_unknown_patient.hl7")
    with pytest.raises(MalformedMessage):
        CODEC.decode("garbage")
    assert CODEC.answer("garbage", now=NOW, error=None, session_id=None) == golden(
        "ack_malformed.hl7"
    )


def test_the_chair_is_read_from_the_configured_pv1_3_component() -> None:
    room = Pcd01Codec(chair_component="room")
    assert room.decode(DOSSIER)[0].chair_name == "CHAIR07"
    bed = variant(replace={"PV1|": "PV1||O|INFUSION^BAY2^CHAIR07"})
    assert CODEC.decode(bed)[0].chair_name == "CHAIR07"
    assert Pcd01Codec(chair_component="point-of-care").decode(bed)[0].chair_name == "INFUSION"


def test_every_pid_3_repetition_is_read() -> None:
    text = variant(replace={"PID|": "PID|||MRN123^^^HOSP^MR~P-0042^^^MSI^PI||DOE^JANE"})
    assert CODEC.decode(text)[0].patient_ids == ("MRN123", "P-0042")


def no_offsets(text: str) -> str:
    return text.replace(STAMP, "20250110091500")


def test_a_time_without_offset_takes_msh_7s_offset() -> None:
    text = MSH + "\r" + no_offsets("\r".join(SEGMENTS[1:]))
    assert STAMP in text.split("\r")[0]
    (reading,) = CODEC.decode(text)
    assert reading.vitals.measured_at == AT


def test_without_any_offset_the_senders_zone_then_the_centres_applies() -> None:
    text = no_offsets(DOSSIER)
    zurich = Pcd01Codec(zones={"MON": ZoneInfo("Europe/Zurich")}, default_zone=ZoneInfo("UTC"))
    assert zurich.decode(text)[0].vitals.measured_at == AT
    centre = Pcd01Codec(default_zone=ZoneInfo("UTC"))
    assert centre.decode(text)[0].vitals.measured_at == AT + timedelta(hours=1)
    with pytest.raises(MalformedMessage, match="no UTC offset"):
        CODEC.decode(text)


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        ("OBX|8|CWE|68220^MDC_TIME_SYNC_PROTOCOL^MDC|1.0.0.1|532224^MDC_TIME_SYNC_NONE^MDC||||||R", "CWE"),  # noqa: E501
        ("OBX|8|ST|184326^MDC_ATTR_MODE_OP^MDC|1.1.0.1|monitoring||||||R", "ST"),
        ("OBX|8|NA|131329^MDC_ECG_ELEC_POTL_I^MDC|1.1.1.2|1^2^3|266418^MDC_DIM_MILLI_VOLT^MDC|||||R", "NA"),  # noqa: E501
    ],
)  # fmt: skip
def test_a_non_numeric_row_is_skipped_and_noted_in_an_aa(row: str, kind: str) -> None:
    text = variant(append=(row,))
    (reading,) = CODEC.decode(text)
    assert values(reading) == DOSSIER_VALUES
    ack = answer(text)
    assert "\rMSA|AA|MSG0001|" in ack
    assert err_lines(ack) == [
        f"ERR||OBX^8^2|102^Data type error^HL70357|W||||OBX 8: "
        f"{row.split('|')[3].split('^')[1]} is {kind}, not numeric: skipped"
    ]


def test_an_unknown_numeric_code_is_skipped_and_noted() -> None:
    text = variant(append=("OBX|8|NM|188736^MDC_MASS_BODY_ACTUAL^MDC|1.6.1.1|70|263875^MDC_DIM_KILO_G^MDC|||||R",))  # fmt: skip  # noqa: E501
    assert values(CODEC.decode(text)[0]) == DOSSIER_VALUES
    assert err_lines(answer(text)) == [
        "ERR||OBX^8^3|103^Table value not found^HL70357|W||||OBX 8: MDC_MASS_BODY_ACTUAL is "
        "not a vital sign recorded here: skipped"
    ]


@pytest.mark.parametrize("status", ["W", "D", "X"])
def test_wrong_deleted_and_missing_results_are_not_recorded(status: str) -> None:
    row = SEGMENTS[2 + 4]  # OBX|3| SpO2
    assert row.startswith("OBX|3|")
    text = variant(replace={"OBX|3": row.replace("|||||R|||", f"|||||{status}|||")})
    (reading,) = CODEC.decode(text)
    assert "spo2_pct" not in values(reading)
    assert f"has status {status}" in err_lines(answer(text))[0]


def test_a_preliminary_result_is_recorded_and_noted() -> None:
    text = variant(replace={"OBX|3": SEGMENTS[6].replace("|||||R|||", "|||||P|||")})
    assert values(CODEC.decode(text)[0]) == DOSSIER_VALUES
    assert err_lines(answer(text)) == [
        "ERR||OBX^3^11|207^Application internal error^HL70357|I||||OBX 3: "
        "MDC_PULS_OXIM_SAT_O2 is preliminary (P): recorded"
    ]


def test_two_obr_groups_are_two_readings_at_their_own_times() -> None:
    later = "20250110092000+0100"
    second = [
        f"OBR|2|A2^MON|A2^MON|182777000^monitoring of patient^SCT|||{later}",
        "OBX|8|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R",
    ]
    readings = CODEC.decode(variant(append=tuple(second)))
    assert [(r.vitals.measured_at, values(r)) for r in readings] == [
        (AT, DOSSIER_VALUES),
        (AT + timedelta(minutes=5), {"heart_rate_bpm": 80}),
    ]


def test_a_duplicate_parameter_is_a_warning_and_the_first_is_kept() -> None:
    text = variant(append=("OBX|8|NM|151562^MDC_RESP_RATE^MDC|1.4.1.2|22|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R",))  # fmt: skip  # noqa: E501
    assert values(CODEC.decode(text)[0])["respiratory_rate_per_min"] == 16
    assert err_lines(answer(text)) == [
        "ERR||OBX^8^3|207^Application internal error^HL70357|W||||OBX 8: a second "
        "respiratory_rate_per_min in one reading: the first (OBX 6) is recorded"
    ]


def test_a_correction_replaces_the_earlier_value() -> None:
    text = variant(append=(f"OBX|8|NM|151562^MDC_RESP_RATE^MDC|1.4.1.1|18|264928^MDC_DIM_RESP_PER_MIN^MDC|||||C|||{STAMP}",))  # fmt: skip  # noqa: E501
    assert values(CODEC.decode(text)[0])["respiratory_rate_per_min"] == 18
    assert err_lines(answer(text)) == []


@pytest.mark.parametrize(
    ("codes", "units"),
    [
        (("150301^MDC_PRESS_CUFF_SYS^MDC", "150302^MDC_PRESS_CUFF_DIA^MDC"), "266016^MDC_DIM_MMHG^MDC"),  # noqa: E501
        (("150033^MDC_PRESS_BLD_ART_SYS^MDC", "150034^MDC_PRESS_BLD_ART_DIA^MDC"), "^MDC_DIM_MMHG^MDC"),  # noqa: E501
        (("8480-6^Systolic blood pressure^LN", "8462-4^Diastolic blood pressure^LN"), "mm[Hg]^mm[Hg]^UCUM"),  # noqa: E501
    ],
)  # fmt: skip
def test_nibp_families_invasive_pressure_loinc_and_units_by_reference(
    codes: tuple[str, str], units: str
) -> None:
    sys_row = f"OBX|4|NM|{codes[0]}|1.3.1.1|118|{units}|||||R|||{STAMP}"
    dia_row = f"OBX|5|NM|{codes[1]}|1.3.1.2|76|{units}|||||R|||{STAMP}"
    text = variant(replace={"OBX|4": sys_row, "OBX|5": dia_row})
    assert values(CODEC.decode(text)[0]) == DOSSIER_VALUES
    assert err_lines(answer(text)) == []


def test_mean_arterial_pressure_is_read() -> None:
    text = variant(append=(f"OBX|8|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.3.1.3|90|266016^MDC_DIM_MMHG^MDC|||||R|||{STAMP}",))  # fmt: skip  # noqa: E501
    assert values(CODEC.decode(text)[0])["mean_arterial_mmhg"] == 90


@pytest.mark.parametrize(
    ("unit", "warned"),
    [("266560^MDC_DIM_FAHR^MDC", False), ("268160^MDC_DIM_FAHR^MDC", True), ("[degF]^[degF]^UCUM", False)],  # noqa: E501
)  # fmt: skip
def test_fahrenheit_is_converted(unit: str, warned: bool) -> None:
    row = f"OBX|7|NM|150364^MDC_TEMP_BODY^MDC|1.5.1.1|100.4|{unit}|||||R|||{STAMP}"
    text = variant(replace={"OBX|7": row})
    assert CODEC.decode(text)[0].vitals.temperature_c == Decimal("38.00")
    assert bool(err_lines(answer(text))) is warned


def test_beat_per_min_annotation_is_per_minute() -> None:
    row = f"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.2.1.2|72|{{beat}}/min^{{beat}}/min^UCUM|||||R|||{STAMP}"  # fmt: skip  # noqa: E501
    assert values(CODEC.decode(variant(replace={"OBX|2": row}))[0]) == DOSSIER_VALUES


def test_a_batch_is_read_message_by_message_and_answered_in_a_batch() -> None:
    second = DOSSIER.replace("|MSG0001|", "|MSG0002|")
    text = f"FHS|^~\\&|GW\rBHS|^~\\&|GW\r{DOSSIER}{second}BTS|2\rFTS|1\r"
    readings = CODEC.decode(text)
    assert [r.message_key.rsplit(":", 1)[1] for r in readings] == ["MSG0001", "MSG0002"]
    ack = answer(text)
    assert ack.startswith("BHS|") and ack.endswith("BTS|2\r")  # noqa: PT018
    assert "MSA|AA|MSG0001|" in ack and "MSA|AA|MSG0002|" in ack  # noqa: PT018


def test_other_encoding_characters_are_read() -> None:
    text = DOSSIER.replace("^", "$").replace("MSH|$~\\&|", "MSH|$~\\&|")
    assert text.startswith("MSH|$~\\&|")
    (reading,) = CODEC.decode(text)
    assert values(reading) == DOSSIER_VALUES
    assert reading.sender == "MON/0012345678901234"
    assert "|MON^0012345678901234^EUI-64|" in answer(text)


@pytest.mark.parametrize("version", ["2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"])
def test_versions_2_3_1_to_2_8_are_read_and_echoed(version: str) -> None:
    text = DOSSIER.replace("|P|2.6|", f"|P|{version}|")
    assert values(CODEC.decode(text)[0]) == DOSSIER_VALUES
    assert answer(text).split("\r")[0].endswith(f"|P|{version}")


REJECTED = [
    ("nan", variant(replace={"OBX|2": SEGMENTS[5].replace("|72|", "|NaN|")}), MalformedMessage, "AR", "MSG0001"),  # noqa: E501
    ("words", variant(replace={"OBX|2": SEGMENTS[5].replace("|72|", "|seventy|")}), MalformedMessage, "AR", "MSG0001"),  # noqa: E501
    ("bad MSH-2", "MSH|^~0\rPID|||X\r", MalformedMessage, "AR", "UNREADABLE"),
    ("bad MSH-2 with id", MSH.replace("^~\\&", "^~0") + "\r", MalformedMessage, "AR", "MSG0001"),
    ("NUL", DOSSIER.replace("MRN123", "MRN\x00123"), MalformedMessage, "AR", "MSG0001"),
    ("long MSH-3", MSH.replace("MON^", "M" * 201 + "^") + "\r", MalformedMessage, "AR", "MSG0001"),
    ("long key", DOSSIER.replace("|MSG0001|", "|" + "K" * 240 + "|"), MalformedMessage, "AR", "K" * 240),  # noqa: E501
    ("ADT", DOSSIER.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"), UnsupportedMessage, "AR", "MSG0001"),  # noqa: E501
    ("version 2.1", DOSSIER.replace("|P|2.6|", "|P|2.1|"), UnsupportedMessage, "AR", "MSG0001"),
    ("no id", DOSSIER.replace("|MSG0001|", "||"), MalformedMessage, "AR", "UNREADABLE"),
    ("wrong unit", variant(replace={"OBX|3": SEGMENTS[6].replace("262688^MDC_DIM_PERCENT", "266016^MDC_DIM_MMHG")}), UnmappableMessage, "AE", "MSG0001"),  # noqa: E501
    ("implausible", variant(replace={"OBX|3": SEGMENTS[6].replace("|97|", "|150|")}), InvalidVitalSigns, "AE", "MSG0001"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "error", "code", "echo"), REJECTED, ids=[r[0] for r in REJECTED]
)
def test_rejected_messages_get_a_valid_ack_echoing_msh_10(
    case: str, text: str, error: type, code: str, echo: str
) -> None:
    with pytest.raises(error):
        CODEC.decode(text)
    try:
        CODEC.decode(text)
    except (DeviceMessageError, InvalidVitalSigns) as raised:
        ack = answer(text, raised)
    assert f"\rMSA|{code}|{echo}|" in ack
    assert len(err_lines(ack)) == 1
    assert "\x00" not in ack


def test_parse_keeps_the_raw_message_and_each_observation() -> None:
    message = parse_pcd01(DOSSIER)
    assert message.raw == DOSSIER
    assert [(o.code, o.containment, o.value_text) for o in message.observations][:2] == [
        ("147842", "1.1.1.1", "72"),
        ("150456", "1.2.1.1", "97"),
    ]
