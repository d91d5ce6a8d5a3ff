"""Exact arithmetic of a volume-terminated rate ladder.

Kept in the catalog because loading needs it (a ladder must deliver its bag) and planning and the
session engine reuse it. Arithmetic is in ``Fraction`` so that 25 mL at 180 mL/h is exactly
25/3 minutes, never a float that drifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from msinfusion.catalog.model import RateStep

MINUTES_PER_HOUR = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class LadderSegment:
    """One step as actually run: minutes from the drug start, rate and volume delivered."""

    step_index: int
    start_min: Fraction
    end_min: Fraction
    rate_ml_per_h: Fraction
    volume_ml: Fraction
    cumulative_volume_ml: Fraction


def as_fraction(value: Decimal | int | Fraction) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def run_ladder(
    steps: Sequence[RateStep], volume_ml: Decimal | Fraction
) -> tuple[LadderSegment, ...]:
    """Run ``steps`` on a bag of ``volume_ml`` until it is empty.

    Each step runs until the next one starts or until the bag is empty, whichever comes first;
    the last step runs until empty. Steps that start after the bag is empty are not returned.
    """
    remaining = as_fraction(volume_ml)
    delivered = Fraction(0)
    segments: list[LadderSegment] = []
    for index, step in enumerate(steps):
        if remaining <= 0:
            break
        start = as_fraction(step.start_min)
        rate = as_fraction(step.rate_ml_per_h)
        minutes_to_empty = remaining / rate * MINUTES_PER_HOUR
        end = start + minutes_to_empty
        if index + 1 < len(steps):
            end = min(end, as_fraction(steps[index + 1].start_min))
        volume = rate * (end - start) / MINUTES_PER_HOUR
        remaining -= volume
        delivered += volume
        segments.append(
            LadderSegment(
                step_index=index,
                start_min=start,
                end_min=end,
                rate_ml_per_h=rate,
                volume_ml=volume,
                cumulative_volume_ml=delivered,
            )
        )
    return tuple(segments)


def ladder_duration_min(steps: Sequence[RateStep], volume_ml: Decimal | Fraction) -> Fraction:
    """Minutes from the drug start until the bag is empty, with no interruption."""
    return run_ladder(steps, volume_ml)[-1].end_min
