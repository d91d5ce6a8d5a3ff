"""Validation names the field; ``check()`` catches every kind of broken schedule."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling import Assignment, ChairId, Pin, VisitId
from msinfusion.scheduling.check import check_schedule
from tests.unit.scheduling.helpers import at, day, visit


def _a(visit_id: str, chair: str, minute: int) -> Assignment:
    return Assignment(visit_id=VisitId(visit_id), chair_id=ChairId(chair), start=at(minute))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: replace(p, closes=p.opens), "closes"),
        (lambda p: replace(p, nurse_ratio=0), "nurse_ratio"),
        (lambda p: replace(p, chairs=()), "chairs"),
        (lambda p: replace(p, opens=datetime(2026, 3, 2, 8, 0)), "opens"),  # noqa: DTZ001
        (lambda p: replace(p, visits=(p.visits[0], p.visits[0])), "visits.id"),
        (
            lambda p: replace(p, visits=(replace(p.visits[0], chair_time=timedelta(minutes=62)),)),
            "visits[0].chair_time",
        ),
        (
            lambda p: replace(p, visits=(replace(p.visits[0], requires=frozenset({"bed"})),)),
            "visits[0].requires",
        ),
        (
            lambda p: replace(p, visits=(replace(p.visits[0], dose_number=0),)),
            "visits[0].dose_number",
        ),
        (
            lambda p: replace(
                p, visits=(replace(p.visits[0], pin=Pin(chair_id=ChairId("c1"), start=at(0))),)
            ),
            "not_before",
        ),
    ],
)
def test_validation_names_the_field(change: object, field: str) -> None:
    problem = day([visit("a", 60)])
    with pytest.raises(InvalidSchedulingProblem) as caught:
        change(problem)  # type: ignore[operator]
    assert caught.value.field == field
    assert field in caught.value.message


def test_a_valid_schedule_has_no_violations() -> None:
    problem = day([visit("a", 60), visit("b", 60)], chairs=2, nurses=1)
    assert check_schedule(problem, [_a("a", "c1", 0), _a("b", "c2", 60)]) == ()


@pytest.mark.parametrize(
    ("placed", "rule"),
    [
        ([_a("zz", "c1", 0)], "unknown-visit"),
        ([_a("a", "c1", 0), _a("a", "c1", 60)], "duplicate-visit"),
        ([_a("a", "c9", 0)], "unknown-chair"),
        ([_a("a", "c1", 3)], "off-grid"),
        ([_a("a", "c1", -5)], "before-opening"),
        ([_a("a", "c1", 570)], "after-hard-end"),
        ([_a("a", "c1", 0), _a("b", "c1", 30)], "chair-overlap"),
        ([_a("a", "c1", 0), _a("b", "c2", 30)], "nurse-capacity"),
    ],
)
def test_check_catches(placed: list[Assignment], rule: str) -> None:
    problem = day([visit("a", 60), visit("b", 60)], chairs=2, nurses=1)
    assert rule in {v.rule for v in check_schedule(problem, placed)}


def test_check_catches_arrival_pharmacy_mandatory_and_now() -> None:
    a = replace(visit("a", 60, earliest=60, start_by=60), mandatory=True)
    b = replace(visit("b", 60), drug_ready_at=at(120))
    problem = day([a, b], chairs=2, nurses=2)
    rules = {v.rule for v in check_schedule(problem, [_a("b", "c1", 0)])}
    assert rules == {"mandatory-unbooked", "drug-not-ready"}
    assert "before-arrival" in {v.rule for v in check_schedule(problem, [_a("a", "c1", 0)])}
    later = replace(problem, not_before=at(30))
    assert "before-now" in {v.rule for v in check_schedule(later, [_a("b", "c1", 0)])}


def test_check_catches_a_moved_started_visit_and_a_nurse_off_shift() -> None:
    pinned = replace(visit("a", 60), pin=Pin(chair_id=ChairId("c1"), start=at(0)))
    base = day([visit("a", 60), visit("b", 60)], chairs=2)
    problem = replace(base, visits=(pinned, base.visits[1]), not_before=at(10))
    assert "pin-moved" in {v.rule for v in check_schedule(problem, [_a("a", "c2", 0)])}
    assert "pin-moved" in {v.rule for v in check_schedule(problem, [])}
    gone = replace(problem.nurses[0], shift_end=at(100))  # leaves before closing: no overtime
    early = replace(problem, nurses=(gone,), visits=(visit("b", 60),), not_before=None)
    assert "nurse-capacity" in {v.rule for v in check_schedule(early, [_a("b", "c1", 90)])}
