"""What the device feed needs from a wire format, and what it answers.

A ``DeviceCodec`` turns one message of its transport (``hl7-mllp``: an IHE PCD-01 ORU^R01;
``rest``: the JSON of ``application/observations.py``) into a format-neutral ``DeviceReading``,
and builds the answer the sender gets (an HL7 ACK, a JSON body). Codecs are adapters' business:
the HL7 one lives in ``adapters/hl7/codec.py`` and is registered with ``DeviceFeed.add_codec``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from msinfusion.monitoring.vital_signs import VitalSigns


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceReading:
    """One decoded set of device observations at one time: ``message_key`` is the idempotency
    key of the message it came from (a message with several OBR groups or observation times
    gives several readings with the same key). ``patient_ids`` are every identifier the sender
    gave (PID-3 repetitions); ``raw`` is the text of that one message (a batch holds several)."""

    message_key: str
    sender: str
    patient_ids: tuple[str, ...]
    chair_name: str | None
    vitals: VitalSigns
    raw: str = ""

    @property
    def patient_id(self) -> str | None:
        return self.patient_ids[0] if self.patient_ids else None


class DeviceCodec(Protocol):
    @property
    def transport(self) -> str: ...

    def decode(self, text: str) -> tuple[DeviceReading, ...]:
        """Every reading of ``text``, in clinical order (at least one); raises
        ``DeviceMessageError`` or ``InvalidVitalSigns`` (naming the field)."""
        ...

    def answer(
        self, text: str, *, now: datetime, error: Exception | None, session_id: str | None
    ) -> str:
        """The answer to ``text``: accepted when ``error`` is None, else why not."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What happened to one message. ``outcome``: ``accepted``, ``duplicate`` (same answer as
    the first time, nothing recorded) or ``quarantined`` (kept with ``reason_code``)."""

    outcome: str
    answer: str
    session_id: str | None = None
    version: int | None = None
    alert_ids: tuple[str, ...] = ()
    quarantine_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in ("accepted", "duplicate")
