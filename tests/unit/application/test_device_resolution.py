"""A device's finer reading is charted at the resolution of vital signs (NEWS2: whole numbers,
tenths of a degree), and a person's finer entry is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from msinfusion.application.monitoring import vitals_command
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import VitalSigns
from msinfusion.session.commands import RecordVitals

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _reading(**values: Decimal) -> DeviceReading:
    return DeviceReading(
        message_key="k",
        sender="MON-1",
        patient_ids=("p",),
        chair_name=None,
        vitals=VitalSigns(measured_at=AT, source="device", **values),  # type: ignore[arg-type]
    )


def test_a_device_reading_is_rounded_half_to_even_to_the_charted_resolution() -> None:
    command = vitals_command(
        _reading(
            temperature_c=Decimal("36.85"),
            heart_rate_bpm=Decimal("71.5"),
            spo2_pct=Decimal("96.5"),
            systolic_mmhg=Decimal("118.4"),
        )
    )
    # 368.5 tenths -> 368 (even); 71.5 -> 72 (even); 96.5 -> 96 (even); 118.4 -> 118.
    assert (command.temperature_c, command.heart_rate_bpm) == (Fraction(184, 5), 72)
    assert (command.spo2_pct, command.systolic_mmhg) == (96, 118)


@pytest.mark.parametrize(
    ("field", "value"),
    [("heart_rate_bpm", Fraction(1, 3)), ("temperature_c", Fraction(3685, 100))],
)
def test_a_person_s_entry_finer_than_the_resolution_is_refused(field: str, value: Fraction) -> None:
    with pytest.raises(InvalidCommand) as refused:
        RecordVitals(at=AT, user="nurse-a", **{field: value})
    assert refused.value.field == field
