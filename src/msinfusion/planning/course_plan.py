"""``plan_course``: the one entry point from an order to a dated calendar.

The builder is chosen by the course kind the therapy file declares (``planning.course_kind``),
never by the drug name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from msinfusion.catalog.model import CourseKind
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning import course_builders as anti_cd20
from msinfusion.planning import course_builders_daily as daily
from msinfusion.planning.course_options import Built, Options
from msinfusion.planning.courses import CourseCalendar, CourseOrder, Placer, validate_history

Builder = Callable[[CourseOrder, Placer], Built]

KIND_BUILDERS: dict[CourseKind, Builder] = {
    CourseKind.SPLIT_START_CALENDAR_MONTHS: anti_cd20.build_ocrelizumab,
    CourseKind.SPLIT_START_WEEKS: anti_cd20.build_ublituximab,
    CourseKind.OFF_LABEL_REGIMENS: anti_cd20.build_rituximab,
    CourseKind.FIXED_INTERVAL: anti_cd20.build_natalizumab,
    CourseKind.REPEATED_DAILY_COURSES: daily.build_alemtuzumab,
    CourseKind.CUMULATIVE_LIMITED: daily.build_mitoxantrone,
    CourseKind.RELAPSE_DAILY_COURSE: daily.build_methylprednisolone,
}

# Therapy id -> builder, for every shipped therapy whose file declares a course kind.
BUILDERS: dict[str, Builder] = {
    therapy.id: KIND_BUILDERS[therapy.planning.course_kind]
    for therapy in shipped_catalog()
    if therapy.planning is not None
}


def plan_course(order: CourseOrder, *, as_of: date | None = None) -> CourseCalendar:
    """The dated calendar of ``order``; doses given before their earliest date are refused.

    >>> from datetime import date
    >>> calendar = plan_course(CourseOrder.create(therapy_id="ocrelizumab", start=date(2026, 1, 5)))
    >>> [(d.dose_number, d.due.isoformat()) for d in calendar.doses[:3]]
    [(1, '2026-01-05'), (2, '2026-01-19'), (3, '2026-07-05')]
    >>> calendar.doses[2].earliest.isoformat()  # 5 months after infusion 2 (dossier Q1, Q3)
    '2026-06-19'
    """
    builder = BUILDERS.get(order.therapy_id)
    if builder is None:
        known = ", ".join(sorted(BUILDERS))
        raise InvalidCourseOrder(
            f"no course calendar for therapy '{order.therapy_id}'; known: {known}",
            field="therapy_id",
        )
    common = Options(order, frozenset(order.option_map))
    placer = Placer(
        given=validate_history(order.given),
        as_of=as_of,
        early_days=common.integer("early_days", 0, 0, 28),
        late_days=common.integer("late_days", 0, 0, 28),
    )
    built = builder(order, placer)
    extra = len(order.given) - len(placer.placed)
    if extra > 0:
        raise InvalidCourseOrder(
            f"{len(order.given)} doses given but the calendar has only {len(placer.placed)}",
            field="given",
        )
    local = ("Local-policy window: early_days/late_days set by the order, not label values.",)
    windows = common.values.get("early_days") or common.values.get("late_days")
    return CourseCalendar(
        therapy_id=order.therapy_id,
        start=order.start,
        options=order.options,
        off_label=built.off_label,
        doses=tuple(placer.placed),
        notes=built.notes + (local if windows else ()),
        sources=built.sources,
        as_of=as_of,
        jurisdiction=common.jurisdiction,
    )
