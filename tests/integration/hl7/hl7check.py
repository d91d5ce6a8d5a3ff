"""Independent ACK validation with hl7apy (strict), and golden-file loading."""

from __future__ import annotations

from pathlib import Path

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> str:
    """A golden file's HL7 text: leading ``#`` comment lines (the source) are dropped; the
    rest keeps HL7's carriage-return segment ends byte-exact."""
    lines = (GOLDEN / name).read_bytes().decode().split("\n")
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


def validate_ack(ack: str) -> None:
    """Each ACK of ``ack`` (one, or several in a BHS/BTS batch) passes hl7apy's strict
    validation; 2.3.1 (hl7apy has no ACK structure for it) and 2.7.1 (unsupported) are checked
    as 2.4 and 2.7, the nearest versions with the same ACK segments."""
    messages: list[list[str]] = []
    for segment in ack.split("\r"):
        if segment.startswith("MSH"):
            messages.append([segment])
        elif segment and segment[:3] not in ("BHS", "BTS") and messages:
            messages[-1].append(segment)
    assert messages, ack
    for lines in messages:
        version = lines[0].split("|")[11]
        nearest = {"2.7.1": "2.7", "2.3.1": "2.4"}.get(version)
        if nearest:
            lines[0] = lines[0].replace(f"|P|{version}", f"|P|{nearest}")
            lines[0] = lines[0].replace("|ACK^R01|", "|ACK^R01^ACK|")
        message = parse_message(
            "\r".join(lines) + "\r", validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
        )
        message.validate()
        assert message.msa.msa_1.to_er7() in ("AA", "AE", "AR")
