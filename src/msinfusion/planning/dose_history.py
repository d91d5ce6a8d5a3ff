"""Which doses of a course count as given, by clinic day: the dose history the gates read.

A dose counts as given when its infusion started in a session, or when it was recorded as given
elsewhere (a clinical entry not retracted); the session wins when both name one dose number. At
booking, live bookings of earlier dose numbers also count, on their booked days, so that day 1
and day 15 of a course can be booked together. Every date is a clinic day (``clinic_day``): a
dose started at 00:30 in Berlin was given on that Berlin day, whatever the UTC date.

Pure functions over plain values: the service layer reads sessions, entries and appointments and
passes them in; ``therapy_of`` is the catalog's protocol-to-therapy lookup, asked only about the
records that are still candidates (a retired protocol on a cancelled booking is never asked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from msinfusion.planning.courses import GivenDose

TherapyOf = Callable[[str], str]
"""The therapy id of a protocol id (``Catalog.get_protocol(p).therapy_id``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartedInfusion:
    """A session whose infusion started: the dose it gave, on the clinic day it started."""

    session_id: str
    protocol_id: str
    dose_number: int
    on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedDose:
    """A dose recorded as given elsewhere, under an order of ``therapy_id`` (not retracted)."""

    therapy_id: str
    dose_number: int
    on: date
    mg_per_m2: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BookedDose:
    """A booked dose on its clinic day; ``live`` unless cancelled or completed (a completed
    visit's dose counts through its session, not its booking)."""

    protocol_id: str
    dose_number: int
    on: date
    live: bool


def clinic_day(moment: datetime, centre_tz: tzinfo) -> date:
    """The centre's calendar day of ``moment``: gate dates are clinic days, not UTC days.

    >>> from datetime import UTC, datetime, timedelta, timezone
    >>> clinic_day(datetime(2026, 3, 8, 23, 30, tzinfo=UTC), timezone(timedelta(hours=1)))
    datetime.date(2026, 3, 9)
    """
    return moment.astimezone(centre_tz).date()


def doses_given(
    started: Iterable[StartedInfusion],
    recorded: Iterable[RecordedDose],
    *,
    therapy_id: str,
    therapy_of: TherapyOf,
    since: date | None = None,
    excluding_session_id: str | None = None,
) -> tuple[GivenDose, ...]:
    """The doses of ``therapy_id`` given on or after ``since``, by dose number.

    Started infusions come first (the first one of a dose number wins, in the order passed),
    then recorded doses fill the numbers still missing. ``excluding_session_id`` is the session
    now starting: its own dose is not given yet.

    >>> from datetime import date
    >>> def started_on(session, protocol, dose, day):
    ...     return StartedInfusion(
    ...         session_id=session, protocol_id=protocol, dose_number=dose, on=day
    ...     )
    >>> started = [
    ...     started_on("s-1", "ocr", 1, date(2026, 1, 5)),
    ...     started_on("s-2", "ocr", 2, date(2026, 1, 19)),
    ...     started_on("s-3", "nat", 1, date(2026, 1, 6)),
    ... ]
    >>> elsewhere = [RecordedDose(therapy_id="ocrelizumab", dose_number=1, on=date(2026, 1, 2))]
    >>> therapy = {"ocr": "ocrelizumab", "nat": "natalizumab"}.__getitem__
    >>> [(g.dose_number, g.on.isoformat()) for g in doses_given(
    ...     started, elsewhere, therapy_id="ocrelizumab", therapy_of=therapy,
    ...     excluding_session_id="s-2")]
    [(1, '2026-01-05')]
    >>> [g.dose_number for g in doses_given(
    ...     started, elsewhere, therapy_id="ocrelizumab", therapy_of=therapy,
    ...     since=date(2026, 1, 10))]
    [2]
    """
    found: dict[int, GivenDose] = {}
    for infusion in started:
        if (
            infusion.session_id == excluding_session_id
            or therapy_of(infusion.protocol_id) != therapy_id
        ):
            continue
        if since is None or infusion.on >= since:
            found.setdefault(
                infusion.dose_number, GivenDose(dose_number=infusion.dose_number, on=infusion.on)
            )
    for dose in recorded:
        if dose.therapy_id != therapy_id or (since is not None and dose.on < since):
            continue
        found.setdefault(
            dose.dose_number,
            GivenDose(dose_number=dose.dose_number, on=dose.on, mg_per_m2=dose.mg_per_m2),
        )
    return tuple(found[n] for n in sorted(found))


def with_bookings(
    given: Iterable[GivenDose],
    booked: Iterable[BookedDose],
    *,
    therapy_id: str,
    therapy_of: TherapyOf,
    dose_before: int,
    since: date,
) -> tuple[GivenDose, ...]:
    """``given`` plus live bookings of ``therapy_id``'s dose numbers below ``dose_before`` not
    given yet, each on its booked day (on or after ``since``, the order's start); of two
    bookings of one dose number the first passed counts.

    >>> from datetime import date
    >>> day1 = GivenDose(dose_number=1, on=date(2026, 1, 5))
    >>> booked = [
    ...     BookedDose(protocol_id="ocr", dose_number=1, on=date(2026, 1, 4), live=True),
    ...     BookedDose(protocol_id="ocr", dose_number=2, on=date(2026, 1, 19), live=False),
    ...     BookedDose(protocol_id="ocr", dose_number=2, on=date(2026, 1, 20), live=True),
    ...     BookedDose(protocol_id="ocr", dose_number=3, on=date(2026, 7, 5), live=True),
    ... ]
    >>> [(g.dose_number, g.on.isoformat()) for g in with_bookings(
    ...     [day1], booked, therapy_id="ocrelizumab", therapy_of=lambda p: "ocrelizumab",
    ...     dose_before=3, since=date(2026, 1, 5))]
    [(1, '2026-01-05'), (2, '2026-01-20')]
    """
    found = {g.dose_number: g for g in given}
    for booking in booked:
        if (
            booking.dose_number < dose_before
            and booking.dose_number not in found
            and booking.live
            and therapy_of(booking.protocol_id) == therapy_id
            and booking.on >= since
        ):
            found[booking.dose_number] = GivenDose(dose_number=booking.dose_number, on=booking.on)
    return tuple(found[n] for n in sorted(found))


def previous_dose_on(given: Iterable[GivenDose], on: date) -> date | None:
    """The latest day a dose was given before ``on`` (the minimum-interval gate's anchor).

    >>> from datetime import date
    >>> history = [GivenDose(dose_number=n, on=date(2026, m, 5)) for n, m in ((1, 1), (2, 7))]
    >>> previous_dose_on(history, date(2026, 7, 5)), previous_dose_on(history, date(2026, 1, 5))
    (datetime.date(2026, 1, 5), None)
    """
    earlier = [g.on for g in given if g.on < on]
    return max(earlier) if earlier else None


def starts_course(dose_number: int, course_day: int | None) -> bool:
    """Whether a dose opens a course (its first dose, or day 1 of a repeated course), for the
    gates that apply only then when there is no order to count from.

    >>> starts_course(1, None), starts_course(4, 1), starts_course(4, 2), starts_course(4, None)
    (True, True, False, False)
    """
    return dose_number == 1 or course_day == 1
