"""HL7 v2 DTM date-times, written and read in one place.

Every time we send (ACK MSH-7, the simulator's MSH-7/OBR-7/OBX-14) is written by ``hl7_time``
and every time we receive is read by ``parse_hl7_time``, so the two cannot drift apart. A time
without a UTC offset is refused: a bedside monitor's local clock is not evidence of when.

>>> from datetime import datetime, timedelta, timezone
>>> moment = datetime(2025, 1, 10, 9, 15, 2, tzinfo=timezone(timedelta(hours=1)))
>>> hl7_time(moment)
'20250110091502+0100'
>>> parse_hl7_time(hl7_time(moment), "MSH-7") == moment
True
>>> parse_hl7_time("202501100915+0100", "MSH-7").second
0
>>> parse_hl7_time("20250110091500", "MSH-7")
Traceback (most recent call last):
...
msinfusion.errors.MalformedMessage: MSH-7 '20250110091500' has no UTC offset (+HHMM)
"""

from __future__ import annotations

from datetime import datetime

from msinfusion.errors import MalformedMessage


def hl7_time(moment: datetime) -> str:
    """``moment`` as HL7 DTM ``YYYYMMDDHHMMSS+ZZZZ`` (an aware time keeps its offset)."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def parse_hl7_time(text: str, field: str) -> datetime:
    """HL7 DTM ``YYYYMMDDHHMM[SS[.S...]][+/-ZZZZ]``; a time without offset is refused."""
    body, sign, zone = text, "", ""
    for candidate in ("+", "-"):
        if candidate in text[8:]:
            index = text.rindex(candidate)
            body, sign, zone = text[:index], candidate, text[index + 1 :]
    if not sign or len(zone) != 4 or not zone.isdigit():
        raise MalformedMessage(f"{field} '{text}' has no UTC offset (+HHMM)", field=field)
    padded = body.split(".")[0].ljust(14, "0")
    try:
        return datetime.strptime(f"{padded}{sign}{zone}", "%Y%m%d%H%M%S%z")
    except ValueError:
        raise MalformedMessage(f"{field} '{text}' is not an HL7 date-time", field=field) from None
