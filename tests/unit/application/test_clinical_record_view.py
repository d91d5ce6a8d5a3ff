"""The projections of stored records into the dose history (``clinical_record_view``) and the
rules that count it (``planning.dose_history``): clinic days, retractions, booking order, the
order a dose without one belongs to, and catalog lookups only for records still in question."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from msinfusion.application.clinical_record_view import (
    booked_doses,
    order_for_dose,
    recorded_doses,
    started_infusions,
)
from msinfusion.application.records import (
    Appointment,
    AppointmentStatus,
    ClinicalEntry,
    ClinicalEntryKind,
    SessionSummary,
    TherapyOrder,
)
from msinfusion.planning.courses import GivenDose
from msinfusion.planning.dose_history import (
    BookedDose,
    clinic_day,
    doses_given,
    with_bookings,
)

BERLIN_WINTER = timezone(timedelta(hours=1))
LATE = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
"""00:30 on 5 January at the centre."""


def _day(moment: datetime) -> date:
    return clinic_day(moment, BERLIN_WINTER)


def _entry(eid: str, kind: ClinicalEntryKind, on: date, **data: object) -> ClinicalEntry:
    return ClinicalEntry(
        id=eid,
        patient_id="p-1",
        kind=kind,
        on=on,
        data=data,
        recorded_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
        recorded_by="u-1",
    )


def _appointment(
    aid: str, dose: int, starts_at: datetime, status: AppointmentStatus
) -> Appointment:
    return Appointment(
        id=aid,
        patient_id="p-1",
        chair_id="c-1",
        protocol_id="ocrelizumab-300-initial",
        dose_number=dose,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=4),
        status=status,
    )


def _order(oid: str, therapy_id: str, start: date, *, active: bool = True) -> TherapyOrder:
    return TherapyOrder(
        id=oid,
        patient_id="p-1",
        therapy_id=therapy_id,
        start_date=start,
        prescriber_id="u-doc",
        active=active,
    )


def test_started_infusions_are_sessions_that_started_on_their_clinic_day() -> None:
    summaries = [
        SessionSummary(session_id="s-1", protocol_id="p", dose_number=1, infusion_started_at=LATE),
        SessionSummary(session_id="s-2", protocol_id="p", dose_number=2),  # checked in only
        SessionSummary(session_id="s-3", dose_number=3, infusion_started_at=LATE),
        SessionSummary(session_id="s-4", protocol_id="p", infusion_started_at=LATE),
    ]
    started = started_infusions(summaries, _day)
    assert [(s.session_id, s.dose_number, s.on) for s in started] == [("s-1", 1, date(2026, 1, 5))]


def test_recorded_doses_leave_out_retracted_entries_and_keep_the_dose_per_m2() -> None:
    entries = [
        _entry(
            "e-1",
            ClinicalEntryKind.GIVEN_DOSE,
            date(2026, 1, 5),
            order_id="o-1",
            dose_number=1,
            mg_per_m2=12,
        ),
        _entry(
            "e-2", ClinicalEntryKind.GIVEN_DOSE, date(2026, 1, 19), order_id="o-1", dose_number=2
        ),
        _entry(
            "e-3",
            ClinicalEntryKind.RETRACTION,
            date(2026, 1, 20),
            entry_id="e-2",
            reason="wrong patient",
        ),
        _entry("e-4", ClinicalEntryKind.LAB, date(2026, 1, 4), test="hbsag", positive=False),
    ]
    asked: list[str] = []

    def therapy_of_order(order_id: str) -> str:
        asked.append(order_id)
        return "mitoxantrone"

    recorded = recorded_doses(entries, therapy_of_order)
    assert [(r.dose_number, r.on, r.mg_per_m2, r.therapy_id) for r in recorded] == [
        (1, date(2026, 1, 5), 12.0, "mitoxantrone")
    ]
    assert asked == ["o-1"]


def test_bookings_are_read_in_id_order_and_live_unless_cancelled_or_completed() -> None:
    nine = datetime(2026, 1, 19, 8, tzinfo=UTC)
    appointments = [
        _appointment("a-3", 2, nine, AppointmentStatus.BOOKED),
        _appointment("a-1", 2, nine + timedelta(days=1), AppointmentStatus.CHECKED_IN),
        _appointment("a-2", 1, LATE, AppointmentStatus.CANCELLED),
        _appointment("a-4", 1, LATE, AppointmentStatus.COMPLETED),
    ]
    booked = booked_doses(appointments, _day)
    assert [(b.dose_number, b.on, b.live) for b in booked] == [
        (2, date(2026, 1, 20), True),
        (1, date(2026, 1, 5), False),
        (2, date(2026, 1, 19), True),
        (1, date(2026, 1, 5), False),
    ]
    counted = with_bookings(
        (),
        booked,
        therapy_id="ocrelizumab",
        therapy_of=lambda protocol_id: "ocrelizumab",
        dose_before=3,
        since=date(2026, 1, 5),
    )
    assert counted == (GivenDose(dose_number=2, on=date(2026, 1, 20)),)  # a-1 before a-3


def test_a_dose_without_an_order_belongs_to_the_latest_active_order_started_by_its_day() -> None:
    orders = [
        _order("o-1", "ocrelizumab", date(2024, 1, 8)),
        _order("o-3", "ocrelizumab", date(2026, 1, 5)),
        _order("o-2", "ocrelizumab", date(2026, 1, 5)),
        _order("o-4", "ocrelizumab", date(2026, 6, 1)),  # starts later
        _order("o-5", "ocrelizumab", date(2026, 2, 1), active=False),
        _order("o-6", "natalizumab", date(2026, 2, 1)),
    ]
    found = order_for_dose(orders, "ocrelizumab", date(2026, 3, 2))
    assert found is not None
    assert found.id == "o-3"  # the same start: the higher id
    assert order_for_dose(orders, "ocrelizumab", date(2023, 12, 31)) is None
    assert order_for_dose(orders, "rituximab", date(2026, 3, 2)) is None


def test_the_catalog_is_asked_only_about_records_still_in_question() -> None:
    asked: list[str] = []

    def therapy_of(protocol_id: str) -> str:
        asked.append(protocol_id)
        if protocol_id == "retired":
            raise LookupError(protocol_id)
        return "ocrelizumab"

    booked = [
        BookedDose(protocol_id="retired", dose_number=1, on=date(2026, 1, 5), live=False),
        BookedDose(protocol_id="retired", dose_number=4, on=date(2026, 1, 5), live=True),
        BookedDose(protocol_id="ocr", dose_number=2, on=date(2026, 1, 19), live=True),
    ]
    given = with_bookings(
        (),
        booked,
        therapy_id="ocrelizumab",
        therapy_of=therapy_of,
        dose_before=3,
        since=date(2026, 1, 5),
    )
    assert given == (GivenDose(dose_number=2, on=date(2026, 1, 19)),)
    assert asked == ["ocr"]
    assert doses_given((), (), therapy_id="ocrelizumab", therapy_of=therapy_of) == ()
