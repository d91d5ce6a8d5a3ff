"""Small pieces every mapper uses: exact numbers as FHIR decimals, UCUM quantities,
references, ``meta`` and the validation every resource passes before it is served."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from fhir.resources.R4B.resource import Resource

from msinfusion.adapters.fhir.codes import SYNTHETIC_TAG, UCUM

JsonObject = dict[str, Any]

DECIMAL_PLACES = Decimal("0.001")
"""Volumes, doses and rates are exact fractions in the record; FHIR gets them to 0.001 (the
JSON API's rounding), exact when they terminate sooner (e.g. 66.667 mL, 40 mL/h)."""


def decimal(value: Fraction | Decimal | int) -> Decimal:
    """``value`` as a FHIR decimal: exact if it has at most three decimals, else rounded.

    >>> decimal(Fraction(200, 3)), decimal(Fraction(80)), decimal(Decimal("36.80"))
    (Decimal('66.667'), Decimal('80'), Decimal('36.8'))
    """
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(value)
    rounded = exact.quantize(DECIMAL_PLACES, rounding=ROUND_HALF_EVEN)
    normal = rounded.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


def quantity(
    value: Fraction | Decimal | int, unit: str, *, display: str | None = None
) -> JsonObject:
    """A UCUM quantity (``unit`` is the UCUM code; ``display`` the human unit if it differs)."""
    return {"value": decimal(value), "unit": display or unit, "system": UCUM, "code": unit}


def reference(resource_type: str, resource_id: str, display: str | None = None) -> JsonObject:
    found: JsonObject = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        found["display"] = display
    return found


def instant(moment: datetime) -> str:
    """An aware time in UTC, ISO 8601 (FHIR ``dateTime``/``instant``)."""
    return moment.astimezone(UTC).isoformat()


def meta(*, synthetic: bool, last_updated: datetime | None = None) -> JsonObject | None:
    """``meta``: the synthetic-data tag on demo and test records; when the facts behind the
    resource were last recorded."""
    found: JsonObject = {}
    if last_updated is not None:
        found["lastUpdated"] = instant(last_updated)
    if synthetic:
        found["tag"] = [dict(SYNTHETIC_TAG)]
    return found or None


def drop_empty(data: JsonObject) -> JsonObject:
    """``data`` without keys whose value is None or empty (FHIR forbids empty elements)."""
    return {k: v for k, v in data.items() if v is not None and v not in ([], {})}


def validated(model: type[Resource], data: JsonObject) -> JsonObject:
    """``data`` parsed by its ``fhir.resources`` R4B model (a malformed resource is a bug and
    raises) and dumped back as JSON-ready data."""
    resource = model.model_validate(drop_empty(data))
    dumped: JsonObject = resource.model_dump(mode="json")
    return dumped
