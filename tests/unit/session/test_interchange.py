"""The public JSON command format: exact numbers, strict fields, one-sentence errors."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import command_from_dict, command_to_dict, commands_from_json
from msinfusion.session import commands as cmd


def test_numbers_are_read_exactly_and_round_trip() -> None:
    command = command_from_dict(
        {
            "command": "ChangeRate",
            "at": "2025-03-03T10:00:00+01:00",
            "rate_ml_per_h": 60.5,
            "user": "n",
        }
    )
    assert isinstance(command, cmd.ChangeRate)
    assert command.rate_ml_per_h == Fraction(121, 2)
    assert command_from_dict(command_to_dict(command)) == command


def test_reaction_fields() -> None:
    command = command_from_dict(
        {
            "command": "RecordReaction",
            "at": "2025-03-03T10:00:00Z",
            "severity": "life-threatening",
            "symptoms": ["dyspnoea", "wheeze (free text)"],
            "ctcae_grade": 4,
        }
    )
    assert isinstance(command, cmd.RecordReaction)
    assert command.severity is Severity.LIFE_THREATENING


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"command": "Teleport", "at": "2025-03-03T10:00:00Z"}, "command"),
        ({"command": "ChangeRate", "at": "2025-03-03T10:00:00"}, "at"),
        ({"command": "ChangeRate", "at": "2025-03-03T10:00:00Z"}, "rate_ml_per_h"),
        (
            {"command": "ChangeRate", "at": "2025-03-03T10:00:00Z", "rate_ml_per_h": "fast"},
            "rate_ml_per_h",
        ),
        (
            {"command": "ChangeRate", "at": "2025-03-03T10:00:00Z", "rate_ml_per_h": 5, "rat": 1},
            "rat",
        ),
        (
            {"command": "ChangeRate", "at": "2025-03-03T10:00:00Z", "rate_ml_per_h": -5},
            "rate_ml_per_h",
        ),
        (
            {
                "command": "RecordReaction",
                "at": "2025-03-03T10:00:00Z",
                "severity": "bad",
                "symptoms": ["x"],
            },
            "severity",
        ),
        ({"command": "RecordAssessment", "at": "2025-03-03T10:00:00Z", "passed": "yes"}, "passed"),
        (
            {
                "command": "CheckIn",
                "at": "2025-03-03T10:00:00Z",
                "patient_id": "p",
                "protocol_id": "x",
                "dose_number": 1.5,
            },
            "dose_number",
        ),
    ],
)
def test_malformed_commands_name_their_field(obj: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        command_from_dict(obj)
    assert error.value.field == field


def test_a_file_must_be_a_list_and_errors_say_which_command() -> None:
    with pytest.raises(InvalidCommand):
        commands_from_json({"command": "Discharge"})
    with pytest.raises(InvalidCommand, match="command 2"):
        commands_from_json([{"command": "Discharge", "at": "2025-03-03T10:00:00Z"}, 5])


def test_check_in_reads_the_worst_prior_reaction() -> None:
    from msinfusion.catalog.model import Severity
    from msinfusion.session.interchange import command_from_dict

    command = command_from_dict(
        {
            "command": "CheckIn",
            "at": "2026-11-25T07:00:00+01:00",
            "patient_id": "synthetic-3",
            "protocol_id": "ocrelizumab-600-short",
            "dose_number": 5,
            "worst_prior_reaction": "moderate",
        }
    )
    assert command.worst_prior_reaction is Severity.MODERATE  # type: ignore[attr-defined]


def test_vitals_read_consciousness_as_its_letter_and_oxygen_as_a_json_bool() -> None:
    obj = {
        "command": "RecordVitals",
        "at": "2025-03-03T10:15:00+01:00",
        "respiratory_rate_per_min": 22,
        "spo2_pct": 94,
        "supplemental_oxygen": False,
        "systolic_mmhg": 98,
        "heart_rate_bpm": 112,
        "consciousness": "A",
        "temperature_c": 38.4,
    }
    command = command_from_dict(obj)
    assert isinstance(command, cmd.RecordVitals)
    assert command.consciousness is Consciousness.ALERT
    assert command.supplemental_oxygen is False
    assert command.temperature_c == Fraction("38.4")
    written = command_to_dict(command)
    assert (written["consciousness"], written["supplemental_oxygen"]) == ("A", False)
    assert command_from_dict(written) == command
    on_oxygen = command_from_dict({**obj, "consciousness": "U", "supplemental_oxygen": True})
    assert isinstance(on_oxygen, cmd.RecordVitals)
    assert (on_oxygen.consciousness, on_oxygen.supplemental_oxygen) == (
        Consciousness.UNRESPONSIVE,
        True,
    )
    absent = command_from_dict({"command": "RecordVitals", "at": obj["at"], "spo2_pct": 97})
    assert isinstance(absent, cmd.RecordVitals)
    assert (absent.consciousness, absent.supplemental_oxygen) == (None, None)
    assert "consciousness" not in command_to_dict(absent)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consciousness", "alert"),
        ("consciousness", "a"),
        ("consciousness", 0),
        ("consciousness", True),
        ("supplemental_oxygen", "true"),
        ("supplemental_oxygen", 1),
    ],
)
def test_vitals_refuse_a_bad_consciousness_or_oxygen_naming_the_field(
    field: str, value: object
) -> None:
    obj = {"command": "RecordVitals", "at": "2025-03-03T10:15:00Z", "spo2_pct": 97, field: value}
    with pytest.raises(InvalidCommand, match=field) as error:
        command_from_dict(obj)
    assert error.value.field == field
