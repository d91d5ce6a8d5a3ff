"""A long session (over 1,000 events) folds to the same state by replay and by state_at.

How fast that is lives in benchmarks/test_bench_session.py (``make bench``), not here.
"""

from __future__ import annotations

from fractions import Fraction

from msinfusion.session import commands as cmd
from msinfusion.session import replay, state_at, view_at
from tests.unit.session.helpers import at, protocol, started


def test_a_thousand_vital_sign_events_fold_exactly() -> None:
    service, s = started("ocrelizumab-600-standard")
    for i in range(1_000):
        service.handle(
            s, cmd.RecordVitals(at=at(Fraction(i, 10)), heart_rate_bpm=Fraction(70 + i % 5))
        )
    events = service.list_events(s)
    state = replay(events)
    view = view_at(events, protocol("ocrelizumab-600-standard"), at(50))
    mid = state_at(events, at(30))
    assert state.version == len(events) > 1_000
    assert view.state.volume_ml == Fraction(100, 3)  # 40 mL/h x 50 min, no step taken
    assert mid.volume_ml == 20  # 40 mL/h x 30 min
