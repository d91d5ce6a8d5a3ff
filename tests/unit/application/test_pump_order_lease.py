"""The send lease of a pump order, as a property: whatever the claimants and their clocks, a
claim wins exactly when no other lease is running, and at most one holder exists at a time.

The model: the order is free until a claim at ``now`` wins; the winner holds it until
``now + lease``; a claim at a later ``now`` than that wins again (a crashed sender's lease ran
out). Checked against the in-memory outbox (the SQL one is checked in
``tests/contract/test_pump_order_claims.py``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.pump_records import PumpOrder

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)

claims = st.lists(
    st.tuples(st.sampled_from(["web", "listener", "tool"]), st.integers(0, 400)),
    min_size=1,
    max_size=25,
)


@given(claims)
def test_a_claim_wins_exactly_when_no_other_lease_runs(attempts: list[tuple[str, int]]) -> None:
    factory = functools.partial(InMemoryUnitOfWork, InMemoryDatabase())
    with factory() as uow:
        uow.pump_orders.add(
            PumpOrder(
                id="s-1-5",
                session_id="s-1",
                event_sequence=5,
                pump_id="P-1",
                order_control="RE",
                rate_ml_per_h=Fraction(40),
                volume_to_be_infused_ml=Fraction(500),
                requested_at=T0,
                requested_by="nurse1",
                message="RGV-s-1-5",
            )
        )
        uow.commit()
    holder: str | None = None
    until: datetime | None = None
    for claimant, seconds in sorted(attempts, key=lambda a: a[1]):  # clocks move forward
        now = T0 + timedelta(seconds=seconds)
        expected = until is None or until < now
        with factory() as uow:
            won = uow.pump_orders.claim("s-1-5", claimant=claimant, until=now + LEASE, now=now)
            uow.commit()
        assert won is expected, (claimant, seconds, holder, until)
        if won:
            holder, until = claimant, now + LEASE
        with factory() as uow:
            stored = uow.pump_orders.get("s-1-5")
        assert (stored.claimed_by, stored.claimed_until) == (holder, until)
