"""Every rule the session engine refuses a command by: its name, hard or soft, who may pass it.

A refusal (``CommandRefused``) names one of these rules. A *hard* rule is never passed: no
role and no reason lifts it. A *reason* rule (``late-reason``) is passed by the entry's own
``late_reason``. A *soft* rule is passed by a command that carries an
``override_reason`` from a user allowed the ``override_soft_limit`` action (physicians, in the
permission matrix); the event records the reason and the user. Screens show the rule and, for a
soft one, offer the reason field; the engine decides again when the command is sent.

>>> RULES["premedication-window"].overridable
True
>>> RULES["max-rate"].overridable
False
>>> sorted(r.name for r in soft_rules())
['premedication-window', 're-escalation-manual', 'reaction-news2']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class RuleKind(Enum):
    HARD = "hard"
    SOFT = "soft"
    REASON = "reason"
    """Passed by the entry's own ``late_reason``, from whoever charts it (no override)."""


OVERRIDE_ACTION = "override_soft_limit"
"""The permission-matrix action that passes a soft rule (with an ``override_reason``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    name: str
    kind: RuleKind
    summary: str

    @property
    def overridable(self) -> bool:
        return self.kind is RuleKind.SOFT

    @property
    def override_action(self) -> str | None:
        """The action a user needs to pass this rule (None: nobody may)."""
        return OVERRIDE_ACTION if self.overridable else None


def _hard(name: str, summary: str) -> Rule:
    return Rule(name=name, kind=RuleKind.HARD, summary=summary)


def _soft(name: str, summary: str) -> Rule:
    return Rule(name=name, kind=RuleKind.SOFT, summary=summary)


_RULES = (
    _hard("clock-future", "an entry may not be more than the tolerance ahead of its recording"),
    _hard("charting-window", "an entry may not be charted further back than the centre allows"),
    Rule(
        name="late-reason",
        kind=RuleKind.REASON,
        summary="an entry charted past the late threshold needs a late_reason",
    ),
    _hard("before-check-in", "only a premedication within its window may precede the check-in"),
    _hard("late-entry-conflict", "a late entry may not contradict an entry recorded after it"),
    _hard("discharged", "nothing is recorded after discharge"),
    _hard("not-checked-in", "the patient must be checked in first"),
    _hard("already-checked-in", "a session has one check-in"),
    _hard("protocol-unknown", "the protocol is not in the catalog"),
    _hard("protocol-eligibility", "the protocol does not apply to this dose or patient"),
    _hard("therapy-discontinued", "after a life-threatening reaction the therapy is stopped"),
    _hard("assessment-missing", "the pre-infusion assessment must be recorded before the start"),
    _hard("assessment-failed", "a failed pre-infusion check blocks the start"),
    _soft(
        "premedication-window",
        "each required premedication is given within its window (else a physician authorises)",
    ),
    _hard("medication-dose", "a medication dose is a number with a unit (mg, g, microgram)"),
    _hard("medication-route", "a medication route is IV, PO, IM or SC, and one the drug takes"),
    _hard(
        "medication-dose-implausible",
        "never above the formulary's cited largest single dose (a unit slip)",
    ),
    _hard(
        "premedication-mismatch",
        "only the protocol's drug, dose and route count as its premedication",
    ),
    _hard("infusion-already-started", "an infusion starts once"),
    _hard("infusion-not-running", "the rate changes only while the infusion runs"),
    _hard("infusion-not-paused", "only a paused infusion resumes"),
    _hard("infusion-running", "pause or end the infusion first"),
    _hard("max-rate", "never above the protocol's maximum rate"),
    _hard("ladder-step", "never above the ladder step reached by the running time"),
    _hard("reaction-rate", "after a reaction the rate is at most the rule's factor of onset"),
    _hard("reaction-hold", "the reduced rate is held for the rule's time"),
    _hard("re-escalation-interval", "step back up only after the rule's interval"),
    _hard("re-escalation-increment", "step back up by at most the rule's increment"),
    _soft("re-escalation-manual", "after this reaction any increase needs a physician"),
    _hard("re-escalation-none", "after this reaction the rate may not be raised"),
    _hard("reaction-unresolved", "resume only after the reaction is resolved"),
    _soft(
        "reaction-news2",
        "after a severe reaction, resolve and resume only on vital signs since it that are "
        "complete and below NEWS2's high band",
    ),
    Rule(
        name="reaction-resume-decision",
        kind=RuleKind.REASON,
        summary="where the label gives no resume rule, resuming records the clinician's "
        "decision (decision_note)",
    ),
    _hard("reaction-no-resume", "after this reaction the protocol forbids resuming"),
    _hard("no-open-reaction", "there is no reaction to resolve"),
    _hard("bag-empty", "the bag is empty"),
    _hard("bag-not-empty", "completion needs the bag empty within tolerance"),
    _hard("observation", "discharge only after the post-infusion observation"),
    _hard("correction-target", "a correction names an existing entry"),
    _hard("alert-unknown", "the alert does not exist in this session"),
    _hard("alert-already-acknowledged", "an alert is acknowledged once"),
    # Checked by the service layer against the stored record, in the command's transaction:
    _hard("appointment-mismatch", "a check-in is for the appointment's patient, protocol, dose"),
    _hard("order-missing", "an infusion starts only under an active physician's order"),
    _hard(
        "bag-not-verified",
        "a dose the pharmacy handles starts only from a bag prepared and second-checked there",
    ),
    _hard("bag-mismatch", "the bag scanned at the start is the dose's verified preparation"),
    _hard(
        "patient-identification",
        "a check-in confirms the patient by name and date of birth, an MRN or the wristband",
    ),
    Rule(
        name="allergy-warning",
        kind=RuleKind.REASON,
        summary="a medication matching a recorded allergy needs allergy_acknowledged",
    ),
    _hard("verbal-order-cosign", "only the named physician co-signs a verbal order, once"),
    _hard(
        "therapy-contraindicated",
        "never book, check in or start a therapy the patient's history contraindicates",
    ),
)

RULES: dict[str, Rule] = {rule.name: rule for rule in _RULES}
"""Every refusal rule of the engine by name (a test checks the engine raises no other)."""


def soft_rules() -> tuple[Rule, ...]:
    return tuple(rule for rule in _RULES if rule.overridable)
