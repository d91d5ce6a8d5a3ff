"""Hand-worked course calendars for every therapy, incl. delays, missed doses, leap years."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from msinfusion.catalog import Catalog
from msinfusion.errors import DoseTooEarly, InvalidCourseOrder
from msinfusion.planning.calendar_units import add_months, local_date, months, shift, weeks
from msinfusion.planning.course_plan import BUILDERS, plan_course
from msinfusion.planning.courses import CourseCalendar, CourseOrder, DoseStatus, GivenDose

D = date.fromisoformat


def plan(
    therapy: str,
    start: str,
    *,
    as_of: str | None = None,
    given: tuple[str, ...] = (),
    **options: str,
) -> CourseCalendar:
    history = tuple(GivenDose(dose_number=i, on=D(day)) for i, day in enumerate(given, start=1))
    order = CourseOrder.create(therapy_id=therapy, start=D(start), options=options, given=history)
    return plan_course(order, as_of=None if as_of is None else D(as_of))


def windows(calendar: CourseCalendar) -> list[tuple[str, str, str]]:
    return [
        (d.earliest.isoformat(), d.due.isoformat(), d.latest.isoformat()) for d in calendar.doses
    ]


# --- calendar units --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        ("2027-01-31", 1, "2027-02-28"),  # clamp, common year
        ("2028-01-31", 1, "2028-02-29"),  # clamp, leap year
        ("2027-08-29", 6, "2028-02-29"),  # lands on a leap day
        ("2028-02-29", 12, "2029-02-28"),  # leap day + 1 year
        ("2026-10-31", 4, "2027-02-28"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2026-12-15", 1, "2027-01-15"),  # year boundary
    ],
)
def test_month_is_a_calendar_month_clamped_to_the_month_end(
    start: str, count: int, expected: str
) -> None:
    assert add_months(D(start), count) == D(expected)


def test_repeated_months_count_from_the_anchor_and_do_not_drift() -> None:
    assert shift(D("2027-08-31"), months(6)) == D("2028-02-29")
    assert shift(D("2027-08-31"), months(6), times=2) == D("2028-08-31")


def test_week_is_seven_days() -> None:
    assert shift(D("2026-01-05"), weeks(24)) == D("2026-01-05") + timedelta(days=168)


def test_daylight_saving_does_not_move_a_calendar_date() -> None:
    zurich = ZoneInfo("Europe/Zurich")
    # 2026-03-29 clocks go forward in Zurich; 2026-10-25 back.
    before = datetime(2026, 3, 23, 23, 30, tzinfo=zurich)
    start = local_date(before)
    calendar = plan("natalizumab", start.isoformat(), doses="3")
    assert [d.due for d in calendar.doses] == [D("2026-03-23"), D("2026-04-20"), D("2026-05-18")]
    autumn = plan("natalizumab", "2026-10-19", doses="2")
    assert autumn.doses[1].due == D("2026-11-16")


def test_local_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


# --- ocrelizumab -----------------------------------------------------------------------------


def test_ocrelizumab_on_schedule() -> None:
    calendar = plan("ocrelizumab", "2026-01-05")
    assert [d.protocol_id for d in calendar.doses[:3]] == [
        "ocrelizumab-300-initial",
        "ocrelizumab-300-initial",
        "ocrelizumab-600-standard",
    ]
    assert windows(calendar)[:4] == [
        ("2026-01-05", "2026-01-05", "2026-01-05"),
        ("2026-01-19", "2026-01-19", "2026-01-19"),  # day 15
        ("2026-06-19", "2026-07-05", "2026-07-05"),  # 6 months after infusion 1; 5 months after 2
        ("2026-12-05", "2027-01-05", "2027-01-05"),
    ]
    assert calendar.doses[2].alternative_protocol_ids == ("ocrelizumab-600-short",)


def test_ocrelizumab_leap_year_and_month_end_clamp() -> None:
    calendar = plan("ocrelizumab", "2027-08-29")
    assert [d.due.isoformat() for d in calendar.doses] == [
        "2027-08-29",
        "2027-09-12",
        "2028-02-29",
        "2028-08-29",
        "2029-02-28",
        "2029-08-29",
    ]
    assert calendar.doses[2].earliest == D("2028-02-12")  # 2027-09-12 + 5 months
    assert calendar.doses[5].earliest == D("2029-07-28")  # 2029-02-28 + 5 months


def test_ocrelizumab_in_weeks_when_asked() -> None:
    calendar = plan("ocrelizumab", "2026-01-05", maintenance_unit="week", doses="4")
    assert calendar.doses[2].due == D("2026-06-22")  # + 168 days
    assert calendar.doses[3].due == D("2026-12-07")


def test_ocrelizumab_delayed_dose_restarts_the_clock() -> None:
    calendar = plan("ocrelizumab", "2026-01-05", given=("2026-01-05", "2026-01-19", "2026-08-20"))
    assert calendar.doses[2].status is DoseStatus.GIVEN
    assert windows(calendar)[3] == ("2027-01-20", "2027-02-20", "2027-02-20")
    assert calendar.doses[4].due == D("2027-08-20")


def test_ocrelizumab_missed_dose_is_overdue_and_later_doses_count_from_as_of() -> None:
    calendar = plan(
        "ocrelizumab", "2026-01-05", given=("2026-01-05", "2026-01-19"), as_of="2026-07-20"
    )
    assert calendar.doses[2].status is DoseStatus.OVERDUE
    assert "as soon as possible" in calendar.doses[2].rule
    assert calendar.doses[3].due == D("2027-01-20")


def test_ocrelizumab_dose_before_five_months_is_refused() -> None:
    with pytest.raises(DoseTooEarly, match="before its earliest date 2026-06-19"):
        plan("ocrelizumab", "2026-01-05", given=("2026-01-05", "2026-01-19", "2026-06-18"))
    calendar = plan("ocrelizumab", "2026-01-05", given=("2026-01-05", "2026-01-19", "2026-06-19"))
    assert calendar.doses[3].due == D("2026-12-19")  # early dose also restarts the clock


def test_ocrelizumab_late_infusion_two_pushes_the_first_maintenance_floor() -> None:
    calendar = plan("ocrelizumab", "2026-01-05", given=("2026-01-05", "2026-02-20"))
    third = calendar.doses[2]
    assert third.earliest == D("2026-07-20")  # 5 months after infusion 2 (dossier Q3)
    assert third.due == D("2026-07-20")  # never before the earliest date


# --- ublituximab -----------------------------------------------------------------------------


def test_ublituximab_on_schedule_in_weeks() -> None:
    calendar = plan("ublituximab", "2026-01-05", doses="4")
    assert [(d.protocol_id, d.dose) for d in calendar.doses[:3]] == [
        ("ublituximab-150-day1", "150 mg"),
        ("ublituximab-450", "450 mg"),
        ("ublituximab-450", "450 mg"),
    ]
    assert windows(calendar) == [
        ("2026-01-05", "2026-01-05", "2026-01-05"),
        ("2026-01-19", "2026-01-19", "2026-01-19"),
        ("2026-06-19", "2026-06-22", "2026-06-22"),  # 24 weeks after day 1; 5 months after dose 2
        ("2026-11-22", "2026-12-07", "2026-12-07"),
    ]


def test_ublituximab_leap_year_start() -> None:
    calendar = plan("ublituximab", "2028-02-29", doses="3")
    assert windows(calendar)[2] == ("2028-08-14", "2028-08-15", "2028-08-15")


def test_ublituximab_delayed_dose_next_is_24_weeks_after_given() -> None:
    calendar = plan(
        "ublituximab", "2026-01-05", given=("2026-01-05", "2026-01-19", "2026-07-01"), doses="4"
    )
    assert calendar.doses[3].due == D("2026-12-16")


# --- natalizumab -----------------------------------------------------------------------------


def test_natalizumab_every_four_weeks_and_missed_dose() -> None:
    calendar = plan(
        "natalizumab", "2026-01-05", doses="4", given=("2026-01-05",), as_of="2026-02-10"
    )
    assert [d.status for d in calendar.doses] == [
        DoseStatus.GIVEN,
        DoseStatus.OVERDUE,
        DoseStatus.PLANNED,
        DoseStatus.PLANNED,
    ]
    assert [d.due.isoformat() for d in calendar.doses] == [
        "2026-01-05",
        "2026-02-02",
        "2026-03-10",
        "2026-04-07",
    ]


def test_natalizumab_late_dose_reanchors() -> None:
    calendar = plan("natalizumab", "2026-01-05", doses="3", given=("2026-01-05", "2026-02-09"))
    assert calendar.doses[2].due == D("2026-03-09")


def test_natalizumab_extended_interval_needs_acknowledgement() -> None:
    with pytest.raises(InvalidCourseOrder, match="acknowledge_off_label=yes"):
        plan("natalizumab", "2026-01-05", interval="6w")
    calendar = plan(
        "natalizumab", "2026-01-05", interval="6w", acknowledge_off_label="yes", doses="3"
    )
    assert calendar.off_label
    assert [d.due.isoformat() for d in calendar.doses] == ["2026-01-05", "2026-02-16", "2026-03-30"]
    assert "OFF-LABEL" in calendar.notes[0]


def test_natalizumab_switched_to_six_weeks_from_a_later_dose() -> None:
    """A TDM-guided switch: doses before interval_from_dose stay every 4 weeks, then every 6
    weeks from the dose before (hand-counted: 2 Feb + 42 days = 16 Mar, + 42 = 27 Apr)."""
    ext = {"interval": "6w", "acknowledge_off_label": "yes"}
    calendar = plan("natalizumab", "2026-01-05", doses="5", interval_from_dose="3", **ext)
    assert [d.due.isoformat() for d in calendar.doses] == [
        "2026-01-05",
        "2026-02-02",
        "2026-03-16",
        "2026-04-27",
        "2026-06-08",
    ]
    given = ("2026-01-05", "2026-02-02", "2026-03-02", "2026-04-20")  # dose 4 a week late
    calendar = plan(
        "natalizumab", "2026-01-05", doses="5", interval_from_dose="4", given=given, **ext
    )
    assert calendar.doses[4].due == D("2026-06-01")  # re-anchored on the late dose 4
    with pytest.raises(DoseTooEarly):  # 6 weeks after dose 3 (2 Mar) is 13 Apr
        plan(
            "natalizumab",
            "2026-01-05",
            interval_from_dose="4",
            given=(*given[:3], "2026-04-06"),
            **ext,
        )


@pytest.mark.parametrize(
    "options",
    [
        {"interval_from_dose": "3"},
        {"interval": "6w", "acknowledge_off_label": "yes", "interval_from_dose": "0"},
    ],
)
def test_natalizumab_interval_from_dose_refusals(options: dict[str, str]) -> None:
    with pytest.raises(InvalidCourseOrder) as refused:
        plan("natalizumab", "2026-01-05", **options)
    assert refused.value.field == "option:interval_from_dose"


def test_natalizumab_local_windows_and_early_dose_refusal() -> None:
    calendar = plan("natalizumab", "2026-01-05", doses="2", early_days="3", late_days="5")
    assert windows(calendar)[1] == ("2026-01-30", "2026-02-02", "2026-02-07")
    with pytest.raises(DoseTooEarly):
        plan("natalizumab", "2026-01-05", doses="2", given=("2026-01-05", "2026-02-01"))


# --- alemtuzumab -----------------------------------------------------------------------------


def test_alemtuzumab_courses_and_missed_day_appended() -> None:
    calendar = plan("alemtuzumab", "2026-01-31", further_courses="1")
    assert [d.due.isoformat() for d in calendar.doses] == [
        "2026-01-31",
        "2026-02-01",
        "2026-02-02",
        "2026-02-03",
        "2026-02-04",
        "2027-01-31",
        "2027-02-01",
        "2027-02-02",
        "2028-02-02",
        "2028-02-03",
        "2028-02-04",
    ]
    assert [d.course_number for d in calendar.doses] == [1] * 5 + [2] * 3 + [3] * 3
    assert calendar.doses[8].earliest == D("2028-02-02")  # >= 12 months after course 2's last day
    missed = plan(
        "alemtuzumab", "2026-01-31", given=("2026-01-31", "2026-02-01"), as_of="2026-02-03"
    )
    assert missed.doses[2].status is DoseStatus.OVERDUE
    assert [d.due.isoformat() for d in missed.doses[3:5]] == ["2026-02-04", "2026-02-05"]


def test_alemtuzumab_two_infusions_on_one_day_are_refused() -> None:
    with pytest.raises(InvalidCourseOrder, match="not after dose 1"):
        plan("alemtuzumab", "2026-01-31", given=("2026-01-31", "2026-01-31"))


def test_alemtuzumab_eu_cap_on_further_courses() -> None:
    with pytest.raises(InvalidCourseOrder, match="from 0 to 2"):
        plan("alemtuzumab", "2026-01-05", further_courses="3")
    assert (
        len(plan("alemtuzumab", "2026-01-05", further_courses="3", jurisdiction="US").doses) == 17
    )


# --- mitoxantrone ----------------------------------------------------------------------------


def test_mitoxantrone_unknown_jurisdiction_uses_72_and_every_3_months() -> None:
    calendar = plan("mitoxantrone", "2026-01-31")
    assert len(calendar.doses) == 6  # 72 / 12
    assert [d.due.isoformat() for d in calendar.doses[:3]] == [
        "2026-01-31",
        "2026-04-30",
        "2026-07-31",
    ]
    assert windows(calendar)[1] == ("2026-04-30", "2026-04-30", "2026-04-30")


def test_mitoxantrone_us_limit_and_prior_exposure() -> None:
    assert len(plan("mitoxantrone", "2026-01-05", jurisdiction="US").doses) == 11  # 132 <= 140
    assert (
        len(plan("mitoxantrone", "2026-01-05", jurisdiction="US", prior_mg_per_m2="30").doses) == 9
    )
    with pytest.raises(InvalidCourseOrder, match="no mitoxantrone dose fits"):
        plan("mitoxantrone", "2026-01-05", prior_mg_per_m2="61")


def test_mitoxantrone_eu_window_one_to_three_months() -> None:
    calendar = plan("mitoxantrone", "2026-01-31", jurisdiction="EU", interval_months="2")
    assert windows(calendar)[1] == ("2026-02-28", "2026-03-31", "2026-04-30")
    with pytest.raises(InvalidCourseOrder, match="needs jurisdiction=EU"):
        plan("mitoxantrone", "2026-01-31", interval_months="2")


# --- methylprednisolone and rituximab --------------------------------------------------------


def test_methylprednisolone_three_or_five_days() -> None:
    assert [
        d.due.isoformat() for d in plan("methylprednisolone", "2028-02-27", days="3").doses
    ] == ["2028-02-27", "2028-02-28", "2028-02-29"]
    assert len(plan("methylprednisolone", "2026-01-01", days="5").doses) == 5
    with pytest.raises(InvalidCourseOrder, match="option days is missing"):
        plan("methylprednisolone", "2026-01-01")


def test_rituximab_needs_a_regimen_and_is_off_label() -> None:
    with pytest.raises(InvalidCourseOrder, match="regimen is missing"):
        plan("rituximab", "2026-01-05")
    hermes = plan("rituximab", "2026-01-05", regimen="hermes")
    assert hermes.off_label
    assert [(d.protocol_id, d.due.isoformat()) for d in hermes.doses] == [
        ("rituximab-1000-first", "2026-01-05"),
        ("rituximab-1000-subsequent", "2026-01-19"),
    ]


def test_rituximab_olympus_courses_every_24_weeks() -> None:
    calendar = plan("rituximab", "2026-01-05", regimen="olympus")
    assert len(calendar.doses) == 8
    assert windows(calendar)[2] == ("2026-04-27", "2026-06-22", "2026-06-22")
    assert calendar.doses[3].due == D("2026-07-06")
    assert calendar.doses[6].due == D("2027-05-24")


# --- orders ----------------------------------------------------------------------------------


def test_every_protocol_id_used_is_in_the_shipped_catalog(catalog: Catalog) -> None:
    orders = {"rituximab": {"regimen": "olympus"}, "methylprednisolone": {"days": "5"}}
    for therapy in BUILDERS:
        calendar = plan(therapy, "2026-01-05", **orders.get(therapy, {}))
        for dose in calendar.doses:
            for protocol_id in (dose.protocol_id, *dose.alternative_protocol_ids):
                assert catalog.get_protocol(protocol_id).therapy_id == therapy


@pytest.mark.parametrize(
    ("therapy", "options", "message"),
    [
        ("aspirin", {}, "no course calendar"),
        ("ocrelizumab", {"colour": "blue"}, "unknown option 'colour'"),
        ("ocrelizumab", {"doses": "many"}, "whole number"),
        ("ocrelizumab", {"jurisdiction": "UK"}, "choose one of US, EU"),
        ("mitoxantrone", {"prior_mg_per_m2": "-3"}, "number >= 0"),
        ("natalizumab", {"interval": "5w"}, "choose one of 4w, 6w"),
    ],
)
def test_bad_orders_are_refused(therapy: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidCourseOrder, match=message):
        plan(therapy, "2026-01-05", **options)


def test_history_must_have_no_gaps_and_not_exceed_the_calendar() -> None:
    order = CourseOrder.create(
        therapy_id="natalizumab",
        start=D("2026-01-05"),
        given=(GivenDose(dose_number=2, on=D("2026-02-02")),),
    )
    with pytest.raises(InvalidCourseOrder, match="dose 1 is missing"):
        plan_course(order)
    with pytest.raises(InvalidCourseOrder, match="only 3"):
        plan(
            "methylprednisolone",
            "2026-01-01",
            days="3",
            given=("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"),
        )
