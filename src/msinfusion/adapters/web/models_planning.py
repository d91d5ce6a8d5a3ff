"""Request bodies of the course, risk and scheduling routes (pydantic, ``extra="forbid"``).

The clinical and scheduling formats themselves (the course-check file, the ``msinfusion-day/1``
instance) are validated by their cores, whose errors name the JSON path; these models bound
the request around them. Limits are sanity bounds, not clinical rules.
"""

from __future__ import annotations

from datetime import date, time, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

from msinfusion.adapters.web.models import (
    _PRINTABLE,
    ClinicalDate,
    DoseNumber,
    Forbid,
    Id,
    Moment,
    Name,
    Note,
    Tag,
)
from msinfusion.application.schedule_day import DaySettings
from msinfusion.application.scheduling import Booked, SolverName
from msinfusion.errors import InvalidSchedulingProblem

ClockTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"),
    Field(description="Local time of day on the centre's clock, HH:MM"),
]
Nurses = Annotated[int, Strict(), Field(ge=1, le=200, description="Nurses on shift all day")]
TimeLimit = Annotated[
    float,
    Field(gt=0, le=30, description="CP-SAT seconds (capped by the server); ignored by greedy"),
]
MAX_SCHEDULED_VISITS = 500


Text = Annotated[str, StringConstraints(max_length=200, pattern=_PRINTABLE)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
Strictly = Annotated[bool, Strict()]


class GivenDoseIn(Forbid):
    dose_number: DoseNumber
    on: ClinicalDate
    mg_per_m2: Annotated[float, Field(ge=0, le=1000)] | None = None


class CourseOrderIn(Forbid):
    """The ``order`` of a check file: therapy, first date, options, doses given."""

    therapy_id: Id
    start: ClinicalDate
    options: Annotated[dict[Tag, Name], Field(max_length=20)] = Field(default_factory=dict)
    given: Annotated[list[GivenDoseIn], Field(max_length=300)] = Field(default_factory=list)


class LabResultIn(Forbid):
    test: Word
    on: ClinicalDate
    value: Annotated[Decimal, Field(ge=-1_000_000, le=1_000_000, max_digits=12)] | None = None
    positive: Strictly | None = None
    abnormal: Strictly | None = None
    assay: Text | None = None


class VaccinationIn(Forbid):
    on: ClinicalDate
    live: Strictly = False
    name: Text = ""


class FindingIn(Forbid):
    name: Word
    on: ClinicalDate
    present: Strictly


class OverrideIn(Forbid):
    gate_id: Word
    physician_id: Id
    justification: Note
    on: ClinicalDate


class PatientRecordIn(Forbid):
    """The ``patient`` of a check file (docs/clinical/courses.md); ``id`` defaults to the path."""

    id: Id | None = None
    can_become_pregnant: Strictly | None = None
    prior_immunosuppressant: Strictly | None = None
    vaccination_history_reviewed: Strictly = False
    relapse_onset: ClinicalDate | None = None
    labs: Annotated[list[LabResultIn], Field(max_length=500)] = Field(default_factory=list)
    vaccinations: Annotated[list[VaccinationIn], Field(max_length=200)] = Field(
        default_factory=list
    )
    findings: Annotated[list[FindingIn], Field(max_length=500)] = Field(default_factory=list)
    overrides: Annotated[list[OverrideIn], Field(max_length=100)] = Field(default_factory=list)


class CourseCheckIn(Forbid):
    """The ``msinfusion course check`` file; ``order`` may be left out for the patient's stored
    order (``order_id``, or the only active one). Default ``as_of``: the request day."""

    as_of: ClinicalDate | None = None
    order: CourseOrderIn | None = None
    order_id: Id | None = None
    patient: PatientRecordIn | None = None

    def to_check_file(self) -> dict[str, Any]:
        """The plain check file the planning core reads (None values left out)."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return data


class DayOptions(Forbid):
    """A stored day (``date`` + site settings) and the solver."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    day: ClinicalDate | None = Field(default=None, alias="date")
    nurses: Nurses | None = None
    opens: ClockTime = "08:00"
    closes: ClockTime = "18:00"
    overtime_min: Annotated[int, Strict(), Field(ge=0, le=720)] = 120
    nurse_ratio: Annotated[int, Strict(), Field(ge=1, le=20)] = 4
    flex_min: Annotated[int, Strict(), Field(ge=0, le=480)] = 0
    solver: SolverName = SolverName.CPSAT
    time_limit_s: TimeLimit = 5.0


class ScheduleDayIn(DayOptions):
    instance: dict[str, Any] | None = Field(
        default=None, description="An msinfusion-day/1 instance (docs/scheduling.md)"
    )


class ScheduledVisitIn(BaseModel):
    """A visit's place: the ``visits`` of a schedule answer fit as they are (other keys are
    ignored; unbooked visits, with no chair, are skipped)."""

    model_config = ConfigDict(extra="ignore")

    id: Id
    chair: Id | None = None
    start: Moment | None = None


class ReplanIn(ScheduleDayIn):
    schedule: Annotated[list[ScheduledVisitIn], Field(max_length=MAX_SCHEDULED_VISITS)] | None = (
        None
    )
    now: Moment | None = Field(
        default=None, description="Instance only: the current time (default: the request time)"
    )
    releases: Annotated[dict[Id, Moment], Field(max_length=200)] = Field(
        default_factory=dict,
        description="Projected chair release of started visits (stored days: default from the "
        "session engine)",
    )


def require_one_source(body: ScheduleDayIn) -> None:
    """Exactly one of ``instance`` or ``date``; a stored day needs ``nurses``."""
    if (body.instance is None) == (body.day is None):
        raise InvalidSchedulingProblem("give either instance or date", field="date")
    if body.instance is None and body.nurses is None:
        raise InvalidSchedulingProblem("a stored day needs nurses (on shift)", field="nurses")


def day_settings(body: DayOptions, zone: tzinfo) -> DaySettings:
    assert body.day is not None
    assert body.nurses is not None
    return settings_of(
        body.day,
        zone,
        nurses=body.nurses,
        opens=body.opens,
        closes=body.closes,
        overtime_min=body.overtime_min,
        nurse_ratio=body.nurse_ratio,
        flex_min=body.flex_min,
    )


def settings_of(
    day: date,
    zone: tzinfo,
    *,
    nurses: int,
    opens: str,
    closes: str,
    overtime_min: int,
    nurse_ratio: int,
    flex_min: int,
) -> DaySettings:
    return DaySettings(
        day=day,
        zone=zone,
        nurses=nurses,
        opens=time.fromisoformat(opens),
        closes=time.fromisoformat(closes),
        overtime=timedelta(minutes=overtime_min),
        nurse_ratio=nurse_ratio,
        flex=timedelta(minutes=flex_min),
    )


def booked_visits(schedule: list[ScheduledVisitIn]) -> tuple[Booked, ...]:
    return tuple(
        Booked(visit_id=v.id, chair_id=v.chair, start=v.start)
        for v in schedule
        if v.chair is not None and v.start is not None
    )
