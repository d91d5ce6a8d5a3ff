"""Ublituximab protocols against the dossier's hand-worked arithmetic (anti-cd20.md 3.2)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.catalog import ReactionAction, ReEscalation, Severity, Therapy, run_ladder
from msinfusion.catalog.model import IntervalUnit
from msinfusion.planning import plan_infusion
from tests.catalog_walk import (
    START,
    assert_every_sourced_object_cites_a_url,
    at,
    cited_values,
    cumulative,
    interval_pair,
    load_shipped_therapy,
    protocol_of,
    run_bag,
    window_bounds,
)


@pytest.fixture(scope="module")
def therapy() -> Therapy:
    # Loaded on its own so that a broken file of another therapy cannot hide a problem here.
    return load_shipped_therapy("ublituximab")


def test_protocol_ids_are_the_contract(therapy: Therapy) -> None:
    assert [p.id for p in therapy.protocols] == ["ublituximab-150-day1", "ublituximab-450"]
    assert therapy.off_label_in_ms is False
    assert not any(p.off_label for p in therapy.protocols)


def test_150_delivers_5_15_50_250_ml_and_ends_at_exactly_240_minutes(therapy: Therapy) -> None:
    # 10 mL/h x 30 min = 5; 20 x 30 = 10; 35 x 60 = 35; 200 mL at 100 mL/h = 120 min.
    protocol = protocol_of(therapy, "ublituximab-150-day1")
    assert cumulative(protocol) == [(30, 5), (60, 15), (120, 50), (240, 250)]
    segments = run_bag(protocol)
    assert [seg.volume_ml for seg in segments] == [5, 10, 35, 200]
    assert [seg.rate_ml_per_h for seg in segments] == [10, 20, 35, 100]
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 240


def test_150_with_6_ml_concentrate_added_to_a_full_bag_takes_243_point_6_minutes(
    therapy: Therapy,
) -> None:
    # Dossier Q9: 256 mL; the extra 6 mL at 100 mL/h is 3.6 min.
    protocol = protocol_of(therapy, "ublituximab-150-day1")
    assert run_ladder(protocol.ladder.steps, Fraction(256))[-1].end_min == Fraction(1218, 5)


def test_450_delivers_50_ml_by_minute_30_and_ends_at_exactly_60(therapy: Therapy) -> None:
    # 100 mL/h x 30 min = 50 mL; 200 mL at 400 mL/h = 30 min.
    protocol = protocol_of(therapy, "ublituximab-450")
    assert cumulative(protocol) == [(30, 50), (60, 250)]
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 60
    # Dossier Q9: 268 mL prepared -> 18 mL more at 400 mL/h = 2.7 min.
    assert run_ladder(protocol.ladder.steps, Fraction(268))[-1].end_min == Fraction(627, 10)


@pytest.mark.parametrize(
    ("protocol_id", "dose_mg", "concentration", "concentrate_ml", "max_rate"),
    [
        ("ublituximab-150-day1", 150, Fraction(3, 5), 6, 100),
        ("ublituximab-450", 450, Fraction(9, 5), 18, 400),
    ],
)
def test_dose_bag_concentration_and_maximum(
    therapy: Therapy,
    protocol_id: str,
    *,
    dose_mg: int,
    concentration: Fraction,
    concentrate_ml: int,
    max_rate: int,
) -> None:
    protocol = protocol_of(therapy, protocol_id)
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == dose_mg
    assert protocol.bag_volume_ml.value == 250
    assert Fraction(dose_mg, 250) == concentration  # 0.6 and 1.8 mg/mL as the EU label says
    assert protocol.concentration_mg_per_ml is not None
    assert Fraction(protocol.concentration_mg_per_ml.value) == concentration
    assert protocol.concentrate_volume_ml is not None
    assert protocol.concentrate_volume_ml.value == concentrate_ml  # 150 mg/6 mL vials
    assert protocol.max_rate_ml_per_h.value == max_rate
    assert max(step.rate_ml_per_h for step in protocol.ladder.steps) == max_rate
    assert protocol.diluent == "0.9% sodium chloride"


def test_eligibility_by_dose_number(therapy: Therapy) -> None:
    first = protocol_of(therapy, "ublituximab-150-day1").eligibility
    later = protocol_of(therapy, "ublituximab-450").eligibility
    assert first.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    assert first.reasons_ineligible(dose_number=2, worst_prior_reaction=None) == (
        "dose_number 2 is above 1",
    )
    assert later.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == (
        "dose_number 1 is below 2",
    )
    assert later.reasons_ineligible(dose_number=2, worst_prior_reaction=None) == ()
    assert later.reasons_ineligible(dose_number=9, worst_prior_reaction=Severity.SEVERE) == ()
    # A prior life-threatening reaction is a US contraindication.
    (reason,) = later.reasons_ineligible(
        dose_number=3, worst_prior_reaction=Severity.LIFE_THREATENING
    )
    assert "life-threatening" in reason


@pytest.mark.parametrize("protocol_id", ["ublituximab-150-day1", "ublituximab-450"])
def test_observation_60_for_infusions_1_and_2_then_waivable_by_jurisdiction(
    therapy: Therapy, protocol_id: str
) -> None:
    protocol = protocol_of(therapy, protocol_id)
    for dose_number in (1, 2):
        rule = protocol.observation_rule(dose_number)
        assert rule.observation_min.value == 60
        assert rule.waivable_when is None
    for dose_number in (3, 4, 40):
        rule = protocol.observation_rule(dose_number)
        assert rule.observation_min.value == 60  # dossier Q13: 60 min when unknown
        assert rule.to_dose_number is None
        assert rule.waivable_when is not None
        assert "prescriber" in rule.waivable_when
        assert "EU" in rule.waivable_when
        assert rule.observation_min.note is not None
        assert "Q13" in rule.observation_min.note


@pytest.mark.parametrize("protocol_id", ["ublituximab-150-day1", "ublituximab-450"])
def test_us_premedication_set_with_eu_alternative_in_notes(
    therapy: Therapy, protocol_id: str
) -> None:
    steroid, antihistamine, antipyretic = protocol_of(therapy, protocol_id).premedications
    assert steroid.drug == "methylprednisolone"
    assert steroid.dose.startswith("100 mg")
    assert steroid.route == "IV"
    assert steroid.required
    assert steroid.window is not None
    assert window_bounds(steroid.window) == (30, 30)
    assert steroid.window.approximate
    assert steroid.note is not None
    assert "dexamethasone 10-20 mg" in steroid.note  # EU alternative (dossier Q11)
    assert "Q11" in steroid.note
    assert antihistamine.required
    assert antihistamine.window is not None
    assert window_bounds(antihistamine.window) == (30, 60)
    assert not antipyretic.required
    assert antipyretic.window is None
    for premed in (steroid, antihistamine):
        assert premed.window is not None
        tolerance = premed.window.tolerance_min
        assert tolerance is not None
        assert tolerance.value == 15
        assert tolerance.verified is False
        assert tolerance.note == "Dossier Q14: local policy, not a label value."


@pytest.mark.parametrize("protocol_id", ["ublituximab-150-day1", "ublituximab-450"])
def test_reactions_halve_the_rate_and_re_escalate_only_manually(
    therapy: Therapy, protocol_id: str
) -> None:
    protocol = protocol_of(therapy, protocol_id)
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.REDUCE_RATE
        assert rule.rate_factor_of_onset is not None
        assert rule.rate_factor_of_onset.value == Fraction(1, 2)
        assert rule.hold_min is not None
        assert rule.hold_min.value == 30
        assert rule.may_resume
        assert rule.re_escalation is ReEscalation.MANUAL  # dossier Q5
        assert rule.re_escalation_increment_ml_per_h is None
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.INTERRUPT
    assert severe.resume_requires_resolution
    assert severe.rate_factor_of_onset is not None
    assert severe.rate_factor_of_onset.value == Fraction(1, 2)
    assert severe.re_escalation is ReEscalation.MANUAL
    assert not severe.discontinue_therapy
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert not fatal.may_resume
    assert fatal.re_escalation is ReEscalation.NONE
    assert fatal.discontinue_therapy


def test_schedule_day_1_day_15_then_every_24_weeks_from_dose_1(therapy: Therapy) -> None:
    entries = [
        (
            e.protocol_ids,
            e.anchor,
            interval_pair(e.first_due_after),
            interval_pair(e.repeat_every),
        )
        for e in therapy.schedule
    ]
    assert entries == [
        (("ublituximab-150-day1",), "start of therapy", (0, IntervalUnit.DAY), None),
        (("ublituximab-450",), "dose 1 (150 mg)", (14, IntervalUnit.DAY), None),
        (
            ("ublituximab-450",),
            "dose 1 (150 mg)",
            (24, IntervalUnit.WEEK),
            (24, IntervalUnit.WEEK),
        ),
    ]
    assert therapy.schedule[0].name.lower() == therapy.schedule[1].anchor


def test_codes(therapy: Therapy) -> None:
    codes = {code.system: code for code in therapy.codes}
    assert codes["ATC"].value == "L04AG14"
    assert codes["ATC"].verified
    assert codes["HCPCS"].value == "J2329"
    assert codes["HCPCS"].verified
    assert codes["EU"].value == "EU/1/23/1730/001"
    for system in ("RxNorm", "SNOMED-CT", "UNII"):  # dossier Q16: not found, left out
        assert system not in codes
    assert therapy.names[:3] == ("ublituximab", "BRIUMVI", "ublituximab-xiiy")


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    # 19 cited numbers per protocol: dose, bag, concentrate, concentration, maximum, duration,
    # 2 x 3 premedication window values, 2 observation times, 5 reaction-rule values.
    assert len(cited) == 38
    assert_every_sourced_object_cites_a_url(therapy)


def test_unverified_items_are_flagged(therapy: Therapy) -> None:
    unverified = [c for _, c in cited_values(therapy) if not c.verified]
    # Only the two premedication tolerances of each protocol (dossier Q14) are unverified numbers.
    assert len(unverified) == 4
    assert {c.value for c in unverified} == {15}


def test_150_plan_in_clock_time(therapy: Therapy) -> None:
    plan = plan_infusion(protocol_of(therapy, "ublituximab-150-day1"), START, dose_number=1)
    assert [(s.start, s.end, s.rate_ml_per_h) for s in plan.steps] == [
        (at(9, 0), at(9, 30), 10),
        (at(9, 30), at(10, 0), 20),
        (at(10, 0), at(11, 0), 35),
        (at(11, 0), at(13, 0), 100),
    ]
    assert [s.volume_ml for s in plan.steps] == [5, 10, 35, 200]
    assert [s.cumulative_volume_ml for s in plan.steps] == [5, 15, 50, 250]
    assert [s.cumulative_dose_mg for s in plan.steps] == [3, 9, 30, 150]  # x 0.6 mg/mL
    assert plan.infusion_end == at(13, 0)
    assert plan.observation_end == at(14, 0)
    steroid, antihistamine, _ = plan.premedications
    assert (steroid.give_from, steroid.give_until) == (at(8, 30), at(8, 30))
    assert (antihistamine.give_from, antihistamine.give_until) == (at(8, 0), at(8, 30))
    assert plan.chair_start == at(8, 0)


def test_450_plan_in_clock_time(therapy: Therapy) -> None:
    plan = plan_infusion(protocol_of(therapy, "ublituximab-450"), START, dose_number=3)
    assert [(s.start, s.end, s.rate_ml_per_h) for s in plan.steps] == [
        (at(9, 0), at(9, 30), 100),
        (at(9, 30), at(10, 0), 400),
    ]
    assert [s.cumulative_dose_mg for s in plan.steps] == [90, 450]  # x 1.8 mg/mL
    assert plan.infusion_end == at(10, 0)
    assert plan.observation_end == at(11, 0)
    # 268 mL prepared (18 mL concentrate into a full bag): 18 mL at 400 mL/h = 2 min 42 s.
    prepared = plan_infusion(
        protocol_of(therapy, "ublituximab-450"), START, dose_number=2, bag_volume_ml=268
    )
    assert prepared.infusion_end == at(10, 2, 42)
