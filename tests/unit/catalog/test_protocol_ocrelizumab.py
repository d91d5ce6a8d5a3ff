"""Ocrelizumab protocols against the dossier's hand-worked arithmetic (anti-cd20.md 1.2)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.catalog import Catalog, ReactionAction, ReEscalation, Severity, run_ladder


def cumulative(catalog: Catalog, protocol_id: str) -> list[tuple[Fraction, Fraction]]:
    protocol = catalog.get_protocol(protocol_id)
    return [
        (seg.end_min, seg.cumulative_volume_ml)
        for seg in run_ladder(protocol.ladder.steps, protocol.bag_volume_ml.value)
    ]


def test_300_initial_delivers_225_ml_by_minute_150_and_empties_at_158_point_3(
    catalog: Catalog,
) -> None:
    # 15 + 30 + 45 + 60 + 75 = 225 mL at minute 150; 25 mL left at 180 mL/h = 25/180 h = 25/3 min.
    assert cumulative(catalog, "ocrelizumab-300-initial") == [
        (30, 15),
        (60, 45),
        (90, 90),
        (120, 150),
        (150, 225),
        (Fraction(475, 3), 250),  # 158.333... min, not the label's rounded 150
    ]


def test_600_standard_is_exactly_210_minutes(catalog: Catalog) -> None:
    # 20 + 40 + 60 + 80 = 200 mL at minute 120; 300 mL at 200 mL/h = 90 min.
    assert cumulative(catalog, "ocrelizumab-600-standard") == [
        (30, 20),
        (60, 60),
        (90, 120),
        (120, 200),
        (210, 500),
    ]


def test_600_short_is_exactly_120_minutes(catalog: Catalog) -> None:
    # 100 mL/h x 15 min = 25; 200 x 15 = 50; 250 x 30 = 125; 300 mL at 300 mL/h = 60 min.
    assert cumulative(catalog, "ocrelizumab-600-short") == [
        (15, 25),
        (30, 75),
        (60, 200),
        (120, 500),
    ]


@pytest.mark.parametrize(
    ("protocol_id", "dose_mg", "bag_ml", "max_rate"),
    [
        ("ocrelizumab-300-initial", 300, 250, 180),
        ("ocrelizumab-600-standard", 600, 500, 200),
        ("ocrelizumab-600-short", 600, 500, 300),
    ],
)
def test_dose_bag_concentration_and_maximum(
    catalog: Catalog, protocol_id: str, dose_mg: int, bag_ml: int, max_rate: int
) -> None:
    protocol = catalog.get_protocol(protocol_id)
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == dose_mg
    assert protocol.bag_volume_ml.value == bag_ml
    assert Fraction(dose_mg, bag_ml) == Fraction(6, 5)  # 1.2 mg/mL as the label states
    assert protocol.max_rate_ml_per_h.value == max_rate
    assert protocol.observation_rule(1).observation_min.value == 60
    assert protocol.observation_rule(40).observation_min.value == 60


def test_premedication_windows(catalog: Catalog) -> None:
    protocol = catalog.get_protocol("ocrelizumab-600-standard")
    steroid, antihistamine, antipyretic = protocol.premedications
    assert steroid.drug == "methylprednisolone"
    assert steroid.route == "IV"
    assert steroid.required
    assert steroid.window is not None
    assert (
        steroid.window.min_before_start_min.value,
        steroid.window.max_before_start_min.value,
    ) == (30, 30)
    assert antihistamine.required
    assert antihistamine.window is not None
    assert (
        antihistamine.window.min_before_start_min.value,
        antihistamine.window.max_before_start_min.value,
    ) == (
        30,
        60,
    )
    assert not antipyretic.required
    # The tolerance of an "approximately" window is local policy, not a label value (dossier Q14).
    assert steroid.window.tolerance_min is not None
    assert steroid.window.tolerance_min.verified is False


@pytest.mark.parametrize(
    ("protocol_id", "increment"),
    [("ocrelizumab-300-initial", 30), ("ocrelizumab-600-standard", 40)],
)
def test_mild_and_moderate_reactions_halve_the_rate_for_30_minutes(
    catalog: Catalog, protocol_id: str, increment: int
) -> None:
    protocol = catalog.get_protocol(protocol_id)
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.REDUCE_RATE
        assert rule.rate_factor_of_onset is not None
        assert rule.rate_factor_of_onset.value == Fraction(1, 2)
        assert rule.hold_min is not None
        assert rule.hold_min.value == 30
        assert rule.re_escalation is ReEscalation.PER_LADDER
        assert rule.re_escalation_increment_ml_per_h is not None
        assert rule.re_escalation_increment_ml_per_h.value == increment


def test_severe_interrupts_until_resolved_and_life_threatening_discontinues(
    catalog: Catalog,
) -> None:
    protocol = catalog.get_protocol("ocrelizumab-600-standard")
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.INTERRUPT
    assert severe.resume_requires_resolution
    assert severe.rate_factor_of_onset is not None
    assert severe.rate_factor_of_onset.value == Fraction(1, 2)
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert not fatal.may_resume
    assert fatal.discontinue_therapy


def test_short_option_needs_manual_re_escalation_and_is_unverified(catalog: Catalog) -> None:
    protocol = catalog.get_protocol("ocrelizumab-600-short")
    assert (
        protocol.reaction_rule(Severity.MODERATE).re_escalation is ReEscalation.MANUAL
    )  # dossier Q5
    assert protocol.ladder.verified is False  # dossier Q7: Swiss step values, US table unseen


def test_eligibility_of_the_three_protocols(catalog: Catalog) -> None:
    initial = catalog.get_protocol("ocrelizumab-300-initial").eligibility
    standard = catalog.get_protocol("ocrelizumab-600-standard").eligibility
    short = catalog.get_protocol("ocrelizumab-600-short").eligibility
    assert initial.reasons_ineligible(dose_number=2) == ()
    assert initial.reasons_ineligible(dose_number=3) == ("dose_number 3 is above 2",)
    assert standard.reasons_ineligible(dose_number=2) == ("dose_number 2 is below 3",)
    assert short.reasons_ineligible(dose_number=3, worst_prior_reaction=Severity.MODERATE) == ()
    (reason,) = short.reasons_ineligible(dose_number=5, worst_prior_reaction=Severity.SEVERE)
    assert "prior severe reaction" in reason
    assert short.reasons_ineligible(dose_number=5, worst_prior_reaction=Severity.LIFE_THREATENING)
