"""The PCD-01 ``DeviceCodec``: HL7 v2 text to ``DeviceReading``s, and the ACK back.

Constructed by ``bootstrap.build_centre`` with the centre's device settings (per-sender time
zones, the PV1-3 component that names the chair). The idempotency key is
``hl7:<sender>:<MSH-10>`` where the sender is MSH-3's namespace and universal id
(``MON/0012345678901234``); the ACK's own control id is ``ACK`` + MSH-10 (or a digest of the
text when MSH-10 cannot be read), so the answer to a message is the same every time it is
built for the same time. A batch (FHS/BHS) is answered with one ACK per message inside BHS/BTS.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from msinfusion.adapters.hl7.ack import Issue, build_ack, escape
from msinfusion.adapters.hl7.er7 import (
    Delimiters,
    delimiters_of,
    header_field,
    segment_lines,
    split_messages,
)
from msinfusion.adapters.hl7.hl7_time import hl7_time
from msinfusion.adapters.hl7.pcd01 import (
    CHAIR_COMPONENTS,
    VERSIONS,
    Pcd01Message,
    TimedVitals,
    parse_pcd01,
    to_vital_signs,
)
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.errors import DeviceMessageError, InvalidVitalSigns, MalformedMessage

TRANSPORT = "hl7-mllp"
MAX_SENDER = 200
MAX_KEY = 255
"""Stored column sizes (device_messages.sender, .id): longer is refused, not truncated."""


def sender_of(sending_application: str) -> str:
    """MSH-3 (HD: namespace^universal id^type) as ``namespace/universal id``."""
    parts = [p for p in sending_application.split("^")[:2] if p]
    return "/".join(parts) or "unknown-sender"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Read:
    """One message of a frame: parsed and mapped, or the error that stopped it."""

    lines: tuple[str, ...]
    message: Pcd01Message | None = None
    readings: tuple[TimedVitals, ...] = ()
    error: Exception | None = None


class Pcd01Codec:
    """``zones``: MSH-3 namespace (or ``namespace/universal id``) -> zone of a sender whose
    times carry no offset (and MSH-7 none either); ``default_zone`` for the others (the
    centre's). ``chair_component``: ``bed`` (PV1-3.3), ``room`` (.2) or ``point-of-care`` (.1)."""

    transport = TRANSPORT

    def __init__(
        self,
        *,
        zones: Mapping[str, tzinfo] | None = None,
        default_zone: tzinfo | None = None,
        chair_component: str = "bed",
    ) -> None:
        if chair_component not in CHAIR_COMPONENTS:
            raise ValueError(f"chair_component must be one of {sorted(CHAIR_COMPONENTS)}")
        self._zones = dict(zones or {})
        self._default_zone = default_zone
        self._chair_component = chair_component
        self._read = functools.lru_cache(maxsize=256)(self._read_uncached)

    def _zone_for(self, application: tuple[str, ...]) -> tzinfo | None:
        namespace, universal = application[0], application[1]
        for key in (f"{namespace}/{universal}", namespace, universal):
            if key and key in self._zones:
                return self._zones[key]
        return self._default_zone

    def _read_uncached(self, text: str) -> tuple[_Read, ...]:
        if "\x00" in text:
            raise MalformedMessage("the frame contains a NUL byte", field="MSH")
        found = []
        for lines in split_messages(text):
            message: Pcd01Message | None = None
            try:
                message = parse_pcd01(lines, zone_for=self._zone_for)
                _check_sizes(message)
                read = _Read(lines=tuple(lines), message=message, readings=to_vital_signs(message))
            except (DeviceMessageError, InvalidVitalSigns) as error:
                read = _Read(lines=tuple(lines), message=message, error=error)
            found.append(read)
        return tuple(found)

    def decode(self, text: str) -> tuple[DeviceReading, ...]:
        readings: list[DeviceReading] = []
        for read in self._read(text):
            if read.error is not None:
                raise read.error
            message = read.message
            assert message is not None
            key = f"hl7:{message.sender}:{message.control_id}"
            readings.extend(
                DeviceReading(
                    message_key=key,
                    sender=message.sender,
                    patient_ids=message.patient_ids,
                    identifiers=message.patient_keys,
                    chair_name=message.chair(self._chair_component),
                    vitals=timed.vitals,
                    raw=message.raw,
                )
                for timed in read.readings
            )
        return tuple(readings)

    def answer(
        self, text: str, *, now: datetime, error: Exception | None, session_id: str | None
    ) -> str:
        try:
            reads = self._read(text)
        except DeviceMessageError as frame_error:
            return _unreadable_ack(text, now, error or frame_error)
        acks = [self._ack(read, now, error) for read in reads]
        if len(acks) == 1 and not any(line[:3] in ("FHS", "BHS") for line in segment_lines(text)):
            return acks[0]
        stamp = hl7_time(now)
        return f"BHS|^~\\&|MSINFUSION||||{stamp}\r" + "".join(acks) + f"BTS|{len(acks)}\r"

    def _ack(self, read: _Read, now: datetime, error: Exception | None) -> str:
        message = read.message
        if message is None:
            return _unreadable_ack("\r".join(read.lines), now, error or read.error)
        # The rows not recorded, in OBX order: an AA's warnings, and the reasons behind an AE
        # the message itself earned (nothing maps: every row's note says why). A refusal of
        # the feed (unknown patient, conflict, clock) answers with its own error alone.
        notes = sorted(
            (*message.notes, *(n for r in read.readings for n in r.notes)),
            key=lambda n: n.sequence,
        )
        warnings = (
            []
            if error is not None and not _same_error(error, read.error)
            else [
                Issue(
                    segment=n.segment,
                    sequence=n.sequence,
                    field=n.field,
                    code=n.code,
                    severity=n.severity,
                    text=n.text,
                )
                for n in notes
            ]
        )
        return build_ack(
            control_id=f"ACK{message.control_id}",
            acked_control_id=message.control_id,
            sending_application=message.sending_application,
            sending_facility=message.sending_facility,
            now=now,
            error=error or read.error,
            version=message.version,
            warnings=warnings,
        )


def _same_error(error: Exception, own: Exception | None) -> bool:
    """Whether the feed answers with the error the reading of the message itself raised."""
    return own is not None and (
        error is own or (type(error) is type(own) and str(error) == str(own))
    )


def _check_sizes(message: Pcd01Message) -> None:
    if len(message.sender) > MAX_SENDER:
        raise MalformedMessage(f"MSH-3 is longer than {MAX_SENDER} characters", field="MSH-3")
    if len(f"hl7:{message.sender}:{message.control_id}") > MAX_KEY:
        raise MalformedMessage(
            f"MSH-3 and MSH-10 together are longer than {MAX_KEY} characters", field="MSH-10"
        )


def _unreadable_ack(text: str, now: datetime, error: Exception | None) -> str:
    """The ACK to a message that could not be parsed: MSH-10, MSH-3/4 and MSH-12 as far as
    they can be read by MSH-1 alone."""
    lines = [line for line in segment_lines(text) if line.startswith("MSH")]
    msh = lines[0] if lines else ""
    try:
        delimiters = delimiters_of(msh)
    except MalformedMessage:
        delimiters = Delimiters()

    def components(number: int) -> tuple[str, ...]:
        raw = header_field(msh, number).split(delimiters.repetition)[0]
        return tuple(delimiters.unescape(p) for p in raw.split(delimiters.component)[:3])

    control_id = delimiters.unescape(header_field(msh, 10)).strip()[:MAX_KEY]
    version = header_field(msh, 12).split(delimiters.component)[0].strip()
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    return build_ack(
        control_id=f"ACK{control_id}" if control_id else f"ACK{digest}",
        acked_control_id=control_id or None,
        sending_application=components(3),
        sending_facility=components(4),
        now=now,
        error=error,
        version=version if version in VERSIONS else None,
    )


__all__ = ["TRANSPORT", "Pcd01Codec", "escape", "sender_of"]
