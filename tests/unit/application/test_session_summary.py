"""The board summary computed from the cached state equals the one ``view_at`` gives, for every
prefix of worked sessions (check-in, premedication, rate steps, pause, resume, stop,
discharge)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.application.session_summary import summarise, summary_from_view
from msinfusion.session import commands as cmd
from msinfusion.session import replay, view_at
from msinfusion.session.state import SessionState
from tests.unit.session.helpers import at, change_rate, protocol, started


def _long_session(protocol_id: str) -> list[object]:
    service, s = started(protocol_id)
    steps = protocol(protocol_id).ladder.steps
    for i, step in enumerate(steps[1:], start=1):
        change_rate(service, s, 30 * i, float(step.rate_ml_per_h))
    end = 30 * len(steps)
    service.handle(s, cmd.RecordVitals(at=at(end + 1), user="nurse-a", spo2_pct=Fraction(97)))
    service.handle(s, cmd.PauseInfusion(at=at(end + 2), user="nurse-a", reason="line check"))
    rate = Fraction(steps[0].rate_ml_per_h)
    service.handle(s, cmd.ResumeInfusion(at=at(end + 5), user="nurse-a", rate_ml_per_h=rate))
    service.handle(s, cmd.StopInfusion(at=at(end + 9), user="nurse-a", reason="patient request"))
    service.handle(s, cmd.Discharge(at=at(end + 300), user="nurse-a"))
    return list(service.list_events(s))


@pytest.mark.parametrize("protocol_id", ["ocrelizumab-600-standard", "natalizumab-300"])
def test_summary_from_state_equals_summary_from_view_for_every_prefix(protocol_id: str) -> None:
    events = _long_session(protocol_id)
    p = protocol(protocol_id)
    for n in range(len(events) + 1):
        prefix = events[:n]
        expected = summary_from_view("s", view_at(prefix, p))  # type: ignore[arg-type]
        assert summarise("s", replay(prefix), p) == expected  # type: ignore[arg-type]


def test_an_empty_session_is_new_with_nothing_due() -> None:
    summary = summarise("s", SessionState(), None)
    assert (summary.status, summary.version, summary.next_due_action) == ("new", 0, None)
    assert summary.projected_infusion_end is None
