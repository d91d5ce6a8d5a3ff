"""The independent check and metrics of a multi-week plan (day links, windows, open days)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from msinfusion.scheduling.assignment import Violation

if TYPE_CHECKING:
    from msinfusion.scheduling.weeks import WeeksPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeksMetrics:
    overtime_min: int
    total_wait_min: int
    peak_nurse_load: float
    visits_booked: int
    visits_requested: int
    links_kept: int
    links_total: int


def check_weeks(plan: WeeksPlan) -> tuple[Violation, ...]:
    """Every day's own check, plus windows, open days, mandatory visits and day links."""
    problem = plan.problem
    found: list[Violation] = [v for day in plan.days for v in day.check()]
    booked = plan.booked_days()
    for request in problem.requests:
        day = booked.get(request.id)
        if day is None:
            if request.mandatory:
                found.append(
                    Violation(
                        rule="mandatory-unbooked", message="visit not booked", visit_id=request.id
                    )
                )
            continue
        if not problem.template.is_open(day):
            found.append(
                Violation(
                    rule="day-not-open", message=f"{day} is not an open day", visit_id=request.id
                )
            )
        if not request.earliest_day <= day <= request.latest_day:
            found.append(
                Violation(
                    rule="outside-window",
                    message=f"{day} is outside {request.earliest_day}..{request.latest_day}",
                    visit_id=request.id,
                )
            )
    for link in problem.links:
        first, second = booked.get(link.first), booked.get(link.second)
        if first is None and second is None:
            continue
        if first is None or second is None:
            found.append(
                Violation(
                    rule="link-half-booked",
                    message=f"{link.first} and {link.second} must both be booked",
                    visit_id=link.second,
                )
            )
        elif not link.min_days <= (second - first).days <= link.max_days:
            found.append(
                Violation(
                    rule="link-broken",
                    message=f"{link.second} is {(second - first).days} days after "
                    f"{link.first}, not {link.min_days}..{link.max_days}",
                    visit_id=link.second,
                )
            )
    return tuple(found)


def weeks_metrics(plan: WeeksPlan) -> WeeksMetrics:
    days = [d.metrics() for d in plan.days]
    booked = plan.booked_days()
    kept = sum(
        1
        for link in plan.problem.links
        if link.first in booked
        and link.second in booked
        and link.min_days <= (booked[link.second] - booked[link.first]).days <= link.max_days
    )
    return WeeksMetrics(
        overtime_min=sum(m.overtime_min for m in days),
        total_wait_min=sum(m.total_wait_min for m in days),
        peak_nurse_load=max((m.peak_nurse_load for m in days), default=0.0),
        visits_booked=sum(m.visits_booked for m in days),
        visits_requested=len(plan.problem.requests),
        links_kept=kept,
        links_total=len(plan.problem.links),
    )
