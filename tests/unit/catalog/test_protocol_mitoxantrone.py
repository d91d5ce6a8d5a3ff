"""Mitoxantrone 12 mg/m2 against the dossier's hand-worked arithmetic (dossier 3.1, 3.2)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from msinfusion.catalog import Protocol, ReactionAction, ReEscalation, Severity, Therapy, run_ladder
from msinfusion.catalog.model import IntervalUnit, Mechanism, RateStep
from msinfusion.errors import MissingMeasurement
from msinfusion.planning import plan_infusion
from tests.catalog_walk import (
    assert_every_cited_value_has_an_http_source,
    at,
    cited_values,
    run_bag,
)

PROTOCOL_ID = "mitoxantrone-12-per-m2"
THERAPY_ID = "mitoxantrone"


def test_50_ml_at_200_ml_per_h_takes_exactly_15_minutes(protocol: Protocol) -> None:
    (segment,) = run_bag(protocol)
    assert (segment.start_min, segment.end_min) == (0, 15)
    assert segment.rate_ml_per_h == 200
    assert segment.cumulative_volume_ml == 50
    assert protocol.bag_volume_ml.value == 50  # minimum final volume
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 15


def test_maximum_rate_is_the_5_minute_label_minimum(protocol: Protocol) -> None:
    # 50 mL over 5 min = 600 mL/h; the 3-min hard floor would be 1000 mL/h and is never allowed.
    assert protocol.max_rate_ml_per_h.value == 600
    fastest = run_ladder(
        (RateStep(start_min=0, rate_ml_per_h=protocol.max_rate_ml_per_h.value),),
        protocol.bag_volume_ml.value,
    )
    assert fastest[-1].end_min == 5
    assert Fraction(50) / 3 * 60 == 1000
    assert protocol.max_rate_ml_per_h.value < 1000
    assert protocol.max_rate_ml_per_h.note is not None
    assert "M4" in protocol.max_rate_ml_per_h.note
    # The slower 30-min practice option is 100 mL/h.
    slow = run_ladder((RateStep(start_min=0, rate_ml_per_h=100),), protocol.bag_volume_ml.value)
    assert slow[-1].end_min == 30


def test_dose_is_bsa_based(protocol: Protocol) -> None:
    assert protocol.dose.is_bsa_based
    assert protocol.dose.mg is None
    assert protocol.dose.mg_per_m2 is not None
    assert protocol.dose.mg_per_m2.value == 12
    # Example: 1.8 m2 x 12 mg/m2 = 21.6 mg = 10.8 mL of the 2 mg/mL concentrate.
    dose = Fraction(18, 10) * Fraction(protocol.dose.mg_per_m2.value)
    assert dose == Fraction(216, 10)
    assert dose / 2 == Fraction(108, 10)


def test_cumulative_limits_us_140_and_eu_72(therapy: Therapy) -> None:
    limits = {limit.jurisdiction: limit.mg_per_m2 for limit in therapy.cumulative_limits}
    assert set(limits) == {"US", "EU"}
    us = limits["US"].value
    eu = limits["EU"].value
    assert us == 140
    assert eu == 72
    per_dose = 12
    assert 11 * per_dose == 132
    assert 11 * per_dose <= us
    assert 12 * per_dose == 144
    assert 12 * per_dose > us  # a 12th full dose breaks the US limit
    assert 6 * per_dose == eu  # the 6th dose reaches the EU limit exactly
    assert 7 * per_dose > eu
    assert us // per_dose == 11
    assert eu // per_dose == 6
    for limit in limits.values():
        assert limit.note is not None
        assert "M1" in limit.note


def test_schedule_every_3_months(therapy: Therapy) -> None:
    (entry,) = therapy.schedule
    assert entry.protocol_ids == (PROTOCOL_ID,)
    assert entry.repeat_every is not None
    assert (entry.repeat_every.value, entry.repeat_every.unit) == (3, IntervalUnit.MONTH)
    assert entry.note is not None
    assert "1-3 months" in entry.note
    assert "M2" in entry.note


def test_no_observation_stated_and_no_premedication(protocol: Protocol) -> None:
    rule = protocol.observation_rule(1)
    assert rule is protocol.observation_rule(11)
    assert rule.observation_min.value == 0
    assert rule.observation_min.note is not None
    assert "none stated in label" in rule.observation_min.note.lower()
    assert protocol.premedications == ()


def test_reactions_follow_the_unverified_ctcae_fallback(protocol: Protocol) -> None:
    mild = protocol.reaction_rule(Severity.MILD)
    moderate = protocol.reaction_rule(Severity.MODERATE)
    for rule in (mild, moderate):
        assert rule.action is ReactionAction.INTERRUPT
        assert rule.may_resume
        assert rule.rate_factor_of_onset is not None
        assert rule.rate_factor_of_onset.value == Fraction(1, 2)
        assert rule.re_escalation is ReEscalation.MANUAL
    assert moderate.resume_requires_resolution
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.STOP
    assert not severe.may_resume
    assert not severe.discontinue_therapy  # "per label", and the label gives none
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert fatal.discontinue_therapy
    assert all(rule.verified is False for rule in protocol.reaction_rules)


def test_eligibility(protocol: Protocol) -> None:
    eligibility = protocol.eligibility
    assert eligibility.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    assert eligibility.reasons_ineligible(dose_number=3, worst_prior_reaction=Severity.SEVERE) == ()
    assert eligibility.reasons_ineligible(
        dose_number=3, worst_prior_reaction=Severity.LIFE_THREATENING
    )


def test_mechanism(therapy: Therapy) -> None:
    assert therapy.mechanism is Mechanism.TOPOISOMERASE_II_INHIBITION
    assert not therapy.off_label_in_ms


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    assert len(cited) >= 9  # dose, bag, rate, duration, observation, factors, 2 limits
    assert_every_cited_value_has_an_http_source(therapy)


def test_plan_with_mosteller_bsa_of_1_8_m2(protocol: Protocol) -> None:
    # sqrt(162 cm x 72 kg / 3600) = sqrt(3.24) = 1.8 m2 -> 21.6 mg in 50 mL (0.432 mg/mL).
    plan = plan_infusion(protocol, at(9, 0), dose_number=1, height_cm=162, weight_kg=72)
    assert plan.body_surface_area_m2 == Fraction(9, 5)
    assert plan.dose_mg == Fraction(108, 5)
    assert plan.concentration_mg_per_ml == Fraction(54, 125)
    assert [(s.start, s.end, s.rate_ml_per_h, s.cumulative_dose_mg) for s in plan.steps] == [
        (at(9, 0), at(9, 15), 200, Fraction(108, 5)),
    ]
    assert plan.premedications == ()
    assert plan.infusion_end == at(9, 15)
    assert plan.observation_end == at(9, 15)  # no observation stated
    assert plan.chair_time == timedelta(minutes=15)


def test_plan_refuses_without_height_and_weight(protocol: Protocol) -> None:
    with pytest.raises(MissingMeasurement):
        plan_infusion(protocol, at(9, 0), dose_number=1)
