"""Alemtuzumab 12 mg against the dossier's hand-worked arithmetic (dossier sections 2.1, 2.2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from msinfusion.catalog import Protocol, ReactionAction, ReEscalation, Severity, Therapy
from msinfusion.catalog.model import IntervalUnit, Mechanism
from msinfusion.planning import plan_infusion
from tests.catalog_walk import (
    assert_every_cited_value_has_an_http_source,
    at,
    cited_values,
    run_bag,
    window_bounds,
)

PROTOCOL_ID = "alemtuzumab-12"
THERAPY_ID = "alemtuzumab"


def test_101_2_ml_at_25_3_ml_per_h_takes_exactly_240_minutes(protocol: Protocol) -> None:
    # 100 mL + 1.2 mL concentrate = 101.2 mL; 101.2 / 25.3 = 4 h exactly.
    (segment,) = run_bag(protocol)
    assert (segment.start_min, segment.end_min) == (0, 240)
    assert segment.rate_ml_per_h == Fraction(253, 10)
    assert segment.cumulative_volume_ml == Fraction(1012, 10)
    assert protocol.bag_volume_ml.value == Decimal("101.2")
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 240
    assert protocol.max_rate_ml_per_h.value == Decimal("25.3")  # may be slowed, never faster


def test_dose_concentration_and_dose_rate(protocol: Protocol) -> None:
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == 12
    assert protocol.concentrate_volume_ml is not None
    assert protocol.concentrate_volume_ml.value == Decimal("1.2")  # 10 mg/mL vial
    assert protocol.diluent_volume_ml is not None
    assert protocol.diluent_volume_ml.value == 100
    # 12 mg over 4 h = 3 mg/h; 12 / 101.2 = 0.1186 mg/mL (label rounding 0.119).
    assert Fraction(12) / 4 == 3
    assert round(float(Fraction(12) / Fraction(1012, 10)), 4) == 0.1186
    assert protocol.concentration_mg_per_ml is not None
    assert protocol.concentration_mg_per_ml.value == Decimal("0.119")


def test_methylprednisolone_is_required_on_course_days_1_to_3_only(protocol: Protocol) -> None:
    steroid, antihistamine, antipyretic = protocol.premedications
    assert steroid.drug == "methylprednisolone"
    assert steroid.dose == "1000 mg"
    assert steroid.route == "IV"
    assert steroid.required
    assert steroid.applies_to_course_days == (1, 2, 3)
    assert 4 not in steroid.applies_to_course_days
    assert steroid.window is not None
    assert window_bounds(steroid.window) == (0, 60)
    assert steroid.window.approximate
    assert steroid.window.tolerance_min is not None
    assert steroid.window.tolerance_min.verified is False  # no source states a tolerance
    for optional in (antihistamine, antipyretic):
        assert not optional.required
        assert optional.window is None
        assert optional.applies_to_course_days is None


def test_observation_is_120_minutes_after_every_infusion(protocol: Protocol) -> None:
    for dose_number in (1, 5, 6, 8, 14):
        assert protocol.observation_rule(dose_number).observation_min.value == 120
    assert protocol.observation_rule(1).observation_min.note is not None


def test_reactions_have_no_label_ladder(protocol: Protocol) -> None:
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.INTERRUPT
        assert rule.may_resume
        assert rule.re_escalation is ReEscalation.MANUAL
        assert rule.rate_factor_of_onset is None  # no published factor
        assert rule.hold_min is None
        assert not rule.discontinue_therapy
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.STOP
    assert not severe.may_resume
    assert not severe.discontinue_therapy  # no re-challenge rule: prescriber decides
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert not fatal.may_resume
    assert fatal.discontinue_therapy


def test_eligibility(protocol: Protocol) -> None:
    eligibility = protocol.eligibility
    assert eligibility.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    assert eligibility.reasons_ineligible(dose_number=8, worst_prior_reaction=Severity.SEVERE) == ()
    (reason,) = eligibility.reasons_ineligible(
        dose_number=6, worst_prior_reaction=Severity.LIFE_THREATENING
    )
    assert "prior life-threatening reaction" in reason


def test_courses_5_then_3_days_and_at_most_2_further_courses(therapy: Therapy) -> None:
    course_1, course_2, further = therapy.schedule
    assert (course_1.infusions, course_1.consecutive_days) == (5, True)
    assert (course_2.infusions, course_2.consecutive_days) == (3, True)
    assert course_2.first_due_after is not None
    assert (course_2.first_due_after.value, course_2.first_due_after.unit) == (
        12,
        IntervalUnit.MONTH,
    )
    assert (further.infusions, further.consecutive_days) == (3, True)
    assert further.first_due_after is not None
    assert (further.first_due_after.value, further.first_due_after.unit) == (
        12,
        IntervalUnit.MONTH,
    )
    assert further.max_repeats == 2
    assert further.note is not None
    assert "A5" in further.note
    # 60 mg in course 1, 36 mg in course 2; EU maximum 5 + 3 + 2 x 3 = 14 infusions (168 mg).
    assert course_1.infusions * 12 == 60
    assert course_2.infusions * 12 == 36
    eu_total = course_1.infusions + course_2.infusions + further.max_repeats * further.infusions
    assert eu_total == 14
    assert all(entry.protocol_ids == (PROTOCOL_ID,) for entry in therapy.schedule)


def test_codes_and_indications(therapy: Therapy) -> None:
    codes = {code.system: code for code in therapy.codes}
    assert codes["ATC"].value == "L04AG06"
    assert codes["ATC-previous"].value == "L04AA34"
    assert codes["SNOMED-CT"].value == "129472003"
    assert codes["SNOMED-CT"].verified is False
    assert codes["RxNorm"].verified is False
    assert therapy.mechanism is Mechanism.ANTI_CD52_LYMPHOCYTE_DEPLETION
    assert any("EU" in indication for indication in therapy.indications)
    assert any("US" in indication for indication in therapy.indications)


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    assert len(cited) >= 11  # dose, volumes, rates, duration, steroid window, observation
    assert_every_cited_value_has_an_http_source(therapy)


def test_plan_on_course_day_1_includes_the_steroid_window(protocol: Protocol) -> None:
    plan = plan_infusion(protocol, at(9, 0), dose_number=1, course_day=1)
    assert plan.dose_mg == 12
    assert [(s.start, s.end, s.rate_ml_per_h, s.cumulative_dose_mg) for s in plan.steps] == [
        (at(9, 0), at(13, 0), Fraction(253, 10), 12),
    ]
    steroid, antihistamine, antipyretic = plan.premedications
    assert steroid.name == "methylprednisolone"
    assert (steroid.give_from, steroid.give_until) == (at(8, 0), at(9, 0))
    assert not steroid.verified  # the tolerance is a placeholder
    assert antihistamine.give_from is None
    assert not antipyretic.required
    assert plan.chair_start == at(8, 0)
    assert plan.infusion_end == at(13, 0)
    assert plan.observation_end == at(15, 0)
    assert plan.chair_time == timedelta(hours=7)  # 60 + 240 + 120 min


def test_plan_on_course_day_4_has_no_steroid(protocol: Protocol) -> None:
    plan = plan_infusion(protocol, at(9, 0), dose_number=4, course_day=4)
    assert [p.name for p in plan.premedications] == [
        "antihistamine",
        "antipyretic (e.g. paracetamol/acetaminophen)",
    ]
    assert plan.chair_start == at(9, 0)
    assert plan.observation_end == at(15, 0)
