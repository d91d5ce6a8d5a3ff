"""The UI's pure helpers: form fields to commands, chart geometry, the reaction guide's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.adapters.web.ui import clock_time, number
from msinfusion.adapters.web.ui.chairside import describe_rule
from msinfusion.adapters.web.ui.charts import LANE_STEP, LANE_Y, Event, ladder_chart, rate_chart
from msinfusion.adapters.web.ui.forms import command_from_form, expected_version
from msinfusion.catalog import Catalog
from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session.commands import RecordVitals
from msinfusion.session.interchange import command_from_dict

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_reaction_form_becomes_a_valid_command() -> None:
    fields = {
        "csrf_token": ["x"],
        "expected_version": ["7"],
        "severity": ["moderate"],
        "symptoms": ["flushing", "itching"],
        "other_symptom": ["  chest tightness "],
        "ctcae_grade": ["2"],
        "rate_ml_per_h": [""],
    }
    command = command_from_form("RecordReaction", fields, at=AT)
    assert command == {
        "command": "RecordReaction",
        "at": "2026-03-02T09:00:00+00:00",
        "severity": "moderate",
        "symptoms": ["flushing", "itching", "chest tightness"],
        "ctcae_grade": 2,
    }
    assert expected_version(fields) == 7
    typed = command_from_dict({**command, "user": "nurse1"})
    assert typed.at == AT


def test_yes_no_and_whole_numbers_are_read_or_refused_by_field() -> None:
    assert command_from_form("RecordAssessment", {"passed": ["no"]}, at=AT)["passed"] is False
    with pytest.raises(InvalidCommand) as bad:
        command_from_form("RecordReaction", {"ctcae_grade": ["two"]}, at=AT)
    assert bad.value.field == "ctcae_grade"
    with pytest.raises(InvalidCommand):
        command_from_form("RecordAssessment", {"passed": ["maybe"]}, at=AT)


def test_the_oxygen_box_sends_no_unless_ticked_and_the_acvpu_letter_passes_through() -> None:
    # The form posts a hidden "no" before the box; a ticked box adds "yes" (the last counts).
    unticked = {"supplemental_oxygen": ["no"], "consciousness": ["P"], "spo2_pct": ["96"]}
    command = command_from_form("RecordVitals", unticked, at=AT)
    assert (command["supplemental_oxygen"], command["consciousness"]) == (False, "P")
    ticked = {**unticked, "supplemental_oxygen": ["no", "yes"]}
    assert command_from_form("RecordVitals", ticked, at=AT)["supplemental_oxygen"] is True
    typed = command_from_dict({**command_from_form("RecordVitals", ticked, at=AT), "user": "n"})
    assert isinstance(typed, RecordVitals)
    assert (typed.consciousness, typed.supplemental_oxygen) == (Consciousness.PAIN, True)


@given(st.dictionaries(st.sampled_from(["reason", "note", "drug"]), st.just([" ", ""])))
def test_blank_fields_never_reach_the_command(fields: dict[str, list[str]]) -> None:
    assert set(command_from_form("PauseInfusion", fields, at=AT)) == {"command", "at"}


def test_times_show_on_the_centre_clock_and_numbers_drop_trailing_zeros() -> None:
    from zoneinfo import ZoneInfo

    assert clock_time("2026-03-29T00:30:00+00:00", ZoneInfo("Europe/Zurich")) == "01:30"
    assert clock_time("2026-03-29T01:30:00+00:00", ZoneInfo("Europe/Zurich")) == "03:30"  # DST
    assert clock_time(None, ZoneInfo("UTC")) == "—"
    assert number(40.0) == "40"
    assert number(12.345, 1) == "12.3"
    assert number("25/3", 2) == "8.33"


def test_the_ladder_chart_steps_at_hand_worked_points() -> None:
    # 40 mL/h for 30 min, then 80 mL/h to minute 60; axis 0..60 min over x 56..884,
    # rate 0..88 (80 x 1.1) over y 216..16.
    chart = ladder_chart([(0.0, 40.0), (30.0, 80.0)], end_min=60.0, max_rate_ml_per_h=80.0)
    points = [tuple(map(float, p.split(","))) for p in chart.plan_points.split()]
    assert [x for x, _ in points] == [56.0, 470.0, 470.0, 884.0]
    assert points[0][1] == pytest.approx(216 - 40 / 88 * 200, abs=0.1)
    assert points[2][1] == pytest.approx(216 - 80 / 88 * 200, abs=0.1)
    assert [t.label for t in chart.x_ticks] == ["0 min", "30 min", "60 min"]


def test_markers_close_together_drop_to_separate_lanes() -> None:
    events = [
        Event(at=AT + timedelta(seconds=s), symbol="P", title="p", kind="premedication")
        for s in (0, 1, 2, 3600)
    ]
    chart = rate_chart(
        plan=[], actual=[], events=events, now=None, max_rate_ml_per_h=200.0, zone=UTC
    )
    assert [m.y for m in chart.markers] == [
        LANE_Y,
        LANE_Y + LANE_STEP,
        LANE_Y + 2 * LANE_STEP,
        LANE_Y,
    ]


def test_the_reaction_guide_says_what_the_ocrelizumab_protocol_requires(catalog: Catalog) -> None:
    protocol = catalog.get_protocol("ocrelizumab-600-standard")
    moderate = describe_rule(protocol.reaction_rule(Severity.MODERATE), 80.0)
    assert moderate[0] == "Halve the rate (0.5 times the rate at onset) = 40 mL/h now."
    assert moderate[1] == "Hold that rate for at least 30 min."
    assert moderate[2] == "Then step up by at most 40 mL/h per step, as tolerated."
    severe = describe_rule(protocol.reaction_rule(Severity.SEVERE), 80.0)
    assert severe[0].startswith("Interrupt (pause) the infusion at once")
    fatal = describe_rule(protocol.reaction_rule(Severity.LIFE_THREATENING), 80.0)
    assert fatal[0] == "Stop the infusion at once; give supportive treatment."
    assert "Never give this therapy again" in fatal[1]


def test_engine_times_in_messages_are_shown_on_the_centre_clock() -> None:
    from zoneinfo import ZoneInfo

    from msinfusion.adapters.web.ui import localise

    text = "window until 2026-03-02T11:35:00+00:00; ends at 2026-03-02T12:05:30.5+00:00"
    assert localise(text, ZoneInfo("Europe/Zurich")) == "window until 12:35; ends at 13:05"
