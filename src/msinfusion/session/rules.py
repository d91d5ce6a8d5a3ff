"""The protocol's limits as pure functions of the state: rates, reaction ceilings, premedications.

Rule names used in ``CommandRefused`` are stable and documented in ``docs/session-format.md``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from msinfusion.catalog.ladder import as_fraction
from msinfusion.catalog.model import Premedication, Protocol, RateStep, ReEscalation
from msinfusion.errors import CommandRefused
from msinfusion.session.state import SessionState, minutes_between

RE_ESCALATION_INTERVAL_MIN = Fraction(30)
"""Minimum running minutes between two re-escalation steps after a reaction (2017 US
ocrelizumab text: "+30/+40 mL/h every 30 min"); also the shortest wait after a reaction before the
first step up when the protocol gives no (or a shorter) hold."""

COMPLETION_TOLERANCE = Fraction(1, 100)
"""CompleteInfusion is accepted when the computed remaining volume is at most 1 % of the bag
(pump calibration and the nurse's press a few seconds early); otherwise use StopInfusion."""


@functools.lru_cache(maxsize=256)
def _exact_steps(steps: tuple[RateStep, ...]) -> tuple[tuple[Fraction, Fraction], ...]:
    """A ladder's (start, rate) pairs as Fractions, converted once per ladder (the board asks
    for them several times per row)."""
    return tuple((as_fraction(s.start_min), as_fraction(s.rate_ml_per_h)) for s in steps)


def ladder_rate_at(protocol: Protocol, running_min: Fraction) -> Fraction:
    """The ladder step's rate for ``running_min`` minutes of running infusion."""
    steps = _exact_steps(protocol.ladder.steps)
    rate = steps[0][1]
    for start, step_rate in steps:
        if start <= running_min:
            rate = step_rate
    return rate


def ladder_step_starts(protocol: Protocol) -> tuple[Fraction, ...]:
    return tuple(start for start, _ in _exact_steps(protocol.ladder.steps))


def allowed_rate_at(state: SessionState, protocol: Protocol, running_min: Fraction) -> Fraction:
    """The highest rate allowed at ``running_min`` without any override."""
    allowed = min(
        as_fraction(protocol.max_rate_ml_per_h.value), ladder_rate_at(protocol, running_min)
    )
    limit = state.reaction_limit
    if limit is None:
        return allowed
    reaction_max = limit.ceiling_ml_per_h
    per_ladder = limit.re_escalation is ReEscalation.PER_LADDER and limit.increment_ml_per_h
    if per_ladder and running_min >= limit.next_increase_running_min:
        reaction_max += limit.increment_ml_per_h or 0
    return min(allowed, reaction_max)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCheck:
    """An accepted rate; ``override_used`` is True when a manual re-escalation needed a reason."""

    override_used: bool


def check_rate(
    state: SessionState,
    protocol: Protocol,
    rate: Fraction,
    running_min: Fraction,
    override_reason: str | None,
) -> RateCheck:
    """Refuse ``rate`` at ``running_min`` if it breaks a hard limit; see module docs for rules."""
    maximum = as_fraction(protocol.max_rate_ml_per_h.value)
    if rate > maximum:
        raise CommandRefused(
            "max-rate", f"{_n(rate)} mL/h is above the protocol maximum of {_n(maximum)} mL/h"
        )
    step = ladder_rate_at(protocol, running_min)
    if rate > step:
        raise CommandRefused(
            "ladder-step",
            f"{_n(rate)} mL/h is above the ladder step of {_n(step)} mL/h at minute "
            f"{_n(running_min)} of running infusion",
        )
    return _check_reaction_limit(state, rate, running_min, override_reason)


def _check_reaction_limit(
    state: SessionState, rate: Fraction, running_min: Fraction, override_reason: str | None
) -> RateCheck:
    limit = state.reaction_limit
    if limit is None or rate <= limit.ceiling_ml_per_h:
        return RateCheck(override_used=False)
    ceiling = _n(limit.ceiling_ml_per_h)
    if limit.re_escalation is ReEscalation.NONE:
        raise CommandRefused(
            "re-escalation-none", f"after this reaction the rate may not exceed {ceiling} mL/h"
        )
    if running_min < limit.next_increase_running_min:
        rule = "reaction-hold" if limit.escalations == 0 else "re-escalation-interval"
        raise CommandRefused(
            rule,
            f"the rate must stay at or below {ceiling} mL/h until minute "
            f"{_n(limit.next_increase_running_min)} of running infusion",
        )
    increment = limit.increment_ml_per_h
    if limit.re_escalation is ReEscalation.PER_LADDER and increment is not None:
        if rate > limit.ceiling_ml_per_h + increment:
            raise CommandRefused(
                "re-escalation-increment",
                f"after a reaction the rate may rise by at most {_n(increment)} mL/h per step "
                f"(to {_n(limit.ceiling_ml_per_h + increment)} mL/h now)",
            )
        return RateCheck(override_used=False)
    if override_reason is None:
        raise CommandRefused(
            "re-escalation-manual",
            f"the protocol gives no re-escalation step: raising above {ceiling} mL/h needs an "
            "override_reason",
        )
    return RateCheck(override_used=True)


def required_premedications(
    protocol: Protocol, course_day: int | None
) -> tuple[Premedication, ...]:
    """Required premedications for this course day (all of them when the day is unknown)."""
    return tuple(
        p
        for p in protocol.premedications
        if p.required
        and (
            p.applies_to_course_days is None
            or course_day is None
            or course_day in p.applies_to_course_days
        )
    )


def window_bounds(premedication: Premedication) -> tuple[Fraction, Fraction | None]:
    """(least, most) minutes before the start, widened by the tolerance when approximate.

    A premedication without a window must simply precede the start: (0, None).
    """
    window = premedication.window
    if window is None:
        return Fraction(0), None
    least = as_fraction(window.min_before_start_min.value)
    most = (
        None
        if window.max_before_start_min is None
        else as_fraction(window.max_before_start_min.value)
    )
    if window.approximate and window.tolerance_min is not None:
        tolerance = as_fraction(window.tolerance_min.value)
        least = max(Fraction(0), least - tolerance)
        most = None if most is None else most + tolerance
    return least, most


def premedication_deviations(
    state: SessionState, protocol: Protocol, start: datetime
) -> tuple[str, ...]:
    """Why a start at ``start`` is outside a required premedication's window (empty: inside all)."""
    problems: list[str] = []
    for premedication in required_premedications(protocol, state.course_day):
        given = [g.at for g in state.premedications if g.satisfies == premedication.drug]
        least, most = window_bounds(premedication)
        if not given:
            problems.append(f"{premedication.drug} was not given")
            continue
        offsets = [minutes_between(at, start) for at in given]
        if not any(least <= o and (most is None or o <= most) for o in offsets):
            limit = f"{_n(least)}-{_n(most)}" if most is not None else f"at least {_n(least)}"
            problems.append(
                f"{premedication.drug} was given {_n(offsets[-1])} min before the start; "
                f"its window is {limit} min"
            )
    return tuple(problems)


def _n(value: Fraction | None) -> str:
    """A clinician-readable number: integers exactly, others to two decimals."""
    if value is None:
        return "-"
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}"


format_number = _n
