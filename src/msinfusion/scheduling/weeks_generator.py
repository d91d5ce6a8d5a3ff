"""Seeded synthetic multi-week demand with linked MS regimens (benchmarks, demos, tests).

Hours, staffing, 80% scheduled utilisation and the uniform A4 drug mix are those of
``scheduling.generator`` (sources there). Links follow the catalog's schedules: ocrelizumab
300 mg and ublituximab doses 1 and 2 exactly 14 days apart; alemtuzumab (5 days) and
methylprednisolone (3 days) on consecutive days. Day windows of single maintenance doses are
SYNTHETIC (due day +/- 3 days), not clinical tolerances: real windows come from the course
calendars (earliest/due/latest) of the planning package.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta, tzinfo

from msinfusion.catalog.registry import Catalog
from msinfusion.scheduling.generator import (
    CLOSES,
    LAST_START,
    OPENS,
    OVERTIME_WINDOW,
    PREFERRED_WAIT,
    SCHEDULED_UTILISATION,
    nurses_for,
)
from msinfusion.scheduling.problem import Chair, ChairId, NurseId, PatientWindow
from msinfusion.scheduling.visits import visit_from_protocol
from msinfusion.scheduling.weeks import (
    DayLink,
    DayTemplate,
    NurseShift,
    VisitRequest,
    WeeksProblem,
)

_SINGLE_WINDOW = timedelta(days=3)
# (protocol, dose number) per visit of a course; consecutive-day courses link with 1 day
_COURSES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("ocrelizumab-300-initial", 1), ("ocrelizumab-300-initial", 2)),
    (("ocrelizumab-600-standard", 3),),
    (("natalizumab-300", 20),),
    (("ublituximab-150-day1", 1), ("ublituximab-450", 2)),
    (("ublituximab-450", 4),),
    tuple(("alemtuzumab-12", d) for d in range(1, 6)),
    tuple(("methylprednisolone-1000", d) for d in range(1, 4)),
)


def template_for(chairs: int, zone: tzinfo) -> DayTemplate:
    return DayTemplate(
        zone=zone,
        opens=OPENS,
        closes=CLOSES,
        overtime=OVERTIME_WINDOW,
        chairs=tuple(Chair(id=ChairId(f"c{i + 1:02d}")) for i in range(chairs)),
        shifts=tuple(
            NurseShift(id=NurseId(f"n{i + 1:02d}"), start=OPENS, end=CLOSES)
            for i in range(nurses_for(chairs))
        ),
    )


def generate_weeks(
    *, chairs: int, seed: int, first_day: date, weeks: int, zone: tzinfo, catalog: Catalog
) -> WeeksProblem:
    """A seeded synthetic demand of linked courses; chair times from ``catalog``'s protocols."""
    rng = random.Random(seed)
    template = template_for(chairs, zone)
    last_day = first_day + timedelta(days=7 * weeks - 1)
    open_days = [first_day + timedelta(days=i) for i in range(7 * weeks)]
    open_days = [d for d in open_days if template.is_open(d)]
    budget = SCHEDULED_UTILISATION * template.chair_budget() * len(open_days)
    requests: list[VisitRequest] = []
    links: list[DayLink] = []
    total = timedelta(0)
    while total < budget:
        course = rng.choice(_COURSES)
        gap = 14 if len(course) == 2 else 1
        span = timedelta(days=gap * (len(course) - 1))
        starts = [
            d
            for d in open_days
            if d + span <= last_day
            and all(template.is_open(d + timedelta(days=gap * k)) for k in range(len(course)))
        ]
        if not starts:
            break
        start = rng.choice(starts)
        previous: str | None = None
        patient = f"p{len(requests) + 1:03d}"
        for k, (protocol_id, dose) in enumerate(course):
            day = start + timedelta(days=gap * k)
            request = _request(
                rng,
                ids=(len(requests) + 1, patient),
                protocol_id=protocol_id,
                dose=dose,
                due=day,
                course_length=len(course),
                horizon=(first_day, last_day),
                template=template,
                catalog=catalog,
            )
            requests.append(request)
            total += request.visit_on(template, request.due_day, catalog).chair_time
            if previous is not None:
                links.append(DayLink(first=previous, second=request.id, min_days=gap, max_days=gap))
            previous = request.id
    return WeeksProblem(
        first_day=first_day,
        last_day=last_day,
        template=template,
        requests=tuple(requests),
        catalog=catalog,
        links=tuple(links),
    )


def _request(
    rng: random.Random,
    *,
    ids: tuple[int, str],
    protocol_id: str,
    dose: int,
    due: date,
    course_length: int,
    horizon: tuple[date, date],
    template: DayTemplate,
    catalog: Catalog,
) -> VisitRequest:
    number, patient = ids
    first_day, last_day = horizon
    course_day = dose if protocol_id.startswith(("alemtuzumab", "methylprednisolone")) else None
    protocol = catalog.get_protocol(protocol_id)
    opens = template.at(due, OPENS)
    probe = visit_from_protocol(
        protocol,
        visit_id="probe",
        patient_id="probe",
        window=PatientWindow(earliest=opens, start_by=opens),
        dose_number=dose,
        course_day=course_day,
    )
    latest_arrival = min(template.at(due, LAST_START), template.at(due, CLOSES) - probe.chair_time)
    slots = max(0, int((latest_arrival - opens) // timedelta(minutes=5)))
    arrival_dt = opens + timedelta(minutes=5 * rng.randint(0, slots))
    arrival = time(arrival_dt.hour, arrival_dt.minute)
    start_by_dt = arrival_dt + PREFERRED_WAIT
    window = _SINGLE_WINDOW if course_length == 1 else timedelta(0)
    return VisitRequest(
        id=f"r{number:03d}",
        patient_id=patient,
        protocol_id=protocol_id,
        dose_number=dose,
        course_day=course_day,
        earliest_day=max(first_day, due - window),
        due_day=due,
        latest_day=min(last_day, due + window),
        arrival=arrival,
        start_by=time(start_by_dt.hour, start_by_dt.minute),
    )
