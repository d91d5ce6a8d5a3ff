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
class PatientKey:
    """One identifier the sender gave for the patient (HL7: one PID-3 repetition): ``value``
    (CX-1) and the names of its issuer in ``systems`` (CX-4: namespace id, universal id, and
    ``urn:oid:<id>`` when its type is ISO), empty when the sender named none; ``kind`` is the
    identifier type (CX-5, e.g. ``MR``). A key with a system matches a patient identifier
    (``records.PatientIdentifier``) of that system and value; any key matches msinfusion's own
    patient id."""

    value: str
    systems: tuple[str, ...] = ()
    kind: str = ""


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
    identifiers: tuple[PatientKey, ...] = ()
    """Every identifier with its issuer (PID-3); empty: ``patient_ids`` without issuers."""

    @property
    def patient_id(self) -> str | None:
        return self.patient_ids[0] if self.patient_ids else None

    @property
    def patient_keys(self) -> tuple[PatientKey, ...]:
        return self.identifiers or tuple(PatientKey(value=v) for v in self.patient_ids)


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
    field: str | None = None
    """The field the refusal names (``PID-3``, ``OBX-6``, ``observations[0].unit`` ...)."""

    @property
    def accepted(self) -> bool:
        return self.outcome in ("accepted", "duplicate")
