"""Hypothesis strategies for catalog values."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from hypothesis import strategies as st

from msinfusion.catalog.model import RateStep


@st.composite
def rate_ladders(draw: st.DrawFn) -> tuple[tuple[RateStep, ...], Decimal, Decimal]:
    """A valid ladder with its maximum rate and a bag volume it can deliver.

    Start minutes strictly increase from 0; rates are positive and at most the maximum; the bag is
    large enough that every step is reached (the loader refuses ladders whose bag empties early).
    """
    count = draw(st.integers(min_value=1, max_value=10))
    gaps = draw(
        st.lists(st.integers(min_value=1, max_value=90), min_size=count - 1, max_size=count - 1)
    )
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    rates = draw(
        st.lists(
            st.decimals(min_value=Decimal("0.5"), max_value=Decimal(999), places=1),
            min_size=count,
            max_size=count,
        )
    )
    max_rate = max(rates) + draw(st.decimals(min_value=0, max_value=100, places=1))
    steps = tuple(
        RateStep(start_min=Decimal(s), rate_ml_per_h=r) for s, r in zip(starts, rates, strict=True)
    )
    reached = sum(
        (Decimal(b.start_min - a.start_min) * a.rate_ml_per_h / 60 for a, b in pairwise(steps)),
        start=Decimal(0),
    )
    extra = draw(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(1000), places=1))
    return steps, max_rate, reached + extra
