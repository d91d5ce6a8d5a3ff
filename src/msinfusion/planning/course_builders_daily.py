"""Calendar builders for daily courses (alemtuzumab, IV methylprednisolone) and mitoxantrone.

Each builds one catalog course kind (``planning.course_kind`` in the therapy file); the
cumulative-limited kind reads its per-dose mg/m2 and lifetime limits from the therapy file
(``planning.cumulative_dose`` and ``[[cumulative_limits]]``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from msinfusion.catalog.model import Interval
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_days, describe, months, shift
from msinfusion.planning.course_options import (
    Built,
    CumulativePlan,
    Options,
    cited,
    cumulative_plan,
)
from msinfusion.planning.courses import CourseOrder, Placer, Series, Slot, anchor_of, run_series


def daily_course(
    placer: Placer,
    *,
    first_number: int,
    first_due: date,
    count: int,
    previous: date | None,
    course: int,
    protocol_id: str,
    dose: str,
    due_rule: str,
    floor_rule: str | None = None,
) -> date:
    """Consecutive daily infusions; a missed day is appended, never doubled (alemtuzumab rule).

    ``floor_rule`` makes ``first_due`` a minimum (earliest) date as well as the due date.
    """
    last = previous
    for day in range(count):
        first = day == 0
        placed = placer.place(
            Slot(
                dose_number=first_number + day,
                protocol_id=protocol_id,
                label=f"Course {course}, day {day + 1}",
                dose=dose,
                nominal_due=first_due if first or last is None else add_days(last, 1),
                due_rule=due_rule if first else "the day after the previous infusion",
                previous=last,
                floor=first_due if first and floor_rule else None,
                floor_rule=floor_rule if first else None,
                course_number=course,
            )
        )
        last = anchor_of(placed, placer.as_of)
    if last is None:  # pragma: no cover - count >= 1 always
        raise InvalidCourseOrder("a course needs at least one day", field="days")
    return last


def build_alemtuzumab(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(order, frozenset({"further_courses"}))
    eu_cap = int(data.number("alemtuzumab.max_additional_courses_eu"))
    cap = 20 if opts.jurisdiction == "US" else eu_cap  # dossier A5; unknown -> EU (stricter)
    further = opts.integer("further_courses", 0, 0, cap)
    c1_days = int(data.number("alemtuzumab.course_1_days"))
    later_days = int(data.number("alemtuzumab.later_course_days"))
    same = {"protocol_id": "alemtuzumab-12", "dose": "12 mg"}
    last = daily_course(
        placer,
        first_number=1,
        first_due=order.start,
        count=c1_days,
        previous=None,
        course=1,
        due_rule="start of course 1",
        **same,
    )
    c1_day1 = anchor_of(placer.placed[0], placer.as_of)
    c2_after = data.interval("alemtuzumab.course_2_after")
    last = daily_course(
        placer,
        first_number=c1_days + 1,
        first_due=shift(c1_day1, c2_after),
        count=later_days,
        previous=last,
        course=2,
        due_rule=f"{describe(c2_after)} after course 1, day 1",
        **same,
    )
    gap = data.interval("alemtuzumab.further_course_min_after")
    for extra in range(further):
        last = daily_course(
            placer,
            first_number=c1_days + 1 + later_days * (extra + 1),
            first_due=shift(last, gap),
            count=later_days,
            previous=last,
            course=3 + extra,
            due_rule=f"{describe(gap)} after the last infusion of the prior course",
            floor_rule=f"at least {describe(gap)} after the prior course",
            **same,
        )
    notes = (
        "Missed infusion: " + str(data.rule("alemtuzumab.missed_dose").value) + ".",
        "Dossier A5: at most 2 further courses unless jurisdiction=US ('as needed').",
        "Each further course restarts the 48-month monitoring clock.",
    )
    return Built(
        notes=notes,
        sources=cited("alemtuzumab.course_2_after", "alemtuzumab.further_course_min_after"),
    )


def build_methylprednisolone(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(order, frozenset({"days"}))
    allowed = tuple(str(d) for d in data.rule("methylprednisolone.course_days_options").value)
    count = int(opts.choice("days", allowed, None))  # dossier P1: the prescriber picks 3 or 5
    daily_course(
        placer,
        first_number=1,
        first_due=order.start,
        count=count,
        previous=None,
        course=1,
        protocol_id="methylprednisolone-1000",
        dose="1000 mg",
        due_rule="start of the relapse course",
    )
    notes = (
        "Dossier P1: 1000 mg IV once daily for 3-5 days (infusion-centre default); "
        "NICE prefers oral methylprednisolone first.",
    )
    return Built(notes=notes, sources=cited("methylprednisolone.course_days_options"))


def cumulative_limit_mg_per_m2(therapy_id: str, jurisdiction: str | None) -> Decimal:
    """Lifetime mg/m2 from the therapy file (dossier M1): US 140, EU 72; unknown -> 72."""
    return _plan(therapy_id).limit_mg_per_m2(jurisdiction)


def full_dose_count(therapy_id: str, jurisdiction: str | None, prior_mg_per_m2: Decimal) -> int:
    """How many full doses fit under the lifetime limit after ``prior_mg_per_m2``."""
    plan = _plan(therapy_id)
    room = plan.limit_mg_per_m2(jurisdiction) - prior_mg_per_m2
    return max(int(room // plan.dose_mg_per_m2), 0)


def _plan(therapy_id: str) -> CumulativePlan:
    plan = cumulative_plan(therapy_id)
    if plan is None:
        raise InvalidCourseOrder(
            f"therapy '{therapy_id}' has no cumulative-dose limit", field="therapy_id"
        )
    return plan


def build_mitoxantrone(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(order, frozenset({"prior_mg_per_m2", "interval_months"}))
    jurisdiction = opts.jurisdiction
    prior = opts.decimal("prior_mg_per_m2", Decimal(0))
    count = full_dose_count(order.therapy_id, jurisdiction, prior)
    limit = cumulative_limit_mg_per_m2(order.therapy_id, jurisdiction)
    if count == 0:
        raise InvalidCourseOrder(
            f"no mitoxantrone dose fits: prior exposure {prior} mg/m2 leaves less than one "
            f"12 mg/m2 dose under the {limit} mg/m2 lifetime limit",
            field="option:prior_mg_per_m2",
        )
    every, floor, ceiling = _mitoxantrone_intervals(opts, jurisdiction)
    run_series(
        placer,
        Series(
            numbers=range(1, count + 1),
            anchor=order.start,
            first_steps=0,
            previous=None,
            every=every,
            every_text=f"every {describe(every)} from the start or last dose",
            min_interval=floor,
            max_interval=ceiling,
        ),
        lambda n: ("mitoxantrone-12-per-m2", "Dose", "12 mg/m2", ()),
    )
    notes = (
        f"Stops at the lifetime limit {limit} mg/m2 (dossier M1"
        + ("" if jurisdiction else "; jurisdiction unknown: EU 72, the stricter")
        + (
            f"), prior exposure {prior} mg/m2 included."
            if "prior_mg_per_m2" in opts.values
            else "); prior exposure not stated on the order: the calendar counts none, the "
            "gates need it stated (order or record, dossier M1)."
        ),
        "Dossier M2: US every 3 months; EU every 1-3 months (interval_months=1..3, EU only).",
    )
    return Built(
        notes=notes,
        sources=cited(
            "mitoxantrone.every_us",
            "mitoxantrone.cumulative_limit_us",
            "mitoxantrone.cumulative_limit_eu",
        ),
    )


def _mitoxantrone_intervals(
    opts: Options, jurisdiction: str | None
) -> tuple[Interval, Interval | None, Interval | None]:
    if jurisdiction != "EU":
        if "interval_months" in opts.values:
            raise InvalidCourseOrder(
                "interval_months needs jurisdiction=EU (US: every 3 months, dossier M2)",
                field="option:interval_months",
            )
        return data.interval("mitoxantrone.every_us"), None, None
    low = data.interval("mitoxantrone.min_interval_eu")
    high = data.interval("mitoxantrone.max_interval_eu")
    chosen = opts.integer("interval_months", high.value, low.value, high.value)
    return months(chosen), low, high
