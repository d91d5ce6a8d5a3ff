"""Deciding what a recorded infusion reaction does, per the protocol's reaction rule.

* ``reduce_rate`` (mild/moderate for the anti-CD20 protocols): the rate at onset is the running
  rate (or, while paused, the rate before the pause). The engine sets the rate *in the same
  decision* to the command's ``rate_ml_per_h`` if given (refused with ``reaction-rate`` above
  factor x onset) or else to exactly factor x onset, so the infusion never runs above the cap.
  No rate above the cap is allowed until the hold has run (in running minutes), then
  re-escalation follows ``re_escalation`` (see ``ReactionLimit``).
* ``interrupt`` (severe): the infusion is paused; resume needs ``ResolveReaction`` first when the
  rule says so, and at most factor x onset.
* ``stop``: the infusion is stopped and its delivered volume and dose recorded. With
  ``discontinue_therapy`` (life-threatening) the therapy is flagged contraindicated and only care
  and record-keeping commands are accepted afterwards.

A reaction recorded when no infusion is running (before the start, during observation) records
the facts and flags; a rule that requires resolution then blocks the start until it is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from msinfusion.catalog.ladder import as_fraction
from msinfusion.catalog.model import Protocol, ReactionAction, ReactionRule
from msinfusion.errors import CommandRefused
from msinfusion.monitoring.news2 import News2Band, score_news2
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.rules import RE_ESCALATION_INTERVAL_MIN, format_number
from msinfusion.session.state import SessionState, Status


@dataclass(frozen=True, slots=True, kw_only=True)
class _Onset:
    rate: Fraction | None
    cap: Fraction | None
    first_increase: Fraction | None


def _onset(state: SessionState, rule: ReactionRule) -> _Onset:
    if state.status is Status.INFUSING and not state.is_bag_empty:
        rate = state.rate_ml_per_h
    elif state.status is Status.PAUSED:
        rate = state.last_rate_ml_per_h
    else:
        return _Onset(rate=None, cap=None, first_increase=None)
    if rule.action is ReactionAction.STOP:
        return _Onset(rate=rate, cap=None, first_increase=None)
    factor = (
        Fraction(1)
        if rule.rate_factor_of_onset is None
        else as_fraction(rule.rate_factor_of_onset.value)
    )
    hold = Fraction(0) if rule.hold_min is None else as_fraction(rule.hold_min.value)
    return _Onset(
        rate=rate,
        cap=rate * factor,
        first_increase=state.running_min + max(hold, RE_ESCALATION_INTERVAL_MIN),
    )


def decide_reaction(
    state: SessionState, c: cmd.RecordReaction, protocol: Protocol
) -> tuple[ev.Event, ...]:
    rule = protocol.reaction_rule(c.severity)
    onset = _onset(state, rule)
    recorded = ev.ReactionRecorded(
        at=c.at,
        user=c.user,
        severity=c.severity.value,
        ctcae_grade=c.ctcae_grade,
        symptoms=c.symptoms,
        action=rule.action.value,
        onset_rate_ml_per_h=onset.rate,
        rate_cap_ml_per_h=onset.cap,
        first_increase_after_running_min=onset.first_increase,
        re_escalation=rule.re_escalation.value,
        re_escalation_increment_ml_per_h=(
            None
            if rule.re_escalation_increment_ml_per_h is None
            else as_fraction(rule.re_escalation_increment_ml_per_h.value)
        ),
        may_resume=rule.may_resume,
        requires_resolution=rule.resume_requires_resolution or rule.action is ReactionAction.STOP,
        discontinue_therapy=rule.discontinue_therapy,
        resume_requires_decision=rule.resume_requires_decision,
    )
    return (recorded, *_consequences(state, c, rule, onset))


def news2_problem(state: SessionState) -> str | None:
    """Why the vital signs do not yet clear a severe reaction (None: they do).

    The latest complete set (NEWS2 is never scored from a partial one) must be recorded after
    the latest severe or worse reaction and not score in the high band (>= 7).
    """
    reaction_at = state.severe_reaction_at
    if reaction_at is None:
        return None
    vitals = state.last_complete_vitals
    if vitals is None or vitals.measured_at < reaction_at:
        return (
            "record a complete set of vital signs (all NEWS2 parameters) since the severe "
            f"reaction at {reaction_at.isoformat()}"
        )
    score = score_news2(vitals)
    if score.band is News2Band.HIGH:
        return f"the latest vital signs score NEWS2 {score.total}, in the high band"
    return None


def require_news2_clear(state: SessionState, c: cmd.Command, doing: str) -> None:
    """``reaction-news2`` (soft): a physician's ``override_reason`` passes it."""
    problem = news2_problem(state)
    if problem is not None and c.override_reason is None:
        raise CommandRefused(
            "reaction-news2",
            f"{doing} after a severe reaction: {problem} (or a physician's authorisation)",
        )


def _consequences(
    state: SessionState, c: cmd.RecordReaction, rule: ReactionRule, onset: _Onset
) -> tuple[ev.Event, ...]:
    in_progress = state.status in (Status.INFUSING, Status.PAUSED)
    if rule.action is ReactionAction.STOP and in_progress:
        return (
            ev.InfusionStopped(
                at=c.at,
                user=c.user,
                reason=f"{c.severity.value} infusion reaction",
                volume_infused_ml=state.volume_ml,
                dose_delivered_mg=state.dose_delivered_mg,
                due_to_reaction=True,
            ),
        )
    if onset.rate is None or onset.cap is None or state.status is not Status.INFUSING:
        return ()
    if rule.action is ReactionAction.INTERRUPT:
        return (
            ev.InfusionPaused(at=c.at, user=c.user, reason=f"{c.severity.value} infusion reaction"),
        )
    new_rate = onset.cap if c.rate_ml_per_h is None else c.rate_ml_per_h
    if new_rate > onset.cap:
        raise CommandRefused(
            "reaction-rate",
            f"after a {c.severity.value} reaction the rate must be at most "
            f"{format_number(onset.cap)} mL/h ({format_number(onset.rate)} mL/h at onset)",
        )
    if new_rate == onset.rate:
        return ()
    return (
        ev.RateChanged(
            at=c.at,
            user=c.user,
            rate_ml_per_h=new_rate,
            previous_rate_ml_per_h=onset.rate,
            cause="reaction",
            override_reason=None,
        ),
    )
