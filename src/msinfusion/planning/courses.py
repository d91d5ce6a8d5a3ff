"""Treatment-course calendars: from an order to dated doses with earliest / due / latest windows.

``plan_course`` is a pure function of the order (therapy, start date, options, doses already
given) and an optional ``as_of`` date; it never reads a clock. Rules, per therapy, are in
``course_builders``; their numbers, with sources, in ``catalog/data/courses/course_rules.toml``.

How a window is made (docs/clinical/courses.md):

- **due**: the label's schedule, counted from its anchor (``calendar_units.shift``);
- **earliest**: the label's minimum interval after the previous dose where there is one (e.g.
  ocrelizumab 5 months); otherwise ``due - early_days`` (a local-policy option, default 0);
- **latest**: ``due + late_days`` (local policy, default 0), or the label's maximum interval
  where there is one (mitoxantrone EU: 3 months);
- a dose before its earliest date is refused (``DoseTooEarly``);
- a dose not given by its latest date is **overdue**: "give as soon as possible"; later doses are
  projected as if it were given on ``as_of``;
- the clock restarts from the date a dose was actually given (labels' missed/delayed-dose rule).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from msinfusion.catalog.model import Interval
from msinfusion.errors import DoseTooEarly, InvalidCourseOrder
from msinfusion.planning.calendar_units import add_days, describe, shift


class DoseStatus(enum.Enum):
    GIVEN = "given"
    OVERDUE = "overdue"
    DUE = "due"
    PLANNED = "planned"


@dataclass(frozen=True, slots=True, kw_only=True)
class GivenDose:
    """A dose actually given (dose numbers start at 1 and have no gaps)."""

    dose_number: int
    on: date
    mg_per_m2: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CourseOrder:
    """A prescriber's order: therapy, first date, options (``key=value`` strings), history."""

    therapy_id: str
    start: date
    options: tuple[tuple[str, str], ...] = ()
    given: tuple[GivenDose, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        therapy_id: str,
        start: date,
        options: Mapping[str, str] | None = None,
        given: tuple[GivenDose, ...] = (),
    ) -> CourseOrder:
        return cls(
            therapy_id=therapy_id,
            start=start,
            options=tuple(sorted((options or {}).items())),
            given=given,
        )

    @property
    def option_map(self) -> dict[str, str]:
        return dict(self.options)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedDose:
    dose_number: int
    protocol_id: str
    label: str
    dose: str
    course_number: int | None
    earliest: date
    due: date
    latest: date
    status: DoseStatus
    given_on: date | None
    rule: str
    alternative_protocol_ids: tuple[str, ...] = ()

    @property
    def effective(self) -> date:
        """The date later doses count from: given, else due (or as_of when overdue)."""
        return self.given_on or self.due


@dataclass(frozen=True, slots=True, kw_only=True)
class CourseCalendar:
    therapy_id: str
    start: date
    options: tuple[tuple[str, str], ...]
    off_label: bool
    doses: tuple[PlannedDose, ...]
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    as_of: date | None
    jurisdiction: str | None

    def dose(self, dose_number: int) -> PlannedDose:
        for dose in self.doses:
            if dose.dose_number == dose_number:
                return dose
        raise InvalidCourseOrder(f"dose {dose_number} is not in this calendar", field="dose")

    def next_dose(self) -> PlannedDose | None:
        """The first dose not yet given."""
        return next((d for d in self.doses if d.status is not DoseStatus.GIVEN), None)

    def last_given(self) -> PlannedDose | None:
        given = [d for d in self.doses if d.status is DoseStatus.GIVEN]
        return given[-1] if given else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """A dose to place: its label schedule (nominal due) and minimum-interval floor."""

    dose_number: int
    protocol_id: str
    label: str
    dose: str
    nominal_due: date
    due_rule: str
    previous: date | None = None
    floor: date | None = None
    floor_rule: str | None = None
    ceiling: date | None = None
    course_number: int | None = None
    alternative_protocol_ids: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class Placer:
    """Places slots one by one against the doses given so far and ``as_of``."""

    given: dict[int, GivenDose]
    as_of: date | None
    early_days: int = 0
    late_days: int = 0
    placed: list[PlannedDose] = field(default_factory=list)

    def place(self, slot: Slot) -> PlannedDose:
        dose = _place(slot, self)
        self.placed.append(dose)
        return dose


def _place(slot: Slot, placer: Placer) -> PlannedDose:
    due = max(slot.nominal_due, slot.floor) if slot.floor else slot.nominal_due
    earliest = slot.floor if slot.floor else add_days(due, -placer.early_days)
    if slot.previous is not None:  # never two doses on one day
        earliest = max(earliest, add_days(slot.previous, 1))
        due = max(due, earliest)
    latest = max(slot.ceiling, due) if slot.ceiling else add_days(due, placer.late_days)
    rule = slot.due_rule + (f"; earliest: {slot.floor_rule}" if slot.floor_rule else "")
    given = placer.given.get(slot.dose_number)
    if given is not None:
        if given.on < earliest:
            raise DoseTooEarly(
                dose_number=slot.dose_number,
                on=given.on.isoformat(),
                earliest=earliest.isoformat(),
                rule=slot.floor_rule or "no label minimum interval: earliest = due - early_days",
            )
        status, given_on = DoseStatus.GIVEN, given.on
    else:
        status, given_on = _status(placer.as_of, earliest, latest), None
    if status is DoseStatus.OVERDUE and placer.as_of is not None:
        rule += "; overdue: give as soon as possible, later doses count from the date given"
    return PlannedDose(
        dose_number=slot.dose_number,
        protocol_id=slot.protocol_id,
        label=slot.label,
        dose=slot.dose,
        course_number=slot.course_number,
        earliest=earliest,
        due=due,
        latest=latest,
        status=status,
        given_on=given_on,
        rule=rule,
        alternative_protocol_ids=slot.alternative_protocol_ids,
    )


def _status(as_of: date | None, earliest: date, latest: date) -> DoseStatus:
    if as_of is None or as_of < earliest:
        return DoseStatus.PLANNED
    return DoseStatus.OVERDUE if as_of > latest else DoseStatus.DUE


def anchor_of(dose: PlannedDose, as_of: date | None) -> date:
    """The date the next dose counts from: given date; if not given, due (or as_of if later)."""
    if dose.given_on is not None:
        return dose.given_on
    return max(dose.due, as_of) if as_of is not None else dose.due


DoseDescriber = Callable[[int], tuple[str, str, str, tuple[str, ...]]]
"""dose number -> (protocol id, label, dose text, alternative protocol ids)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """A run of periodic doses sharing one clock (e.g. ocrelizumab maintenance every 6 months)."""

    numbers: range
    anchor: date
    first_steps: int
    previous: date | None
    every: Interval
    every_text: str
    min_interval: Interval | None = None
    max_interval: Interval | None = None


def run_series(placer: Placer, series: Series, describe_dose: DoseDescriber) -> date | None:
    """Place a periodic series; the clock restarts whenever a dose's date differs from its due.

    Returns the anchor date of the last dose placed (for whatever follows the series).
    """
    anchor, steps, previous = series.anchor, series.first_steps - 1, series.previous
    for number in series.numbers:
        steps += 1
        protocol_id, label, dose_text, alternatives = describe_dose(number)
        nominal = shift(anchor, series.every, times=steps)
        floor = shift(previous, series.min_interval) if previous and series.min_interval else None
        ceiling = shift(previous, series.max_interval) if previous and series.max_interval else None
        placed = placer.place(
            Slot(
                dose_number=number,
                protocol_id=protocol_id,
                label=label,
                dose=dose_text,
                nominal_due=nominal,
                due_rule=series.every_text,
                previous=previous,
                floor=floor,
                floor_rule=_floor_text(series.min_interval),
                ceiling=ceiling,
                alternative_protocol_ids=alternatives,
            )
        )
        effective = anchor_of(placed, placer.as_of)
        if effective != nominal:
            anchor, steps = effective, 0
        previous = effective
    return previous


def _floor_text(interval: Interval | None) -> str | None:
    if interval is None:
        return None
    return f"minimum interval {describe(interval)} after the previous dose"


def validate_history(given: tuple[GivenDose, ...]) -> dict[int, GivenDose]:
    """Doses given must be numbered 1..n without gaps, on strictly increasing dates."""
    ordered = sorted(given, key=lambda g: g.dose_number)
    for index, dose in enumerate(ordered, start=1):
        if dose.dose_number != index:
            raise InvalidCourseOrder(
                f"given doses must be numbered 1..n without gaps; dose {index} is missing",
                field="given",
            )
        if index > 1 and dose.on <= ordered[index - 2].on:
            raise InvalidCourseOrder(
                f"dose {index} on {dose.on} is not after dose {index - 1}", field="given"
            )
    return {dose.dose_number: dose for dose in ordered}
