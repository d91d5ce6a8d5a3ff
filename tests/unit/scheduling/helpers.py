"""Hand-made scheduling instances: minutes from an 08:00 opening, built without the catalog."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from msinfusion.scheduling import (
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    NurseTask,
    PatientId,
    PatientWindow,
    TaskKind,
    Visit,
    VisitId,
)
from msinfusion.scheduling.backends.cpsat import CpSatOptions

DAY = date(2026, 3, 2)
OPENS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FAST = CpSatOptions(time_limit=timedelta(seconds=2), num_workers=2)


def at(minute: int) -> datetime:
    return OPENS + timedelta(minutes=minute)


def visit(
    visit_id: str,
    length: int,
    *,
    setup: int = 15,
    infusion_offset: int = 15,
    earliest: int = 0,
    start_by: int = 0,
    mandatory: bool = False,
    requires: frozenset[str] = frozenset(),
) -> Visit:
    """A visit of ``length`` minutes: a ``setup`` task at the start, then monitored to the end."""
    return Visit(
        id=VisitId(visit_id),
        patient_id=PatientId(f"p-{visit_id}"),
        protocol_id="natalizumab-300",
        dose_number=1,
        chair_time=timedelta(minutes=length),
        infusion_offset=timedelta(minutes=infusion_offset),
        infusion_end_offset=timedelta(minutes=length),
        nurse_tasks=(
            NurseTask(
                kind=TaskKind.SETUP,
                label="set-up",
                offset=timedelta(0),
                duration=timedelta(minutes=setup),
            ),
        ),
        window=PatientWindow(earliest=at(earliest), start_by=at(start_by)),
        mandatory=mandatory,
        requires=requires,
    )


def day(
    visits: list[Visit],
    *,
    chairs: int | list[Chair] = 1,
    nurses: int = 1,
    closes: int = 480,
    latest_end: int = 600,
    ratio: int = 4,
) -> DayProblem:
    chair_list = (
        [Chair(id=ChairId(f"c{i + 1}")) for i in range(chairs)]
        if isinstance(chairs, int)
        else chairs
    )
    return DayProblem(
        day=DAY,
        opens=OPENS,
        closes=at(closes),
        latest_end=at(latest_end),
        chairs=tuple(chair_list),
        nurses=tuple(
            Nurse(id=NurseId(f"n{i + 1}"), shift_start=OPENS, shift_end=at(closes))
            for i in range(nurses)
        ),
        visits=tuple(visits),
        nurse_ratio=ratio,
    )
