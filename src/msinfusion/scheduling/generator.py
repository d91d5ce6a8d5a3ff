"""Synthetic, seeded centre days with an MS drug mix (for benchmarks, demos and tests).

Every number and its source (dossier scheduling-and-peers.md, section A4):

* opening 08:30-17:00: Cleveland Clinic Mellen Center MS infusion,
  https://my.clevelandclinic.org/health/articles/17128-infusion-center
* hard end = closing + 2 h: the overtime window of the dossier's own CP-SAT measurement (A5)
* nurses = chairs / 2.1 (rounded): Advisory Board 2016, academic centres, 2.1 chairs per
  chemotherapy RN, https://www.advisory.com/Blog/2016/03/infusion-nurse-staffing
* demand: visits are drawn until booked chair time reaches 80% of chairs x opening hours, the
  median *scheduled* chair utilisation, https://www.advisory.com/Blog/2020/02/infusion-centers-timely-care
* nurse ratio 1:4 concurrent (A4: "use 1:4 concurrent as default")
* the drug mix is uniform over the IV visit types of table A4 (no published MS centre mix was
  found); within a type, first versus maintenance doses are equally likely
* patient windows are synthetic (not clinical): an arrival drawn uniformly between opening and the
  last start (Cleveland Clinic: 15:00, earlier if the visit would then end after closing),
  preferring to start within 60 minutes of arrival.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.planning import after
from msinfusion.scheduling.problem import (
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    PatientWindow,
    Visit,
)
from msinfusion.scheduling.visits import visit_from_protocol

OPENS = time(8, 30)
CLOSES = time(17, 0)
LAST_START = time(15, 0)
OVERTIME_WINDOW = timedelta(hours=2)
CHAIRS_PER_NURSE = 2.1
SCHEDULED_UTILISATION = 0.80
PREFERRED_WAIT = timedelta(minutes=60)


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitKind:
    """One way an MS patient uses a chair: protocol, dose number, course day, mandatory."""

    protocol_id: str
    dose_number: int
    course_day: int | None = None
    mandatory: bool = False


# One entry per IV row of dossier table A4; each row lists its first and maintenance variants.
MS_VISIT_MIX: tuple[tuple[VisitKind, ...], ...] = (
    (  # ocrelizumab 300 mg, doses 1 and 2 two weeks apart (dose 2 is a linked, fixed day)
        VisitKind(protocol_id="ocrelizumab-300-initial", dose_number=1),
        VisitKind(protocol_id="ocrelizumab-300-initial", dose_number=2, mandatory=True),
    ),
    (  # ocrelizumab 600 mg every 24 weeks, standard or shorter infusion
        VisitKind(protocol_id="ocrelizumab-600-standard", dose_number=3),
        VisitKind(protocol_id="ocrelizumab-600-short", dose_number=5),
    ),
    (  # natalizumab every 4 weeks, early versus established patients
        VisitKind(protocol_id="natalizumab-300", dose_number=1),
        VisitKind(protocol_id="natalizumab-300", dose_number=20),
    ),
    (VisitKind(protocol_id="ublituximab-150-day1", dose_number=1),),
    (  # ublituximab 450 mg: day 15 (linked) or maintenance
        VisitKind(protocol_id="ublituximab-450", dose_number=2, mandatory=True),
        VisitKind(protocol_id="ublituximab-450", dose_number=4),
    ),
    tuple(  # alemtuzumab course days 1-5; days 2-5 are tied to day 1
        VisitKind(protocol_id="alemtuzumab-12", dose_number=d, course_day=d, mandatory=d > 1)
        for d in range(1, 6)
    ),
    tuple(  # IV methylprednisolone for a relapse, days 1-3
        VisitKind(
            protocol_id="methylprednisolone-1000", dose_number=d, course_day=d, mandatory=d > 1
        )
        for d in range(1, 4)
    ),
)


def _at(day: date, clock: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def nurses_for(chairs: int) -> int:
    return max(1, round(chairs / CHAIRS_PER_NURSE))


def generate_day(
    *, chairs: int, seed: int, day: date, zone: tzinfo, catalog: Catalog
) -> DayProblem:
    """A seeded synthetic day at a centre with ``chairs`` identical chairs; each visit's chair
    time and nurse tasks come from its protocol in ``catalog``."""
    if chairs < 1:
        raise InvalidSchedulingProblem("chairs must be 1 or more", field="chairs")
    rng = random.Random(seed)
    opens, closes = _at(day, OPENS, zone), _at(day, CLOSES, zone)
    budget = SCHEDULED_UTILISATION * chairs * (closes - opens)
    visits: list[Visit] = []
    booked = timedelta(0)
    while booked < budget:
        visit = _draw_visit(rng, len(visits) + 1, day, zone, catalog)
        visits.append(visit)
        booked += visit.chair_time
    nurses = tuple(
        Nurse(id=NurseId(f"n{i + 1:02d}"), shift_start=opens, shift_end=closes)
        for i in range(nurses_for(chairs))
    )
    return DayProblem(
        day=day,
        opens=opens,
        closes=closes,
        latest_end=after(closes, OVERTIME_WINDOW),
        chairs=tuple(Chair(id=ChairId(f"c{i + 1:02d}")) for i in range(chairs)),
        nurses=nurses,
        visits=tuple(visits),
    )


def _draw_visit(
    rng: random.Random, number: int, day: date, zone: tzinfo, catalog: Catalog
) -> Visit:
    kind = rng.choice(rng.choice(MS_VISIT_MIX))
    protocol = catalog.get_protocol(kind.protocol_id)
    opens = _at(day, OPENS, zone)
    provisional = visit_from_protocol(
        protocol,
        visit_id=f"v{number:03d}",
        patient_id=f"p{number:03d}",
        window=PatientWindow(earliest=opens, start_by=opens),
        dose_number=kind.dose_number,
        course_day=kind.course_day,
        mandatory=kind.mandatory,
    )
    # arrive no later than the last start, and early enough to finish by closing if possible
    last = min(_at(day, LAST_START, zone), after(_at(day, CLOSES, zone), -provisional.chair_time))
    slots = max(0, int((last - opens) // timedelta(minutes=5)))
    arrival = after(opens, timedelta(minutes=5 * rng.randint(0, slots)))
    window = PatientWindow(earliest=arrival, start_by=after(arrival, PREFERRED_WAIT))
    return replace(provisional, window=window)
