"""Simulate a session in which the nurse follows every engine prompt, with scripted reactions.

Premedications are given in the middle of their windows, the drug starts at ``start``, every rate
step is taken the moment it is allowed (at the highest allowed rate), reactions happen at the
given minutes after the start (clock time), an interrupted infusion is resolved and resumed
``RESOLUTION_MIN`` later at the reaction's cap, the bag is completed when empty and the patient
discharged when observation ends. Manual re-escalation is never assumed: the rate stays capped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.ladder import as_fraction
from msinfusion.catalog.model import Protocol, Severity
from msinfusion.session import commands as cmd
from msinfusion.session.decide import decide
from msinfusion.session.due import next_rate_step
from msinfusion.session.events import Event
from msinfusion.session.evolve import evolve
from msinfusion.session.medication import premedication_choices
from msinfusion.session.queries import projected_end
from msinfusion.session.rules import required_premedications
from msinfusion.session.state import SessionState, Status, advance, as_timedelta

RESOLUTION_MIN = Fraction(30)
SIMULATION_USER = "simulation"
_MAX_STEPS = 1_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptedReaction:
    minute: Fraction
    severity: Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulation:
    commands: tuple[cmd.Command, ...]
    events: tuple[Event, ...]
    state: SessionState


class _Run:
    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.state = SessionState()
        self.commands: list[cmd.Command] = []
        self.events: list[Event] = []

    def do(self, command: cmd.Command) -> None:
        for event in decide(self.state, command, self.protocol):
            self.state = evolve(self.state, event)
            self.events.append(event)
        self.commands.append(command)


def _premedication_commands(
    protocol: Protocol, start: datetime, course_day: int | None
) -> list[cmd.Command]:
    given: list[cmd.Command] = []
    for premedication in required_premedications(protocol, course_day):
        window = premedication.window
        lead = Fraction(30)
        if window is not None:
            least = as_fraction(window.min_before_start_min.value)
            most = window.max_before_start_min
            lead = least if most is None else (least + as_fraction(most.value)) / 2
        choice = premedication_choices(premedication, shipped_formulary())[0]
        given.append(
            cmd.GivePremedication(
                at=start - as_timedelta(lead),
                user=SIMULATION_USER,
                drug=choice.drug,
                dose=choice.dose,
                route=choice.route,
                for_premedication=premedication.drug,
            )
        )
    return sorted(given, key=lambda c: c.at)


def simulate(
    protocol: Protocol,
    start: datetime,
    reactions: Sequence[ScriptedReaction] = (),
    *,
    dose_number: int | None = None,
    course_day: int | None = None,
    height_cm: Fraction | None = None,
    weight_kg: Fraction | None = None,
) -> Simulation:
    """Run the whole visit; raises ``CommandRefused`` if the engine refuses a prompted step."""
    run = _Run(protocol)
    premeds = _premedication_commands(protocol, start, course_day)
    check_in_at = min([start, *(c.at for c in premeds)]) - timedelta(minutes=15)
    number = dose_number or protocol.eligibility.min_dose_number
    run.do(
        cmd.CheckIn(
            at=check_in_at,
            user=SIMULATION_USER,
            patient_id="simulated",
            protocol_id=protocol.id,
            dose_number=number,
            course_day=course_day,
            height_cm=height_cm,
            weight_kg=weight_kg,
        )
    )
    run.do(
        cmd.RecordAssessment(
            at=check_in_at + timedelta(minutes=5), user=SIMULATION_USER, passed=True
        )
    )
    for premedication in premeds:
        run.do(premedication)
    first_rate = as_fraction(protocol.ladder.steps[0].rate_ml_per_h)
    run.do(cmd.StartInfusion(at=start, user=SIMULATION_USER, rate_ml_per_h=first_rate))
    pending = sorted(reactions, key=lambda r: r.minute)
    for _ in range(_MAX_STEPS):
        if run.state.status is Status.DISCHARGED:
            break
        _step(run, start, pending)
    return Simulation(commands=tuple(run.commands), events=tuple(run.events), state=run.state)


def _step(run: _Run, start: datetime, pending: list[ScriptedReaction]) -> None:
    state = run.state
    now = state.last_at or start
    reaction_at = start + as_timedelta(pending[0].minute) if pending else None
    candidates: list[tuple[datetime, cmd.Command]] = []
    if state.status is Status.INFUSING:
        candidates.extend(_infusing_candidates(run, now))
    elif (
        state.status is Status.PAUSED and state.resume_allowed and state.reaction_limit is not None
    ):
        at = now + as_timedelta(RESOLUTION_MIN) if state.resolution_required else now
        if state.resolution_required:
            candidates.append(
                (at, cmd.ResolveReaction(at=at, user=SIMULATION_USER, note="symptoms resolved"))
            )
        else:
            rate = state.reaction_limit.ceiling_ml_per_h
            candidates.append(
                (at, cmd.ResumeInfusion(at=at, user=SIMULATION_USER, rate_ml_per_h=rate))
            )
    elif state.status is Status.OBSERVATION and state.observation_end is not None:
        at = max(now, state.observation_end)
        candidates.append((at, cmd.Discharge(at=at, user=SIMULATION_USER)))
    if reaction_at is not None and (not candidates or reaction_at <= min(c[0] for c in candidates)):
        reaction = pending.pop(0)
        at = max(now, reaction_at)
        run.do(
            cmd.RecordReaction(
                at=at, user=SIMULATION_USER, severity=reaction.severity, symptoms=("simulated",)
            )
        )
        return
    if not candidates:
        stop = cmd.StopInfusion(at=now, user=SIMULATION_USER, reason="simulation cannot continue")
        run.do(
            stop if state.status is Status.PAUSED else cmd.Discharge(at=now, user=SIMULATION_USER)
        )
        return
    run.do(min(candidates, key=lambda c: c[0])[1])


def _infusing_candidates(run: _Run, now: datetime) -> list[tuple[datetime, cmd.Command]]:
    state = run.state
    end = projected_end(state)
    candidates: list[tuple[datetime, cmd.Command]] = []
    if end is not None:
        candidates.append((end, cmd.CompleteInfusion(at=max(end, now), user=SIMULATION_USER)))
    step = next_rate_step(state, run.protocol)
    if step is not None:
        at = max(now, now + as_timedelta(step.running_min - state.running_min))
        # the rate allowed once the step's running minute is reached
        future = advance(state, at)
        rate = next_rate_step(future, run.protocol)
        if rate is not None and (end is None or at < end):
            candidates.append(
                (at, cmd.ChangeRate(at=at, user=SIMULATION_USER, rate_ml_per_h=rate.rate_ml_per_h))
            )
    return candidates
