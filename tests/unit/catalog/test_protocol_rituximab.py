"""Rituximab (off-label in MS) against the dossier's hand-worked arithmetic (anti-cd20.md 4.2)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.catalog import ReactionAction, ReEscalation, Severity, Therapy
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
)

PROTOCOL_IDS = ["rituximab-1000-first", "rituximab-1000-subsequent"]


@pytest.fixture(scope="module")
def therapy() -> Therapy:
    # Loaded on its own so that a broken file of another therapy cannot hide a problem here.
    return load_shipped_therapy("rituximab")


def test_off_label_everywhere(therapy: Therapy) -> None:
    assert [p.id for p in therapy.protocols] == PROTOCOL_IDS
    assert therapy.off_label_in_ms is True
    assert therapy.off_label_note is not None
    assert "OFF-LABEL" in therapy.off_label_note
    assert all(p.off_label for p in therapy.protocols)
    assert all("OFF-LABEL" in p.title for p in therapy.protocols)


def test_first_infusion_350_ml_by_minute_210_then_150_ml_at_200_ml_per_h_ends_at_255(
    therapy: Therapy,
) -> None:
    # mL/h at 2 mg/mL: 25, 50, ..., 175 for 30 min each = 12.5 + 25 + ... + 87.5 = 350 mL by
    # minute 210; 150 mL left at 200 mL/h = 45 min.
    protocol = protocol_of(therapy, "rituximab-1000-first")
    assert cumulative(protocol) == [
        (30, Fraction(25, 2)),
        (60, Fraction(75, 2)),
        (90, 75),
        (120, 125),
        (150, Fraction(375, 2)),
        (180, Fraction(525, 2)),
        (210, 350),
        (255, 500),
    ]
    last = run_bag(protocol)[-1]
    assert (last.rate_ml_per_h, last.volume_ml) == (200, 150)
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 255


def test_subsequent_infusion_150_ml_by_minute_90_ends_at_195(therapy: Therapy) -> None:
    # 25 + 50 + 75 = 150 mL by minute 90; 350 mL at 200 mL/h = 105 min.
    protocol = protocol_of(therapy, "rituximab-1000-subsequent")
    assert cumulative(protocol) == [(30, 25), (60, 75), (90, 150), (195, 500)]
    assert protocol.expected_duration_min is not None
    assert protocol.expected_duration_min.value == 195


@pytest.mark.parametrize(
    ("protocol_id", "mg_per_h"),
    [
        ("rituximab-1000-first", [50, 100, 150, 200, 250, 300, 350, 400]),
        ("rituximab-1000-subsequent", [100, 200, 300, 400]),
    ],
)
def test_ladders_are_the_label_mg_per_h_converted_at_2_mg_per_ml(
    therapy: Therapy, protocol_id: str, mg_per_h: list[int]
) -> None:
    protocol = protocol_of(therapy, protocol_id)
    assert [step.rate_ml_per_h * 2 for step in protocol.ladder.steps] == mg_per_h
    assert [step.start_min for step in protocol.ladder.steps] == [
        30 * i for i in range(len(mg_per_h))
    ]


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_dose_bag_concentration_and_maximum(therapy: Therapy, protocol_id: str) -> None:
    protocol = protocol_of(therapy, protocol_id)
    assert protocol.dose.mg is not None
    assert protocol.dose.mg.value == 1000
    assert protocol.bag_volume_ml.value == 500
    # Concentrate (1000 mg at 10 mg/mL = 100 mL) is counted inside the 500 mL (dossier 4.2).
    assert protocol.concentrate_volume_ml is not None
    assert protocol.concentrate_volume_ml.value == 100
    assert protocol.diluent_volume_ml is not None
    assert protocol.diluent_volume_ml.value == 400
    assert Fraction(1000, 500) == 2
    assert protocol.concentration_mg_per_ml is not None
    assert protocol.concentration_mg_per_ml.value == 2
    # 400 mg/h ceiling / 2 mg/mL = 200 mL/h.
    assert protocol.max_rate_ml_per_h.value == 200
    assert max(step.rate_ml_per_h for step in protocol.ladder.steps) == 200
    note = protocol.max_rate_ml_per_h.note
    assert note is not None
    assert "mg/h" in note
    assert "converted" in note


def test_eligibility_first_then_subsequent(therapy: Therapy) -> None:
    first = protocol_of(therapy, "rituximab-1000-first").eligibility
    later = protocol_of(therapy, "rituximab-1000-subsequent").eligibility
    assert first.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == ()
    # The slow ladder is also the one for a later infusion after a reaction (label: the faster
    # ladder is for patients who tolerated the previous infusion); never after a
    # life-threatening one, which discontinues the therapy.
    assert first.reasons_ineligible(dose_number=2, worst_prior_reaction=Severity.MODERATE) == ()
    assert first.reasons_ineligible(
        dose_number=2, worst_prior_reaction=Severity.LIFE_THREATENING
    ) == (
        "a prior life-threatening reaction excludes this protocol "
        "(limit: life-threatening or worse)",
    )
    assert later.reasons_ineligible(dose_number=2, worst_prior_reaction=Severity.MILD) == (
        "a prior mild reaction excludes this protocol (limit: mild or worse)",
    )
    assert later.reasons_ineligible(dose_number=1, worst_prior_reaction=None) == (
        "dose_number 1 is below 2",
    )
    assert later.reasons_ineligible(dose_number=2, worst_prior_reaction=None) == ()
    assert later.reasons_ineligible(dose_number=8, worst_prior_reaction=None) == ()
    assert later.note is not None
    assert later.note.startswith("previous rituximab infusion tolerated")


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_reactions_resume_at_half_rate_or_stop(therapy: Therapy, protocol_id: str) -> None:
    protocol = protocol_of(therapy, protocol_id)
    for severity in (Severity.MILD, Severity.MODERATE):
        rule = protocol.reaction_rule(severity)
        assert rule.action is ReactionAction.INTERRUPT
        assert rule.may_resume
        assert rule.resume_requires_resolution
        assert rule.rate_factor_of_onset is not None
        assert rule.rate_factor_of_onset.value == Fraction(1, 2)  # at least 50% lower
        assert rule.hold_min is None  # the label gives none
        assert rule.re_escalation is ReEscalation.MANUAL
    severe = protocol.reaction_rule(Severity.SEVERE)
    assert severe.action is ReactionAction.STOP
    assert not severe.may_resume
    assert not severe.discontinue_therapy  # clinician decision (dossier 4.3)
    fatal = protocol.reaction_rule(Severity.LIFE_THREATENING)
    assert fatal.action is ReactionAction.STOP
    assert not fatal.may_resume
    assert fatal.re_escalation is ReEscalation.NONE
    assert fatal.discontinue_therapy


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_premedication_and_observation_are_practice_based_and_unverified(
    therapy: Therapy, protocol_id: str
) -> None:
    protocol = protocol_of(therapy, protocol_id)
    steroid, antihistamine, acetaminophen = protocol.premedications
    assert steroid.drug == "methylprednisolone"
    assert steroid.dose == "100 mg"
    assert steroid.route == "IV"
    assert steroid.window is not None
    # Label (RA): the methylprednisolone infusion is completed 30 min before rituximab.
    assert steroid.window.min_before_start_min.value == 30
    assert steroid.window.min_before_start_min.verified
    # No source gives an earliest time (dossier 4.3: [30, none]); none is invented.
    assert steroid.window.max_before_start_min is None
    assert not steroid.window.approximate
    for premed in (steroid, antihistamine, acetaminophen):
        assert premed.required
        assert premed.verified is False
    # Label: antihistamine and acetaminophen "before every infusion", no timing (window null).
    assert antihistamine.window is None
    assert acetaminophen.window is None
    for dose_number in (1, 2, 30):
        observation = protocol.observation_rule(dose_number).observation_min
        assert observation.value == 60
        assert observation.verified is False


def test_schedule_templates(therapy: Therapy) -> None:
    protocol_ids = {p.id for p in therapy.protocols}
    entries = [
        (
            e.name,
            e.protocol_ids,
            e.anchor,
            interval_pair(e.first_due_after),
            interval_pair(e.repeat_every),
            e.max_repeats,
        )
        for e in therapy.schedule
    ]
    assert entries == [
        (
            "HERMES template, infusion 1",
            ("rituximab-1000-first",),
            "start of therapy",
            (0, IntervalUnit.DAY),
            None,
            None,
        ),
        (
            "HERMES template, infusion 2",
            ("rituximab-1000-subsequent",),
            "hermes template, infusion 1",
            (14, IntervalUnit.DAY),
            None,
            None,
        ),
        (
            "OLYMPUS template, course infusion 1",
            ("rituximab-1000-first", "rituximab-1000-subsequent"),
            "start of therapy",
            (0, IntervalUnit.DAY),
            (24, IntervalUnit.WEEK),
            3,  # 4 courses in OLYMPUS: the first plus 3 repeats
        ),
        (
            "OLYMPUS template, course infusion 2",
            ("rituximab-1000-subsequent",),
            "olympus template, course infusion 1",
            (14, IntervalUnit.DAY),
            (24, IntervalUnit.WEEK),
            3,
        ),
    ]
    for entry in therapy.schedule:
        assert set(entry.protocol_ids) <= protocol_ids
        assert entry.note is not None
        assert "template" in entry.note.lower()


def test_codes(therapy: Therapy) -> None:
    codes = {code.system: code for code in therapy.codes}
    assert codes["ATC"].value == "L01FA01"
    assert codes["ATC-previous"].value == "L01XC02"
    assert codes["RxNorm"].value == "121191"
    assert codes["SNOMED-CT"].value == "386919002"
    assert "UNII" not in codes  # not found in retrieved sources: left out, not guessed
    assert {"Truxima", "Ruxience", "Riabni"} <= set(therapy.biosimilars)


def test_every_cited_value_has_an_http_source(therapy: Therapy) -> None:
    cited = cited_values(therapy)
    # 11 cited numbers per protocol: dose, bag, diluent, concentrate, concentration, maximum,
    # duration, 1 premedication window value (steroid: at least 30 min before), observation,
    # 2 reaction-rule factors.
    assert len(cited) == 22
    assert_every_sourced_object_cites_a_url(therapy)


def test_first_infusion_plan_in_clock_time(therapy: Therapy) -> None:
    plan = plan_infusion(protocol_of(therapy, "rituximab-1000-first"), START, dose_number=1)
    assert [(s.start, s.end, s.rate_ml_per_h) for s in plan.steps] == [
        (at(9, 0), at(9, 30), 25),
        (at(9, 30), at(10, 0), 50),
        (at(10, 0), at(10, 30), 75),
        (at(10, 30), at(11, 0), 100),
        (at(11, 0), at(11, 30), 125),
        (at(11, 30), at(12, 0), 150),
        (at(12, 0), at(12, 30), 175),
        (at(12, 30), at(13, 15), 200),
    ]
    # x 2 mg/mL: 700 mg by 12:30, 1000 mg at 13:15.
    assert [s.cumulative_dose_mg for s in plan.steps] == [25, 75, 150, 250, 375, 525, 700, 1000]
    assert plan.infusion_end == at(13, 15)
    assert plan.observation_end == at(14, 15)
    assert plan.off_label
    steroid, antihistamine, acetaminophen = plan.premedications
    assert (steroid.give_from, steroid.give_until) == (None, at(8, 30))  # at least 30 min before
    assert (antihistamine.give_from, antihistamine.give_until) == (None, at(9, 0))
    assert (acetaminophen.give_from, acetaminophen.give_until) == (None, at(9, 0))
    assert not any(p.verified for p in plan.premedications)
    assert plan.chair_start == at(8, 30)  # no earliest time stated: the latest required time


def test_subsequent_infusion_plan_in_clock_time(therapy: Therapy) -> None:
    plan = plan_infusion(protocol_of(therapy, "rituximab-1000-subsequent"), START, dose_number=2)
    assert [(s.start, s.end, s.rate_ml_per_h) for s in plan.steps] == [
        (at(9, 0), at(9, 30), 50),
        (at(9, 30), at(10, 0), 100),
        (at(10, 0), at(10, 30), 150),
        (at(10, 30), at(12, 15), 200),
    ]
    assert [s.cumulative_dose_mg for s in plan.steps] == [50, 150, 300, 1000]
    assert plan.infusion_end == at(12, 15)
    assert plan.observation_end == at(13, 15)
