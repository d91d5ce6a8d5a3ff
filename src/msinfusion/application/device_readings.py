"""What a device reading becomes: its ``RecordVitals`` command, and the stable reason code
of a message that cannot be used (the quarantine's ``reason_code``)."""

from __future__ import annotations

from fractions import Fraction

from msinfusion.application.device_matching import AmbiguousPatient
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.errors import (
    CommandRefused,
    DeviceMessageError,
    InvalidCommand,
    InvalidVitalSigns,
    MalformedMessage,
    UnknownPatient,
    UnmappableMessage,
    UnsupportedMessage,
)
from msinfusion.session.commands import VITAL_SIGN_FIELDS, VITAL_SIGN_RESOLUTION, RecordVitals


class ConflictingMessage(DeviceMessageError):
    """A message reuses the idempotency key (HL7: sender + MSH-10) of an accepted message with
    other content: it is quarantined as ``conflict``, the first one stands."""


_REASON_CODES: tuple[tuple[type[Exception], str], ...] = (
    (MalformedMessage, "malformed"),
    (UnsupportedMessage, "unsupported"),
    (AmbiguousPatient, "ambiguous-patient"),
    (UnknownPatient, "unknown-patient"),
    (UnmappableMessage, "unmappable"),
    (InvalidVitalSigns, "invalid-vital-signs"),
    (InvalidCommand, "invalid-vital-signs"),
    (ConflictingMessage, "conflict"),
)


def reason_code_of(error: Exception) -> str:
    if isinstance(error, CommandRefused):
        return f"refused:{error.rule}"
    for cls, code in _REASON_CODES:
        if isinstance(error, cls):
            return code
    return "rejected"


def vitals_command(reading: DeviceReading) -> RecordVitals:
    """The ``RecordVitals`` of a reading, by user ``device:<sender>``; a device's finer value is
    rounded (half to even) to the resolution vital signs are charted at
    (``session.commands.VITAL_SIGN_RESOLUTION``: 36.85 °C is charted 36.8, 71.5 /min 72)."""
    vitals = reading.vitals

    def value(name: str) -> Fraction | None:
        raw = getattr(vitals, name)
        if raw is None:
            return None
        steps = VITAL_SIGN_RESOLUTION[name]
        return Fraction(round(Fraction(raw) * steps), steps)

    if all(value(name) is None for name in VITAL_SIGN_FIELDS):
        raise UnmappableMessage(
            "no observation maps to a vital sign the session records (oxygen flow alone is "
            "not recorded)",
            field="OBX-3",
        )
    return RecordVitals(
        at=vitals.measured_at,
        user=f"device:{reading.sender}",
        systolic_mmhg=value("systolic_mmhg"),
        diastolic_mmhg=value("diastolic_mmhg"),
        heart_rate_bpm=value("heart_rate_bpm"),
        spo2_pct=value("spo2_pct"),
        temperature_c=value("temperature_c"),
        respiratory_rate_per_min=value("respiratory_rate_per_min"),
        mean_arterial_mmhg=value("mean_arterial_mmhg"),
    )
