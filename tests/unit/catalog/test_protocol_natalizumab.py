"""Natalizumab 300 mg against the dossier's hand-worked arithmetic (dossier sections 1.1, 1.8)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from msinfusion.catalog import (
    Catalog,
    Protocol,
    ReactionAction,
    ReEscalation,
    Severity,
    Therapy,
)
from msinfusion.catalog.model import IntervalUnit, Mechanism
from msinfusion.planning import plan_infusion
from tests.catalog_walk import (
    assert_every_cited_value_has_an_http_source,
    at,
    cited_values,
    run_bag,
)

PROTOCOL_ID = "natalizumab-300"
THERAPY_ID = "natalizumab"


def test_115_ml_at_115_ml_per_h_ends_at_exactly_60_minutes(protocol: Protocol) -> None:
    # 100 mL NaCl + 15 mL concentrate = 115 mL; 115 mL / 115 mL/h = 1 h.
    (segment,) = run_bag(protocol)
    assert (segment.start_min, segment.end_min) == (0, 60)
    assert segment.rate_ml_per_h == 115
    assert segment.volume_ml == segment.cumulative_volume_ml == 115
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 60
    assert protocol.max_rate_ml_per_h.value == 115


def test_dose_bag_and_concentration(protocol: Protocol) -> None:
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == 300
    assert protocol.diluent_volume_ml is not None
    assert protocol.diluent_volume_ml.value == 100
    assert protocol.concentrate_volume_ml is not None
    assert protocol.concentrate_volume_ml.value == 15
    assert protocol.bag_volume_ml.value == 100 + 15
    concentration = Fraction(300, 115)
    assert round(float(concentration), 4) == 2.6087
    assert protocol.concentration_mg_per_ml is not None
    assert protocol.concentration_mg_per_ml.value == Fraction(26, 10)  # the label's "about 2.6"
    # The label's dose rate: about 5 mg/min, and 5 mg/min x 60 min = 300 mg.
    assert Fraction(300) / 60 == 5
    assert protocol.dose.mg.value == 5 * 60


def test_no_premedication_is_required(protocol: Protocol) -> None:
    assert protocol.premedications == ()


def test_observation_is_60_minutes_and_waivable_only_from_infusion_13(protocol: Protocol) -> None:
    first = protocol.observation_rule(1)
    twelfth = protocol.observation_rule(12)
    thirteenth = protocol.observation_rule(13)
    assert first is twelfth
    assert twelfth.observation_min.value == 60
    assert twelfth.waivable_when is None
    assert thirteenth is not twelfth
    assert thirteenth.observation_min.value == 60  # default when the label version is unknown
    assert thirteenth.waivable_when is not None
    assert "10/2023" in thirteenth.waivable_when
    assert "hypersensitivity" in thirteenth.waivable_when
    assert thirteenth.observation_min.note is not None
    assert "N1" in thirteenth.observation_min.note
    assert "N10" in thirteenth.observation_min.note  # TYRUKO not confirmed
    assert protocol.observation_rule(200) is thirteenth


def test_mild_and_moderate_interrupt_with_manual_resume_and_are_unverified(
    protocol: Protocol,
) -> None:
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.INTERRUPT
        assert rule.may_resume
        assert rule.resume_requires_resolution
        assert rule.re_escalation is ReEscalation.MANUAL
        assert rule.rate_factor_of_onset is None
        assert not rule.discontinue_therapy
        assert rule.verified is False  # no label rule for non-hypersensitivity reactions
        assert rule.note is not None
        assert "hypersensitivity" in rule.note


def test_severe_and_life_threatening_stop_and_never_re_treat(protocol: Protocol) -> None:
    for severity in (Severity.SEVERE, Severity.LIFE_THREATENING):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.STOP
        assert not rule.may_resume
        assert rule.re_escalation is ReEscalation.NONE
        assert rule.discontinue_therapy
        assert rule.verified


def test_eligibility_excludes_after_a_hypersensitivity_class_reaction(protocol: Protocol) -> None:
    eligibility = protocol.eligibility
    assert eligibility.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    assert eligibility.reasons_ineligible(dose_number=13, worst_prior_reaction=None) == ()
    assert eligibility.reasons_ineligible(dose_number=13, worst_prior_reaction=Severity.MILD) == ()
    assert (
        eligibility.reasons_ineligible(dose_number=13, worst_prior_reaction=Severity.MODERATE) == ()
    )
    (reason,) = eligibility.reasons_ineligible(dose_number=13, worst_prior_reaction=Severity.SEVERE)
    assert "prior severe reaction" in reason
    assert eligibility.reasons_ineligible(
        dose_number=2, worst_prior_reaction=Severity.LIFE_THREATENING
    )


def test_schedule_every_4_weeks_and_unverified_off_label_6_weeks(therapy: Therapy) -> None:
    standard, extended = therapy.schedule
    assert standard.protocol_ids == (PROTOCOL_ID,)
    assert standard.repeat_every is not None
    assert (standard.repeat_every.value, standard.repeat_every.unit) == (4, IntervalUnit.WEEK)
    assert standard.verified
    assert standard.note is not None
    assert "28 days" in standard.note
    assert extended.protocol_ids == (PROTOCOL_ID,)
    assert extended.repeat_every is not None
    assert (extended.repeat_every.value, extended.repeat_every.unit) == (6, IntervalUnit.WEEK)
    assert extended.verified is False
    assert extended.note is not None
    assert "N7" in extended.note
    assert "off-label" in extended.note


def test_codes_and_names(catalog: Catalog, therapy: Therapy) -> None:
    codes = {code.system: code for code in therapy.codes}
    assert codes["ATC"].value == "L04AG03"
    assert codes["ATC"].verified
    assert codes["ATC-previous"].value == "L04AA23"
    assert codes["RxNorm"].value == "354770"
    assert codes["RxNorm"].verified is False  # grade B, RxNav not opened
    assert codes["SNOMED-CT"].value == "414804006"
    assert codes["SNOMED-CT"].verified is False  # hierarchy unknown
    assert therapy.mechanism is Mechanism.ANTI_VLA4_MIGRATION_BLOCKING
    assert therapy.brands == ("TYSABRI",)
    assert "TYRUKO" in therapy.biosimilars
    assert catalog.find_therapies("Tyruko") == (therapy,)
    assert catalog.find_therapies("natalizumab-sztn") == (therapy,)
    assert not therapy.off_label_in_ms


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    assert len(cited) >= 9  # dose, volumes, rates, duration, observation
    assert_every_cited_value_has_an_http_source(therapy)


def test_plan_in_clock_time(protocol: Protocol) -> None:
    start = at(9, 0)
    plan = plan_infusion(protocol, start, dose_number=13)
    assert plan.dose_mg == 300
    assert plan.concentration_mg_per_ml == Fraction(60, 23)  # 300 / 115
    assert [(s.start, s.end, s.rate_ml_per_h, s.cumulative_dose_mg) for s in plan.steps] == [
        (at(9, 0), at(10, 0), 115, 300),
    ]
    assert plan.premedications == ()
    assert plan.chair_start == start
    assert plan.infusion_end == at(10, 0)
    assert plan.observation_end == at(11, 0)  # 60 min default even from infusion 13
    assert plan.chair_time == timedelta(minutes=120)
