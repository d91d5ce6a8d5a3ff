"""An RFC 5545 iCalendar export of a course calendar, written by hand (no dependency).

One all-day ``VEVENT`` per dose not yet given, on its due date (``DTSTART;VALUE=DATE``, ``DTEND``
the next day), with the earliest/latest window in the description. Lines end in CRLF and are
folded at 75 octets (RFC 5545 3.1); text is escaped (3.3.11). All-day dates carry no time zone,
so daylight-saving changes cannot move them. ``stamp`` (DTSTAMP) is passed in: cores read no clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msinfusion.planning.courses import CourseCalendar, DoseStatus

PRODID = "-//msinfusion//treatment course calendar//EN"


def escape_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces joined by CRLF + space (never inside a char)."""
    pieces: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        limit = 75 if not pieces else 74
        if len(current) + len(encoded) > limit:
            pieces.append(current.decode("utf-8"))
            current = b""
        current += encoded
    pieces.append(current.decode("utf-8"))
    return "\r\n ".join(pieces)


def course_to_ics(
    calendar: CourseCalendar, *, stamp: datetime, uid_domain: str = "msinfusion"
) -> str:
    """The calendar as an iCalendar text (CRLF line ends)."""
    stamp_text = stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    banner = "OFF-LABEL. " if calendar.off_label else ""
    for dose in calendar.doses:
        if dose.status is DoseStatus.GIVEN:
            continue
        uid = (
            f"{calendar.therapy_id}-{calendar.start.isoformat()}-dose-{dose.dose_number}"
            f"@{uid_domain}"
        )
        description = (
            f"{banner}Protocol {dose.protocol_id}, dose {dose.dose_number} ({dose.dose}). "
            f"Earliest {dose.earliest.isoformat()}, due {dose.due.isoformat()}, latest "
            f"{dose.latest.isoformat()}. {dose.rule}."
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp_text}",
            f"DTSTART;VALUE=DATE:{dose.due.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(dose.due + timedelta(days=1)).strftime('%Y%m%d')}",
            "SUMMARY:"
            + escape_text(f"{calendar.therapy_id} dose {dose.dose_number}: {dose.label}"),
            "DESCRIPTION:" + escape_text(description),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
