"""The PCD-01 ``DeviceCodec``: HL7 v2 text to a ``DeviceReading``, and the ACK back.

Registered with ``Centre.monitoring.add_codec(Pcd01Codec())`` by the MLLP listener and the web
app (which replays quarantined HL7 messages). The idempotency key is ``hl7:<sender>:<MSH-10>``
where the sender is MSH-3's namespace and universal id (``MON/0012345678901234``); the ACK's
own control id is ``ACK`` + MSH-10 (or a digest of the text when MSH-10 cannot be read), so
the answer to a message is the same every time it is built for the same time.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

from msinfusion.adapters.hl7.ack import build_ack
from msinfusion.adapters.hl7.pcd01 import Pcd01Message, parse_pcd01, to_vital_signs
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.errors import DeviceMessageError

TRANSPORT = "hl7-mllp"


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Pcd01Message:
    """``decode`` and ``answer`` both need the parse: do it once per text."""
    return parse_pcd01(text)


def sender_of(sending_application: str) -> str:
    """MSH-3 (HD: namespace^universal id^type) as ``namespace/universal id``."""
    parts = [p for p in sending_application.split("^")[:2] if p]
    return "/".join(parts) or "unknown-sender"


class Pcd01Codec:
    transport = TRANSPORT

    def decode(self, text: str) -> DeviceReading:
        message = _parsed(text)
        sender = sender_of(message.sending_application)
        return DeviceReading(
            message_key=f"hl7:{sender}:{message.control_id}",
            sender=sender,
            patient_id=message.patient_id,
            chair_name=message.bed,
            vitals=to_vital_signs(message),
        )

    def answer(
        self, text: str, *, now: datetime, error: Exception | None, session_id: str | None
    ) -> str:
        message: Pcd01Message | None
        try:
            message = _parsed(text)
        except DeviceMessageError:
            message = None
        if message is None:
            digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
            ack_id = f"ACK{digest}"
        else:
            ack_id = f"ACK{message.control_id}"
        return build_ack(
            control_id=ack_id,
            acked_control_id=None if message is None else message.control_id,
            sending_application=None if message is None else message.sending_application,
            sending_facility=None if message is None else message.sending_facility,
            now=now,
            error=error,
        )
