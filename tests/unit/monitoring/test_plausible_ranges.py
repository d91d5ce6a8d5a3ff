"""Plausible vital-sign ranges are cited data (ricu's bounds, with the recorded exceptions):
a value just outside is refused naming its field, the bound itself is accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from msinfusion.errors import InvalidVitalSigns
from msinfusion.monitoring.vital_signs import PLAUSIBLE, PLAUSIBLE_SOURCE, VitalSigns

AT = datetime(2026, 3, 2, 10, tzinfo=UTC)

RICU = {  # the concept dictionary's "routine vital signs" bounds, read from PLAUSIBLE_SOURCE
    "heart_rate_bpm": (0, 300),
    "systolic_mmhg": (0, 300),
    "diastolic_mmhg": (0, 200),
    "mean_arterial_mmhg": (0, 250),
    "respiratory_rate_per_min": (0, 120),
}


def test_the_cited_bounds_are_ricus() -> None:
    assert "eth-mds/ricu" in PLAUSIBLE_SOURCE
    for field, (low, high) in RICU.items():
        assert PLAUSIBLE[field] == (Decimal(low), Decimal(high))
    assert PLAUSIBLE["spo2_pct"] == (Decimal(0), Decimal(100))  # a percentage, by definition


@pytest.mark.parametrize("field", sorted(PLAUSIBLE))
def test_a_bound_is_accepted_and_one_past_it_refused_naming_the_field(field: str) -> None:
    low, high = PLAUSIBLE[field]
    VitalSigns(measured_at=AT, **{field: high})
    with pytest.raises(InvalidVitalSigns) as refused:
        VitalSigns(measured_at=AT, **{field: high + 1})
    assert refused.value.field == field
    assert f"outside the plausible range {low}-{high}" in refused.value.message
