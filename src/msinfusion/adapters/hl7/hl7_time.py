"""HL7 v2 DTM date-times, written and read in one place.

Every time we send (ACK MSH-7, the simulator's MSH-7/OBR-7/OBX-14) is written by ``hl7_time``
and every time we receive is read by ``parse_hl7_time``, so the two cannot drift apart. A time
without a UTC offset is in the sender's local zone (HL7 DTM rule, device-interop dossier A,
"Time-stamp rules"): the caller passes that zone — MSH-7's offset, else the sender's
configured zone — and without one the time is refused. ``-0000`` reads as UTC.

>>> from datetime import datetime, timedelta, timezone
>>> from zoneinfo import ZoneInfo
>>> moment = datetime(2025, 1, 10, 9, 15, 2, tzinfo=timezone(timedelta(hours=1)))
>>> hl7_time(moment)
'20250110091502+0100'
>>> parse_hl7_time(hl7_time(moment), "MSH-7") == moment
True
>>> parse_hl7_time("202501100915+0100", "MSH-7").second
0
>>> parse_hl7_time("20250110091500", "MSH-7", ZoneInfo("Europe/Zurich")) == moment.replace(second=0)
True
>>> parse_hl7_time("20250110091500", "MSH-7")
Traceback (most recent call last):
...
msinfusion.errors.MalformedMessage: MSH-7 '20250110091500' has no UTC offset (+HHMM)
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone, tzinfo

from msinfusion.errors import MalformedMessage


def hl7_time(moment: datetime) -> str:
    """``moment`` as HL7 DTM ``YYYYMMDDHHMMSS+ZZZZ`` (an aware time keeps its offset)."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def split_offset(text: str) -> tuple[str, tzinfo | None]:
    """The DTM's body and its offset as a fixed zone (None when it has none)."""
    for sign in ("+", "-"):
        index = text.rfind(sign)
        if index >= 8:
            zone = text[index + 1 :]
            if len(zone) != 4 or not zone.isdigit():
                return text, None
            minutes = int(zone[:2]) * 60 + int(zone[2:])
            if minutes >= 24 * 60:
                return text, None
            delta = timedelta(minutes=minutes if sign == "+" else -minutes)
            return text[:index], timezone(delta)
    return text, None


def offset_of(text: str) -> tzinfo | None:
    """The UTC offset a DTM carries, or None."""
    return split_offset(text.strip())[1]


def parse_hl7_time(text: str, field: str, default_zone: tzinfo | None = None) -> datetime:
    """HL7 DTM ``YYYYMMDDHHMM[SS[.S...]][+/-ZZZZ]``; without an offset, ``default_zone``.
    Remembered (a message repeats its times in MSH-7, OBR-7 and every OBX-14)."""
    return _parsed(text.strip(), field, default_zone)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str, field: str, default_zone: tzinfo | None) -> datetime:
    body, zone = split_offset(text)
    if zone is None and any(sign in text[8:] for sign in "+-"):
        raise MalformedMessage(f"{field} '{text}' has a malformed UTC offset", field=field)
    zone = zone or default_zone
    if zone is None:
        raise MalformedMessage(f"{field} '{text}' has no UTC offset (+HHMM)", field=field)
    digits = body.split(".")[0]
    if len(digits) < 12 or len(digits) > 14 or not digits.isdigit():
        raise MalformedMessage(f"{field} '{text}' is not an HL7 date-time", field=field)
    digits = digits.ljust(14, "0")
    try:
        parts = (digits[0:4], digits[4:6], digits[6:8], digits[8:10], digits[10:12], digits[12:])
        year, month, day, hour, minute, second = map(int, parts)
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        raise MalformedMessage(f"{field} '{text}' is not an HL7 date-time", field=field) from None
