"""HL7 v2 ACKs for PCD-01: AA accepted (ERR warnings for rows not recorded), AE application
error, AR rejected (device-interop dossier C).

The one table from the error tree to HL7 answers is ``ACK_FOR``: MSA-1 code and the HL7 table
0357 error code placed in ERR-3. MSA-2 echoes MSH-10 whenever it could be read, MSH-5/6 the
sender's MSH-3/4, MSH-12 the received version (2.6 when none could be read). From 2.5 on ERR
carries ERR-2 location, ERR-3 code, ERR-4 severity and ERR-8 text, one ERR per issue; 2.3.1 and
2.4 have only ERR-1 (location ^ code), repeated within their ACK's single ERR. MSA-3 is
withdrawn from 2.7 on. The time is an argument (golden files are byte-exact).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
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
DEFAULT_VERSION = "2.6"
UNREADABLE = "UNREADABLE"
"""MSA-2 when MSH-10 cannot be read (MSA-2 is required: an ACK without it does not validate)."""

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
application error: the message is quarantined and the reason sent back. Other errors (e.g. a
``conflict``: a reused MSH-10 with other content) answer AE 207."""

_FIELD_CODES = {
    "MSH-9": "200^Unsupported message type^HL70357",
    "MSH-12": "203^Unsupported version id^HL70357",
    "MSH-10": "101^Required field missing^HL70357",
    "MSH-7": "101^Required field missing^HL70357",
}
_TEXTS = {
    "0": "Message accepted",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "207": "Application internal error",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One ERR segment: location (segment, sequence, field), 0357 code, severity, text."""

    segment: str
    sequence: int
    field: int
    code: str
    severity: str
    text: str


def escape(text: str) -> str:
    """HL7 escape sequences for the delimiters (\\F\\ \\S\\ \\R\\ \\E\\ \\T\\); control
    characters become spaces."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("~", "\\R\\").replace("&", "\\T\\")
    return "".join(c if c.isprintable() else " " for c in out)


def composite(parts: Sequence[str]) -> str:
    """Components, each escaped, joined by ``^`` (trailing empty ones dropped)."""
    return "^".join(escape(p) for p in parts).rstrip("^")


def issue_of_error(error: Exception) -> tuple[str, Issue]:
    """MSA-1 and the ERR of a refusal."""
    code, err = next(
        (ACK_FOR[cls] for cls in type(error).__mro__ if cls in ACK_FOR),
        ("AE", "207^Application internal error^HL70357"),
    )
    field = getattr(error, "field", None) or ""
    if isinstance(error, (MalformedMessage, UnsupportedMessage)) and field in _FIELD_CODES:
        err = _FIELD_CODES[field]
    segment, sequence, position = _location(field)
    return code, Issue(
        segment=segment,
        sequence=sequence,
        field=position,
        code=err.split("^")[0],
        severity="E",
        text=_reason(error),
    )


def _location(field: str) -> tuple[str, int, int]:
    found = re.fullmatch(r"([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?", field)
    if found is None:
        return "", 0, 0
    return found[1], int(found[2] or 1), int(found[3] or 0)


OLD_ERR = ("2.3.1", "2.4")
"""Versions whose ACK has at most one ERR, whose only field ERR-1 (location ^ code) repeats."""


def _err_segments(issues: Sequence[Issue], version: str) -> list[str]:
    """The ERR segments of ``issues``: one each from 2.5 on; before, one ERR with one ERR-1
    repetition each (the 2.3.1/2.4 ACK allows a single ERR; hl7apy enforces it)."""
    if version not in OLD_ERR:
        return [_err(issue, version) for issue in issues]
    return ["ERR|" + "~".join(_err_1(issue) for issue in issues)] if issues else []


def _err_1(issue: Issue) -> str:
    code = f"{issue.code}&{_TEXTS.get(issue.code, _code_text(issue.code))}&HL70357"
    where = f"{issue.segment}^{issue.sequence or ''}^{issue.field or ''}" if issue.segment else "^^"
    return f"{where}^{code}"


def _err(issue: Issue, version: str) -> str:
    text = escape(issue.text)
    code = f"{issue.code}^{_TEXTS.get(issue.code, _code_text(issue.code))}^HL70357"
    where = ""
    if issue.segment:
        where = f"{issue.segment}^{issue.sequence}" + (f"^{issue.field}" if issue.field else "")
    return f"ERR||{where}|{code}|{issue.severity}||||{text}"


def _code_text(code: str) -> str:
    for value in (*ACK_FOR.values(), *_FIELD_CODES.values()):
        if value[1].startswith(f"{code}^"):
            return value[1].split("^")[1]
    return "Application internal error"


def build_ack(
    *,
    control_id: str,
    acked_control_id: str | None,
    sending_application: Sequence[str] | str | None,
    now: datetime,
    error: Exception | None = None,
    sending_facility: Sequence[str] | str | None = None,
    version: str | None = None,
    warnings: Sequence[Issue] = (),
    trigger: str = "R01",
) -> str:
    """An ACK^R01 (or ACK^``trigger``: R42 for PCD-10) for the message ``acked_control_id``
    (None when it could not be read).

    The sender's MSH-3/MSH-4 come back as MSH-5/MSH-6 (components, re-escaped in our
    delimiters); ``warnings`` become ERR segments, after the error's own when there is one.
    """
    version = version or DEFAULT_VERSION
    issues: list[Issue] = list(warnings)
    code = "AA"
    if error is not None:
        code, issue = issue_of_error(error)
        issues = [issue, *warnings]
    text = "" if error is None else escape(_reason(error))
    message_type = f"ACK^{trigger}" if version == "2.3.1" else f"ACK^{trigger}^ACK"
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                RECEIVING_APPLICATION,
                "",
                _as_composite(sending_application),
                _as_composite(sending_facility),
                hl7_time(now),
                "",
                message_type,
                escape(control_id),
                "P",
                version,
            ]
        ),
        "|".join(["MSA", code, escape(acked_control_id or UNREADABLE)])
        + ("" if version.startswith(("2.7", "2.8")) else f"|{text}"),
    ]
    segments.extend(_err_segments(issues, version))
    return SEGMENT_END.join(segments) + SEGMENT_END


HD_LENGTHS = (20, 199, 6)
"""HD component lengths (namespace id, universal id, its type): an echoed MSH-3/4 is cut to
them so that the ACK stays valid whatever the sender sent."""


def _as_composite(value: Sequence[str] | str | None) -> str:
    if value is None:
        return ""
    parts = [value] if isinstance(value, str) else list(value)
    return composite([p[:n] for p, n in zip(parts, HD_LENGTHS, strict=False)])


def _reason(error: Exception) -> str:
    if isinstance(error, MsinfusionError):
        return error.message  # one sentence, no patient identifiers (errors.py)
    return "internal error"
