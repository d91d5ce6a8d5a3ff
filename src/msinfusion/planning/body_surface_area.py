"""Body surface area for mg/m2 dosing (Mosteller formula)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from msinfusion.errors import MissingMeasurement

# Plausibility limits for adult infusion patients; outside them the input is almost certainly a
# unit mistake (metres for centimetres, pounds for kilograms), so it is refused, not dosed.
HEIGHT_CM_RANGE = (Decimal(100), Decimal(250))
WEIGHT_KG_RANGE = (Decimal(25), Decimal(350))


def mosteller_bsa_m2(
    *, height_cm: Decimal | float | None, weight_kg: Decimal | float | None
) -> Fraction:
    """BSA in m2 = sqrt(height_cm x weight_kg / 3600) (Mosteller, N Engl J Med 1987;317:1098).

    >>> float(mosteller_bsa_m2(height_cm=180, weight_kg=80))  # sqrt(14400 / 3600)
    2.0
    """
    height = _checked("height_cm", height_cm, HEIGHT_CM_RANGE)
    weight = _checked("weight_kg", weight_kg, WEIGHT_KG_RANGE)
    return Fraction(math.sqrt(height * weight / 3600)).limit_denominator(10**9)


def _checked(field: str, value: Decimal | float | None, bounds: tuple[Decimal, Decimal]) -> float:
    if value is None:
        raise MissingMeasurement(f"{field} is required for a BSA-based (mg/m2) dose", field=field)
    number = Decimal(str(value))
    low, high = bounds
    if not number.is_finite() or not low <= number <= high:
        raise MissingMeasurement(
            f"{field} {value} is outside the plausible range {low}-{high}", field=field
        )
    return float(number)
