"""Hypothesis state machine: random command sequences never break the safety invariants.

Invariants after every step: the running rate never exceeds the protocol maximum nor the ladder
step for the running time it was set at; the infused volume never exceeds the bag; the dose is
exactly volume x concentration; replay is deterministic; every refusal names a known rule;
nothing is accepted after discharge or after a therapy-discontinuing reaction (except care).
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session import replay, state_at
from msinfusion.session.chart import fold
from msinfusion.session.decide import ALLOWED_AFTER_DISCONTINUATION
from msinfusion.session.rules import ladder_rate_at
from msinfusion.session.state import Status
from tests.unit.session.helpers import protocol, started

PROTOCOLS = (
    "ocrelizumab-600-standard",
    "ocrelizumab-600-short",
    "natalizumab-300",
    "alemtuzumab-12",
)

KNOWN_RULES = {
    "before-check-in",
    "late-entry-conflict",
    "discharged",
    "not-checked-in",
    "already-checked-in",
    "therapy-discontinued",
    "protocol-eligibility",
    "protocol-unknown",
    "assessment-missing",
    "assessment-failed",
    "premedication-window",
    "reaction-unresolved",
    "reaction-no-resume",
    "max-rate",
    "ladder-step",
    "reaction-hold",
    "re-escalation-interval",
    "re-escalation-increment",
    "re-escalation-manual",
    "re-escalation-none",
    "reaction-rate",
    "infusion-not-running",
    "infusion-not-paused",
    "infusion-already-started",
    "bag-empty",
    "bag-not-empty",
    "infusion-running",
    "observation",
    "no-open-reaction",
    "correction-target",
    "reaction-news2",
    "reaction-resume-decision",
}

minutes = st.fractions(min_value=0, max_value=45, max_denominator=4)
rates = st.integers(min_value=1, max_value=420).map(Fraction)


class SessionMachine(RuleBasedStateMachine):
    @initialize(protocol_id=st.sampled_from(PROTOCOLS))
    def start(self, protocol_id: str) -> None:
        self.protocol = protocol(protocol_id)
        self.service, self.session = started(
            protocol_id, course_day=1 if "alemtuzumab" in protocol_id else None
        )
        self.now = self.service.get_state(self.session).last_at
        assert self.now is not None

    def _send(self, make: object, wait: Fraction) -> None:
        assert callable(make)
        self.now = self.now + timedelta(seconds=float(wait * 60))  # type: ignore[operator]
        before = self.service.get_state(self.session)
        command = make(self.now)
        try:
            new_events = self.service.handle(self.session, command)
        except CommandRefused as refused:
            assert refused.rule in KNOWN_RULES, refused.rule  # noqa: PT017 - a state machine step, not a test
            return
        assert before.status is not Status.DISCHARGED, "accepted after discharge"
        if before.therapy_contraindicated:
            assert isinstance(command, ALLOWED_AFTER_DISCONTINUATION), command
        running = state_at(
            self.service.list_events(self.session)[: before.version], self.now
        ).running_min
        for event in new_events:
            if isinstance(event, ev.InfusionStarted | ev.RateChanged | ev.InfusionResumed):
                assert event.rate_ml_per_h <= ladder_rate_at(self.protocol, running)

    @rule(wait=minutes, rate=rates, reason=st.none() | st.just("prescriber agrees"))
    def change_rate(self, wait: Fraction, rate: Fraction, reason: str | None) -> None:
        self._send(lambda t: cmd.ChangeRate(at=t, rate_ml_per_h=rate, override_reason=reason), wait)

    @rule(wait=minutes)
    def pause(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.PauseInfusion(at=t), wait)

    @rule(wait=minutes, rate=rates)
    def resume(self, wait: Fraction, rate: Fraction) -> None:
        self._send(lambda t: cmd.ResumeInfusion(at=t, rate_ml_per_h=rate), wait)

    @rule(wait=minutes, severity=st.sampled_from(Severity))
    def reaction(self, wait: Fraction, severity: Severity) -> None:
        self._send(lambda t: cmd.RecordReaction(at=t, severity=severity, symptoms=("rash",)), wait)

    @rule(wait=minutes)
    def resolve(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.ResolveReaction(at=t), wait)

    @rule(wait=minutes)
    def complete(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.CompleteInfusion(at=t), wait)

    @rule(wait=minutes)
    def stop(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.StopInfusion(at=t, reason="random stop"), wait)

    @rule(wait=minutes)
    def discharge(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.Discharge(at=t), wait)

    @rule(wait=minutes)
    def vitals(self, wait: Fraction) -> None:
        self._send(lambda t: cmd.RecordVitals(at=t, heart_rate_bpm=Fraction(80)), wait)

    @rule(wait=minutes)
    def complete_vitals(self, wait: Fraction) -> None:
        """A complete set scoring NEWS2 0: it clears a severe reaction for resolution."""
        self._send(
            lambda t: cmd.RecordVitals(
                at=t,
                systolic_mmhg=Fraction(120),
                diastolic_mmhg=Fraction(75),
                heart_rate_bpm=Fraction(72),
                spo2_pct=Fraction(98),
                temperature_c=Fraction(368, 10),
                respiratory_rate_per_min=Fraction(14),
                consciousness=Consciousness.ALERT,
                supplemental_oxygen=False,
            ),
            wait,
        )

    @rule(back=st.integers(min_value=1, max_value=30))
    def clock_goes_back(self, back: int) -> None:
        """A reading older than the last entry is charted at its own time, never refused for
        being late (only for being before the check-in)."""
        before = self.service.get_version(self.session)
        last = self.service.get_state(self.session).last_at
        assert last is not None
        try:
            self.service.handle(
                self.session,
                cmd.RecordVitals(at=last - timedelta(minutes=back), spo2_pct=Fraction(97)),
            )
        except CommandRefused as refused:
            assert refused.rule == "before-check-in"  # noqa: PT017 - as above
            assert self.service.get_version(self.session) == before
        else:
            assert self.service.get_version(self.session) > before

    @invariant()
    def limits_hold(self) -> None:
        events = self.service.list_events(self.session)
        state = state_at(events, self.now + timedelta(hours=12))
        assert state.rate_ml_per_h <= Fraction(self.protocol.max_rate_ml_per_h.value)
        assert 0 <= state.volume_ml <= state.bag_volume_ml
        assert state.dose_delivered_mg == state.volume_ml * state.concentration_mg_per_ml
        assert state.dose_delivered_mg <= state.dose_mg

    @invariant()
    def replay_is_deterministic(self) -> None:
        """Folding the chart in clinical order gives the state, and so does a cold rebuild of
        the chart from the store (every entry decided again)."""
        chart = self.service.get_chart(self.session)
        assert replay(chart.events) == replay(chart.events) == chart.state
        rebuilt = fold(chart.entries, self.protocol, strict=True)
        assert rebuilt.state == chart.state


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
