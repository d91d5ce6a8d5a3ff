"""One PCD-01 message in, one ACK out: parse, map, match the patient, hand over, answer.

Storage of observations and of the quarantine (issue 5's units of work) is injected as
``accept`` and ``quarantine`` callables, so nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from msinfusion.adapters.hl7.ack import build_ack
from msinfusion.adapters.hl7.pcd01 import Pcd01Message, parse_pcd01, to_vital_signs
from msinfusion.errors import DeviceMessageError, InvalidVitalSigns, UnknownPatient
from msinfusion.monitoring.vital_signs import VitalSigns

FindSession = Callable[[str | None, str | None], str | None]
"""(patient id from PID-3, bed from PV1-3.2) -> the session id of the infusion in that chair."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    ack: str
    accepted: bool
    session_id: str | None
    vital_signs: VitalSigns | None
    reason: str | None


def ingest(
    text: str, *, now: datetime, ack_control_id: str, find_session: FindSession
) -> IngestResult:
    """Decide what to do with one message; the caller stores accepted vitals or quarantines the
    raw text with ``reason`` (nothing is dropped)."""
    message: Pcd01Message | None = None
    try:
        message = parse_pcd01(text)
        vitals = to_vital_signs(message)
        session_id = find_session(message.patient_id, message.bed)
        if session_id is None:
            # Identifiers are not echoed back: the ACK may end up in device logs.
            raise UnknownPatient(
                "no infusion in progress matches the patient (PID-3) and bed (PV1-3)",
                field="PID-3",
            )
    except (DeviceMessageError, InvalidVitalSigns) as error:
        return IngestResult(
            ack=build_ack(
                control_id=ack_control_id,
                acked_control_id=None if message is None else message.control_id,
                sending_application=None if message is None else message.sending_application,
                sending_facility=None if message is None else message.sending_facility,
                now=now,
                error=error,
            ),
            accepted=False,
            session_id=None,
            vital_signs=None,
            reason=error.message,
        )
    return IngestResult(
        ack=build_ack(
            control_id=ack_control_id,
            acked_control_id=message.control_id,
            sending_application=message.sending_application,
            sending_facility=message.sending_facility,
            now=now,
        ),
        accepted=True,
        session_id=session_id,
        vital_signs=vitals,
        reason=None,
    )
