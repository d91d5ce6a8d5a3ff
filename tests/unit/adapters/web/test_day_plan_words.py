"""Why a day has no plan, in words with names; the day plan's nurses from the centre's settings.

Worked by hand: two ocrelizumab 600 mg visits already started at 09:00 in Chairs 1 and 2 hold a
nurse each for their set-up (both 4 of the 1:4 nurse's load units, so 8 units at 09:00) while one
nurse is on shift (4 units): no plan can keep both, and the pair alone needs 2 nurses.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.ui.day_plan import named_schedule, read_query, why_no_plan
from msinfusion.application.schedule_day import explain_nurse_shortfall
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.problem import (
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    PatientWindow,
    Pin,
    VisitId,
)
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.visits import visit_from_protocol

OPENS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STARTED = OPENS + timedelta(hours=1)
PATIENTS = {"appointment-a": "Synthetic Patient 01", "appointment-b": "Synthetic Patient 02"}
CHAIRS = {"chair-1": "Chair 1", "chair-2": "Chair 2"}


def _day(nurses: int) -> DayProblem:
    protocol = shipped_catalog().get_protocol("ocrelizumab-600-standard")
    window = PatientWindow(earliest=STARTED, start_by=STARTED)
    visits = tuple(
        visit_from_protocol(
            protocol,
            visit_id=visit_id,
            patient_id=f"patient-{chair}",
            window=window,
            dose_number=3,
            weight_kg=70,
            height_cm=170,
        )
        for visit_id, chair in zip(PATIENTS, CHAIRS, strict=True)
    )
    pinned = tuple(
        replace(v, pin=Pin(chair_id=ChairId(c), start=STARTED))
        for v, c in zip(visits, CHAIRS, strict=True)
    )
    return DayProblem(
        day=date(2026, 3, 2),
        opens=OPENS,
        closes=OPENS + timedelta(hours=10),
        latest_end=OPENS + timedelta(hours=12),
        chairs=tuple(Chair(id=ChairId(c)) for c in CHAIRS),
        nurses=tuple(
            Nurse(
                id=NurseId(f"nurse-{i}"), shift_start=OPENS, shift_end=OPENS + timedelta(hours=10)
            )
            for i in range(1, nurses + 1)
        ),
        visits=pinned,
        not_before=STARTED,
    )


def test_two_started_set_ups_with_one_nurse_are_explained_by_name() -> None:
    problem = _day(nurses=1)
    shortfall = explain_nurse_shortfall(problem)
    assert shortfall is not None
    assert shortfall.at == STARTED
    assert (shortfall.load_units, shortfall.capacity_units, shortfall.nurses) == (8, 4, 1)
    assert shortfall.held == ("appointment-a", "appointment-b")
    assert shortfall.watched == ()
    assert shortfall.needed_nurses == 2
    schedule = Schedule(
        problem=problem, assignments=(), status=SolveStatus.INFEASIBLE, solver="cpsat"
    )
    words = " ".join(why_no_plan(schedule, PATIENTS, CHAIRS, UTC))
    assert words.startswith("At 09:00 the patients already started need more nurse time")
    assert "than the 1 nurse on shift give" in words
    assert (
        "Synthetic Patient 01 (Chair 1) and Synthetic Patient 02 (Chair 2) are in a nurse" in words
    )
    assert "8 nurse-load units where 4 are available" in words
    assert "at least 2 nurses on shift" in words
    assert "appointment-" not in words
    assert "chair-" not in words


def test_with_two_nurses_the_started_visits_fit() -> None:
    assert explain_nurse_shortfall(_day(nurses=2)) is None


def test_the_chart_is_labelled_with_names_not_ids() -> None:
    problem = _day(nurses=2)
    placed = tuple(
        Assignment(visit_id=VisitId(v), chair_id=ChairId(c), start=STARTED)
        for v, c in zip(PATIENTS, CHAIRS, strict=True)
    )
    schedule = Schedule(
        problem=problem, assignments=placed, status=SolveStatus.OPTIMAL, solver="cpsat"
    )
    named = named_schedule(schedule, PATIENTS, CHAIRS)
    assert [v.id for v in named.problem.visits] == list(PATIENTS.values())
    assert [c.id for c in named.problem.chairs] == ["Chair 1", "Chair 2"]
    assert [(a.visit_id, a.chair_id) for a in named.assignments] == [
        ("Synthetic Patient 01", "Chair 1"),
        ("Synthetic Patient 02", "Chair 2"),
    ]
    assert named.problem.visits[0].pin is not None
    assert named.problem.visits[0].pin.chair_id == "Chair 1"


def test_the_default_nurses_come_from_the_centre_setting() -> None:
    settings = Settings.from_env({"MSINFUSION_NURSES_ON_DUTY": "5"})
    assert settings.nurses_on_duty == 5
    assert Settings.from_env({}).nurses_on_duty == 2
    assert read_query({}, settings.nurses_on_duty).nurses == 5
    assert read_query({"nurses": "3"}, settings.nurses_on_duty).nurses == 3
    with pytest.raises(ValueError, match="MSINFUSION_NURSES_ON_DUTY"):
        Settings.from_env({"MSINFUSION_NURSES_ON_DUTY": "0"})
