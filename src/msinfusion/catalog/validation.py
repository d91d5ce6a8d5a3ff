"""Clinical cross-checks of a protocol, run by the loader on every file.

Each check returns ``(field, reason)`` pairs so that a pharmacist editing a file sees every
problem at once, each naming the field and saying what is wrong in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from msinfusion.catalog.ladder import ladder_duration_min, run_ladder
from msinfusion.catalog.model import (
    PlanningTraits,
    Protocol,
    ReactionAction,
    ReactionRule,
    ReEscalation,
    Severity,
    Therapy,
)

Problem = tuple[str, str]

# A computed duration may differ from the dossier's hand-worked one by rounding only
# (the dossier quotes one decimal place, e.g. 158.3 min for 158.333...).
_DURATION_TOLERANCE_MIN = Fraction(1, 10)
# The label's stated concentration is approximate ("about 1.2 mg/mL", "2.6 mg/mL").
_CONCENTRATION_TOLERANCE = Fraction(5, 100)


def check_therapy(therapy: Therapy) -> list[Problem]:
    problems: list[Problem] = []
    protocol_ids = {p.id for p in therapy.protocols}
    if len(protocol_ids) != len(therapy.protocols):
        problems.append(("protocols", "protocol ids must be unique within a therapy"))
    for i, entry in enumerate(therapy.schedule):
        for pid in entry.protocol_ids:
            if pid not in protocol_ids:
                problems.append(
                    (f"schedule[{i}].protocol_ids", f"unknown protocol id '{pid}' in this therapy")
                )
    for protocol in therapy.protocols:
        problems.extend(check_protocol(protocol))
    if therapy.off_label_in_ms and not therapy.off_label_note:
        problems.append(("off_label_note", "an off-label therapy must say why it is used"))
    jurisdictions = [limit.jurisdiction for limit in therapy.cumulative_limits]
    if len(set(jurisdictions)) != len(jurisdictions):
        problems.append(("cumulative_limits", "one limit per jurisdiction"))
    if therapy.planning is not None:
        problems.extend(_check_planning(therapy, therapy.planning))
    return problems


def _check_planning(therapy: Therapy, traits: PlanningTraits) -> Iterator[Problem]:
    kind = traits.course_kind
    if kind.open_ended and traits.listed_doses is None:
        yield ("planning.listed_doses", f"course kind '{kind.value}' is open-ended: give a horizon")
    if not kind.open_ended and traits.listed_doses is not None:
        yield ("planning.listed_doses", f"course kind '{kind.value}' has no display horizon")
    seen: set[str] = set()
    for i, gate_id in enumerate(traits.gate_ids):
        if gate_id in seen:
            yield (f"planning.gates[{i}]", f"gate '{gate_id}' is listed twice")
        seen.add(gate_id)
    yield from _check_monitoring(traits)
    yield from _check_cumulative_dose(therapy, traits)


def _check_monitoring(traits: PlanningTraits) -> Iterator[Problem]:
    if traits.monitoring is None:
        return
    plan = traits.monitoring.plan
    given = [name for name, _ in traits.monitoring.intervals]
    for name in plan.interval_names:
        if name not in given:
            yield (
                f"planning.monitoring.intervals.{name}",
                f"required by monitoring plan '{plan.value}' (cite it)",
            )
    for name in given:
        if name not in plan.interval_names:
            yield (
                f"planning.monitoring.intervals.{name}",
                f"not read by monitoring plan '{plan.value}'; known: "
                + (", ".join(plan.interval_names) or "none"),
            )


def _check_cumulative_dose(therapy: Therapy, traits: PlanningTraits) -> Iterator[Problem]:
    if traits.cumulative_dose is None:
        return
    field = "planning.cumulative_dose"
    pid = traits.cumulative_dose.protocol_id
    protocol = next((p for p in therapy.protocols if p.id == pid), None)
    if protocol is None:
        yield (f"{field}.protocol_id", f"unknown protocol id '{pid}' in this therapy")
    elif not protocol.dose.is_bsa_based:
        yield (f"{field}.protocol_id", f"protocol '{pid}' is not dosed in mg/m2")
    if not therapy.cumulative_limits:
        yield (field, "a cumulative-dose projection needs cumulative_limits")


def check_protocol(protocol: Protocol) -> list[Problem]:
    prefix = f"protocols[{protocol.id}]"
    return [
        (f"{prefix}.{field}", reason)
        for field, reason in (
            *_check_dose(protocol),
            *_check_ladder(protocol),
            *_check_premedications(protocol),
            *_check_observation(protocol),
            *_check_reaction_rules(protocol),
            *_check_eligibility(protocol),
        )
    ]


def _check_dose(protocol: Protocol) -> Iterator[Problem]:
    dose = protocol.dose
    if (dose.mg is None) == (dose.mg_per_m2 is None):
        yield ("dose", "give exactly one of mg (fixed dose) or mg_per_m2 (BSA-based dose)")
        return
    stated = protocol.concentration_mg_per_ml
    if stated is not None and dose.mg is not None:
        computed = Fraction(dose.mg.value) / Fraction(protocol.bag_volume_ml.value)
        expected = Fraction(stated.value)
        if abs(computed - expected) > expected * _CONCENTRATION_TOLERANCE:
            yield (
                "concentration_mg_per_ml",
                f"dose/bag gives {float(computed):.3f} mg/mL, not the stated {stated.value} mg/mL",
            )


def _check_ladder(protocol: Protocol) -> Iterator[Problem]:
    steps = protocol.ladder.steps
    max_rate = protocol.max_rate_ml_per_h.value
    well_ordered = steps[0].start_min == 0
    if not well_ordered:
        yield (
            "ladder.steps[0]",
            f"the first step must start at minute 0, not {steps[0].start_min}",
        )
    for i, (before, after) in enumerate(pairwise(steps), start=1):
        if after.start_min <= before.start_min:
            well_ordered = False
            yield (
                f"ladder.steps[{i}]",
                f"starts at minute {after.start_min}, not after the previous step "
                f"(minute {before.start_min})",
            )
    for i, step in enumerate(steps):
        if step.rate_ml_per_h > max_rate:
            yield (
                f"ladder.steps[{i}]",
                f"rate {step.rate_ml_per_h} mL/h exceeds max_rate_ml_per_h {max_rate}",
            )
    if not well_ordered:
        return
    segments = run_ladder(steps, protocol.bag_volume_ml.value)
    if len(segments) < len(steps):
        first_unreached = len(segments)
        yield (
            f"ladder.steps[{first_unreached}]",
            f"the {protocol.bag_volume_ml.value} mL bag is empty at minute "
            f"{float(segments[-1].end_min):.1f}, before this step starts "
            f"(minute {steps[first_unreached].start_min}): the step volumes cannot match the bag",
        )
    expected = protocol.expected_duration_min
    if expected is not None:
        computed = ladder_duration_min(steps, protocol.bag_volume_ml.value)
        if abs(computed - Fraction(expected.value)) > _DURATION_TOLERANCE_MIN:
            yield (
                "expected_duration_min",
                f"the ladder empties the bag at minute {float(computed):.2f}, "
                f"not at the stated {expected.value}",
            )


def _check_premedications(protocol: Protocol) -> Iterator[Problem]:
    for i, premed in enumerate(protocol.premedications):
        window = premed.window
        if window is None:
            continue
        low = window.min_before_start_min.value
        high = None if window.max_before_start_min is None else window.max_before_start_min.value
        if high is not None and low > high:
            yield (
                f"premedications[{i}].window",
                f"min_before_start_min {low} is greater than max_before_start_min {high}",
            )
        if window.approximate and window.tolerance_min is None:
            yield (
                f"premedications[{i}].window.tolerance_min",
                "an approximate window needs a tolerance (cited, or marked unverified)",
            )


def _check_observation(protocol: Protocol) -> Iterator[Problem]:
    rules = sorted(protocol.observation, key=lambda r: r.from_dose_number)
    expected_from = 1
    for i, rule in enumerate(rules):
        field = f"observation[{i}]"
        if rule.from_dose_number != expected_from:
            yield (
                field,
                f"dose numbers must be covered without gap or overlap: expected from "
                f"{expected_from}, found {rule.from_dose_number}",
            )
        if rule.to_dose_number is None:
            if i != len(rules) - 1:
                yield (field, "only the last observation rule may be open-ended")
            return
        if rule.to_dose_number < rule.from_dose_number:
            yield (field, "to_dose_number is before from_dose_number")
        expected_from = rule.to_dose_number + 1
    yield ("observation", "the last observation rule must be open-ended (no to_dose_number)")


def _check_reaction_rules(protocol: Protocol) -> Iterator[Problem]:
    seen = [rule.severity for rule in protocol.reaction_rules]
    for severity in Severity:
        if seen.count(severity) != 1:
            yield ("reaction_rules", f"exactly one rule for '{severity.value}' is required")
    for rule in protocol.reaction_rules:
        yield from _check_reaction_rule(rule, protocol.max_rate_ml_per_h.value)


def _check_reaction_rule(rule: ReactionRule, max_rate: Decimal) -> Iterator[Problem]:
    field = f"reaction_rules[{rule.severity.value}]"
    factor = rule.rate_factor_of_onset
    if factor is not None and factor.value > 1:
        yield (f"{field}.rate_factor_of_onset", "must be at most 1 (a fraction of the onset rate)")
    if rule.action is ReactionAction.REDUCE_RATE:
        if factor is None:
            yield (f"{field}.rate_factor_of_onset", "reduce_rate needs a rate factor")
        if rule.hold_min is None:
            yield (f"{field}.hold_min", "reduce_rate needs a minimum hold time")
    if rule.action is ReactionAction.STOP and rule.may_resume:
        yield (f"{field}.may_resume", "a stopped infusion cannot resume; use 'interrupt'")
    resumes_without_rate = (
        rule.action is ReactionAction.INTERRUPT and rule.may_resume and factor is None
    )
    if resumes_without_rate and rule.re_escalation is not ReEscalation.MANUAL:
        yield (
            f"{field}.rate_factor_of_onset",
            "an interrupted infusion that resumes needs a rate factor or manual re-escalation",
        )
    if rule.severity is Severity.LIFE_THREATENING and (
        rule.action is not ReactionAction.STOP or not rule.discontinue_therapy
    ):
        yield (field, "a life-threatening reaction must stop the infusion and discontinue therapy")
    increment = rule.re_escalation_increment_ml_per_h
    if increment is not None and increment.value > max_rate:
        yield (f"{field}.re_escalation_increment_ml_per_h", "increment exceeds the maximum rate")


def _check_eligibility(protocol: Protocol) -> Iterator[Problem]:
    rule = protocol.eligibility
    if rule.max_dose_number is not None and rule.max_dose_number < rule.min_dose_number:
        yield ("eligibility", "max_dose_number is below min_dose_number")
