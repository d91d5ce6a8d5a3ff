"""HL7 v2.6 ACKs for PCD-01: AA accepted, AE application error, AR rejected.

The one table from the error tree to HL7 answers is ``ACK_FOR``: MSA-1 code and the HL7 table
0357 error code placed in ERR-3. The time is an argument (golden files are byte-exact).
"""

from __future__ import annotations

from datetime import datetime

from msinfusion.adapters.hl7.hl7_time import hl7_time
from msinfusion.errors import (
    CommandRefused,
    InvalidCommand,
    InvalidVitalSigns,
    MalformedMessage,
    MsinfusionError,
    UnknownPatient,
    UnmappableMessage,
    UnsupportedMessage,
)

RECEIVING_APPLICATION = "MSINFUSION"
SEGMENT_END = "\r"

# Error class -> (MSA-1, HL7 table 0357 code and text).
ACK_FOR: dict[type[Exception], tuple[str, str]] = {
    MalformedMessage: ("AR", "102^Data type error^HL70357"),
    UnsupportedMessage: ("AR", "200^Unsupported message type^HL70357"),
    UnknownPatient: ("AE", "204^Unknown key identifier^HL70357"),
    UnmappableMessage: ("AE", "103^Table value not found^HL70357"),
    InvalidVitalSigns: ("AE", "102^Data type error^HL70357"),
    InvalidCommand: ("AE", "102^Data type error^HL70357"),
    CommandRefused: ("AE", "207^Application internal error^HL70357"),
}
"""A session refusal (e.g. ``clock-future``: the device's clock runs ahead of the receipt) is an
application error: the message is quarantined and the reason sent back."""


def escape(text: str) -> str:
    """HL7 escape sequences for the delimiters (\\F\\ \\S\\ \\R\\ \\E\\ \\T\\)."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    return out.replace("~", "\\R\\").replace("&", "\\T\\").replace("\r", " ").replace("\n", " ")


def build_ack(
    *,
    control_id: str,
    acked_control_id: str | None,
    sending_application: str | None,
    now: datetime,
    error: Exception | None = None,
    sending_facility: str | None = None,
) -> str:
    """An ACK^R01 for the message ``acked_control_id`` (None when it could not be read).

    The sender's MSH-3/MSH-4 come back as MSH-5/MSH-6 verbatim: they are composite fields taken
    from the parsed message (already valid field content), so they are not escaped.
    """
    code, err = ("AA", None) if error is None else ACK_FOR.get(type(error), ("AE", None))
    if error is not None and err is None:
        err = "207^Application internal error^HL70357"
    text = "" if error is None else escape(_reason(error))
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                RECEIVING_APPLICATION,
                "",
                sending_application or "",
                sending_facility or "",
                hl7_time(now),
                "",
                "ACK^R01^ACK",
                escape(control_id),
                "P",
                "2.6",
            ]
        ),
        f"MSA|{code}|{escape(acked_control_id or '')}|{text}",
    ]
    if err is not None:
        segments.append(f"ERR|||{err}|E||||{text}")
    return SEGMENT_END.join(segments) + SEGMENT_END


def _reason(error: Exception) -> str:
    if isinstance(error, MsinfusionError):
        return error.message  # one sentence, no patient identifiers (errors.py)
    return "internal error"
