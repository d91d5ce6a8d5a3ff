"""IV methylprednisolone 1000 mg against the dossier's hand-worked arithmetic (dossier 4.1, 4.2)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from msinfusion.catalog import Protocol, ReactionAction, ReEscalation, Severity, Therapy, run_ladder
from msinfusion.catalog.model import Mechanism, RateStep
from msinfusion.planning import plan_infusion
from tests.catalog_walk import (
    assert_every_cited_value_has_an_http_source,
    at,
    cited_values,
    run_bag,
)

PROTOCOL_ID = "methylprednisolone-1000"
THERAPY_ID = "methylprednisolone"


def test_250_ml_at_250_ml_per_h_takes_exactly_60_minutes(protocol: Protocol) -> None:
    (segment,) = run_bag(protocol)
    assert (segment.start_min, segment.end_min) == (0, 60)
    assert segment.rate_ml_per_h == 250
    assert segment.cumulative_volume_ml == 250
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 60


def test_maximum_rate_gives_the_30_minute_label_minimum(protocol: Protocol) -> None:
    assert protocol.max_rate_ml_per_h.value == 500
    (fastest,) = run_ladder(
        (RateStep(start_min=0, rate_ml_per_h=protocol.max_rate_ml_per_h.value),),
        protocol.bag_volume_ml.value,
    )
    assert fastest.end_min == 30  # >= 30 min for doses > 250 mg
    # 1000 mg over 30 min is far from the > 0.5 g in < 10 min of the arrhythmia reports.
    assert fastest.end_min > 10


def test_dose_and_bag(protocol: Protocol) -> None:
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == 1000
    assert protocol.bag_volume_ml.value == 250
    assert Fraction(1000, 250) == 4  # mg/mL in the bag
    assert protocol.concentrate_volume_ml is not None
    # 1 g reconstituted at 62.5 mg/mL = 16 mL; in the 250 mL bag that is 266 mL (266 mL/h).
    assert Fraction(1000) / Fraction(625, 10) == protocol.concentrate_volume_ml.value == 16
    assert protocol.bag_volume_ml.value + protocol.concentrate_volume_ml.value == 266


def test_no_premedication_and_no_mandated_observation(protocol: Protocol) -> None:
    assert protocol.premedications == ()
    rule = protocol.observation_rule(1)
    assert rule is protocol.observation_rule(5)
    assert rule.observation_min.value == 0
    assert rule.observation_min.note is not None


def test_reactions_follow_the_unverified_ctcae_fallback(protocol: Protocol) -> None:
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.INTERRUPT
        assert rule.may_resume
        assert rule.rate_factor_of_onset is not None
        assert rule.rate_factor_of_onset.value == Fraction(1, 2)
        assert rule.rate_factor_of_onset.verified is False
        assert rule.re_escalation is ReEscalation.MANUAL
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.STOP
    assert not severe.discontinue_therapy
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert not fatal.may_resume
    assert fatal.discontinue_therapy
    assert all(rule.verified is False for rule in protocol.reaction_rules)


def test_eligibility(protocol: Protocol) -> None:
    eligibility = protocol.eligibility
    assert eligibility.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    assert (
        eligibility.reasons_ineligible(dose_number=4, worst_prior_reaction=Severity.MODERATE) == ()
    )
    (reason,) = eligibility.reasons_ineligible(
        dose_number=2, worst_prior_reaction=Severity.LIFE_THREATENING
    )
    assert "life-threatening" in reason


def test_schedule_once_daily_for_3_or_5_days(therapy: Therapy) -> None:
    three, five = therapy.schedule
    assert (three.infusions, three.consecutive_days) == (3, True)
    assert (five.infusions, five.consecutive_days) == (5, True)
    assert three.protocol_ids == five.protocol_ids == (PROTOCOL_ID,)
    assert three.note is not None
    assert "P1" in three.note
    # 1000 mg x 3 days = 3 g; x 5 days = 5 g.
    assert three.infusions * 1000 == 3000
    assert five.infusions * 1000 == 5000


def test_therapy_identity(therapy: Therapy) -> None:
    assert therapy.mechanism is Mechanism.GLUCOCORTICOID
    assert therapy.indications == ("MS relapse",)
    codes = {code.system: code.value for code in therapy.codes}
    assert codes["ATC"] == "H02AB04"


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    assert len(cited) >= 8  # dose, bag, concentrate, rate, duration, observation, factors
    assert_every_cited_value_has_an_http_source(therapy)


def test_plan_in_clock_time(protocol: Protocol) -> None:
    plan = plan_infusion(protocol, at(9, 0), dose_number=1, course_day=1)
    assert plan.dose_mg == 1000
    assert plan.concentration_mg_per_ml == 4
    assert [(s.start, s.end, s.rate_ml_per_h, s.cumulative_dose_mg) for s in plan.steps] == [
        (at(9, 0), at(10, 0), 250, 1000),
    ]
    assert plan.premedications == ()
    assert plan.chair_start == at(9, 0)
    assert plan.infusion_end == at(10, 0)
    assert plan.observation_end == at(10, 0)
    assert plan.chair_time == timedelta(minutes=60)
