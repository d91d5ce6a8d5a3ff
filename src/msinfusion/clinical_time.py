"""Reading the times and dates that people and files give us, in one place.

A clinical time must say which clock it was read on: a time without a UTC offset is refused,
never guessed (ARCHITECTURE.md decision 3). Every layer reads ISO 8601 text through
``read_aware_datetime`` and ``read_iso_date``, so what counts as a valid time is decided once.
Each caller keeps its own error class and wording (a CLI option, a JSON path, a command field),
because each edge translates the error tree in its own way; the rule itself is shared.

Standard library only, so cores, adapters and entrypoints may all import it.

>>> read_aware_datetime("2026-01-05T09:00:00+01:00", "start").isoformat()
'2026-01-05T09:00:00+01:00'
>>> read_aware_datetime("2026-01-05T08:00:00Z", "start").tzname()
'UTC'
>>> read_aware_datetime("2026-01-05T09:00", "start")
Traceback (most recent call last):
...
msinfusion.errors.InvalidCommand: start: '2026-01-05T09:00' has no UTC offset
>>> read_aware_datetime("tomorrow", "start")
Traceback (most recent call last):
...
msinfusion.errors.InvalidCommand: start: 'tomorrow' is not an ISO 8601 date-time
>>> from msinfusion.errors import InvalidDosing
>>> read_aware_datetime(None, "origin", error=InvalidDosing, not_a_time="'{value}' is not a time")
Traceback (most recent call last):
...
msinfusion.errors.InvalidDosing: 'None' is not a time
>>> read_iso_date("2026-03-02", "date")
datetime.date(2026, 3, 2)
>>> read_iso_date("02/03/2026", "date")
Traceback (most recent call last):
...
msinfusion.errors.InvalidCommand: date: '02/03/2026' is not an ISO date
"""

from __future__ import annotations

from datetime import date, datetime

from msinfusion.errors import InvalidCommand, MsinfusionError

NOT_A_TIME = "{field}: '{value}' is not an ISO 8601 date-time"
NO_OFFSET = "{field}: '{value}' has no UTC offset"
NOT_A_DATE = "{field}: '{value}' is not an ISO date"


def read_aware_datetime(
    value: object,
    field: str,
    *,
    error: type[MsinfusionError] = InvalidCommand,
    not_a_time: str = NOT_A_TIME,
    no_offset: str = NO_OFFSET,
) -> datetime:
    """``value`` (ISO 8601 text; anything else is read as ``str(value)``) as an aware datetime.

    Raises ``error(message, field=field)``; the messages are ``str.format`` templates with
    ``{field}`` and ``{value}`` (the value as given, so ``{value!r}`` works too).
    """
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise error(not_a_time.format(field=field, value=value), field=field) from None
    if moment.tzinfo is None:
        raise error(no_offset.format(field=field, value=value), field=field)
    return moment


def read_iso_date(
    value: object,
    field: str,
    *,
    error: type[MsinfusionError] = InvalidCommand,
    not_a_date: str = NOT_A_DATE,
) -> date:
    """``value`` (ISO 8601 ``YYYY-MM-DD`` text, or ``str(value)``) as a date; same errors as
    ``read_aware_datetime``."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise error(not_a_date.format(field=field, value=value), field=field) from None
