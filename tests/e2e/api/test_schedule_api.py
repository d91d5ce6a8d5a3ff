"""Scheduling over HTTP: hand-made days with known optima, the stored day, re-planning, SVG.

Worked by hand (natalizumab-300: 60 min infusion + 60 min observation, no premedication lead,
so chair time 120 min; a nurse is held 15 min for set-up; a monitored patient is 1 of the
nurse's 4 load units; a nurse-held task takes all 4 — docs/scheduling.md):

* two visits wanting 08:00, one chair, one nurse: the second starts at 10:00, waiting 120 min;
* two chairs, one nurse: still 120 min — the set-up of the second (4 units) cannot overlap the
  first patient's monitoring (1 unit) on one nurse (capacity 4);
* two chairs, two nurses: both at 08:00, no waiting, peak load 2 nurses (two set-ups at once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, PROTOCOL_ID, World, actor_for, patient_on_course

DAY = "2026-03-04"


def _at(clock: str) -> str:
    return f"{DAY}T{clock}:00+01:00"


def _instance(*, chairs: int, nurses: int, closes: str = "16:00") -> dict[str, Any]:
    return {
        "format": "msinfusion-day/1",
        "date": DAY,
        "opens": _at("08:00"),
        "closes": _at(closes),
        "latest_end": (datetime.fromisoformat(_at(closes)) + timedelta(minutes=90)).isoformat(),
        "chairs": [{"id": f"c{i}"} for i in range(1, chairs + 1)],
        "nurses": [
            {"id": f"n{i}", "shift_start": _at("08:00"), "shift_end": _at(closes)}
            for i in range(1, nurses + 1)
        ],
        "visits": [
            {
                "id": f"v{i}",
                "patient_id": f"p{i}",
                "protocol_id": "natalizumab-300",
                "dose_number": 1,
                "earliest": _at("08:00"),
                "start_by": _at("08:00"),
            }
            for i in (1, 2)
        ],
    }


def _solve(world: World, body: dict[str, Any], role: Role = Role.SCHEDULER) -> Any:
    return world.request(role, "POST", "/api/schedule/day", json=body)


@pytest.mark.parametrize("solver", ["greedy", "cpsat"])
@pytest.mark.parametrize(
    ("chairs", "nurses", "wait", "peak"), [(1, 1, 120, 1.0), (2, 1, 120, 1.0), (2, 2, 0, 2.0)]
)
def test_small_days_reach_their_hand_worked_optimum(
    memory_world: World, solver: str, chairs: int, nurses: int, wait: int, peak: float
) -> None:
    body = {"instance": _instance(chairs=chairs, nurses=nurses), "solver": solver}
    response = _solve(memory_world, {**body, "time_limit_s": 5})
    assert response.status_code == 200, response.text
    view = response.json()
    metrics = view["metrics"]
    assert (metrics["total_wait_min"], metrics["overtime_min"]) == (wait, 0)
    assert (metrics["visits_booked"], metrics["peak_nurse_load"]) == (2, peak)
    assert view["violations"] == []
    assert view["source"] == "instance"
    assert metrics["status"] == ("optimal" if solver == "cpsat" else "feasible")
    assert [v["chair_time_min"] for v in view["visits"]] == [120.0, 120.0]
    starts = sorted(v["start"] for v in view["visits"])
    assert starts == ([_at("08:00")] * 2 if wait == 0 else [_at("08:00"), _at("10:00")])


def test_a_visit_that_cannot_fit_is_left_unbooked_not_an_error(memory_world: World) -> None:
    # Closing 09:00, hard end 10:30: the second 120-minute visit could only start at 10:00.
    body = {"instance": _instance(chairs=1, nurses=1, closes="09:00"), "solver": "cpsat"}
    view = _solve(memory_world, {**body, "time_limit_s": 5}).json()
    assert (view["metrics"]["visits_booked"], view["metrics"]["status"]) == (1, "optimal")
    assert view["metrics"]["overtime_min"] == 60  # 10:00 release, closing 09:00
    assert [v["booked"] for v in view["visits"]].count(False) == 1


def _second_chair_booking(world: World) -> str:
    """Today: the seeded visit in progress on chair 1 (08:45, 330 min) and a booking at 11:00
    on a second chair for another patient, both ocrelizumab 600 mg dose 3 (60 + 210 + 60 =
    330 min)."""
    system = actor_for(world, Role.SCHEDULER)
    chair = world.centre.records.add_chair(system, name="Chair 2")
    nurse = actor_for(world, Role.NURSE)
    other, _ = patient_on_course(
        world.centre, actor_for(world, Role.PHYSICIAN), nurse, "Synthetic Patient 03"
    )
    booked = world.centre.records.book_appointment(
        nurse,
        patient_id=other.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
    )
    return booked.id


def test_the_stored_day_with_one_nurse_waits_for_the_first_patient_to_leave(
    world: World,
) -> None:
    second = _second_chair_booking(world)
    body = {"date": "2026-03-02", "nurses": 1, "solver": "greedy"}
    view = _solve(world, body).json()
    visits = {v["id"]: v for v in view["visits"]}
    first = visits[world.ids["appointment"]]
    assert (first["started"], first["start"], first["end"]) == (
        True,
        "2026-03-02T08:45:00+00:00",
        "2026-03-02T14:15:00+00:00",
    )
    # One nurse cannot set up the 11:00 patient while watching the first: 14:15 is the first
    # start; 195 min of waiting; release 19:45 is 105 min after the 18:00 closing.
    assert visits[second]["start"] == "2026-03-02T14:15:00+00:00"
    metrics = view["metrics"]
    assert (metrics["total_wait_min"], metrics["overtime_min"], metrics["visits_booked"]) == (
        195,
        105,
        2,
    )
    assert view["violations"] == []
    two_nurses = _solve(world, {**body, "nurses": 2, "solver": "cpsat", "time_limit_s": 5})
    assert two_nurses.json()["metrics"]["total_wait_min"] == 0
    assert two_nurses.json()["metrics"]["status"] == "optimal"


def test_replanning_the_stored_day_holds_the_chair_until_the_projected_release(
    memory_world: World,
) -> None:
    world = memory_world
    second = _second_chair_booking(world)
    with world.uow_factory() as uow:
        release = uow.sessions.get(world.ids["session"]).projected_chair_release
    assert release is not None
    body = {"date": "2026-03-02", "nurses": 2, "solver": "greedy"}
    response = world.request(Role.NURSE, "POST", "/api/schedule/replan", json=body)
    assert response.status_code == 200, response.text
    view = response.json()
    visits = {v["id"]: v for v in view["visits"]}
    first = visits[world.ids["appointment"]]
    slot = timedelta(minutes=5)
    start = datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
    held = -(-(release - start) // slot) * slot
    assert first["start"] == start.isoformat()  # never moved
    assert datetime.fromisoformat(first["end"]) == max(start + held, start + timedelta(minutes=330))
    assert view["now"] == NOW.isoformat()
    assert visits[second]["start"] >= NOW.isoformat()
    assert view["violations"] == []


def test_replanning_an_instance_moves_only_what_has_not_started(memory_world: World) -> None:
    solved = _solve(memory_world, {"instance": _instance(chairs=1, nurses=1), "solver": "greedy"})
    schedule = solved.json()["visits"]
    started = next(v["id"] for v in schedule if v["start"] == _at("08:00"))
    waiting = next(v["id"] for v in schedule if v["id"] != started)
    body = {
        "instance": _instance(chairs=1, nurses=1),
        "schedule": schedule,
        "now": _at("08:30"),
        "releases": {started: _at("10:30")},
        "solver": "cpsat",
        "time_limit_s": 5,
    }
    response = memory_world.request(Role.NURSE, "POST", "/api/schedule/replan", json=body)
    assert response.status_code == 200, response.text
    view = response.json()
    visits = {v["id"]: v for v in view["visits"]}
    assert (visits[started]["start"], visits[started]["end"]) == (_at("08:00"), _at("10:30"))
    assert visits[waiting]["start"] == _at("10:30")
    assert view["moved"] == [waiting]
    assert view["metrics"]["total_wait_min"] == 150
    early = {**body, "releases": {waiting: _at("12:30")}}
    refused = memory_world.request(Role.NURSE, "POST", "/api/schedule/replan", json=early)
    assert (refused.status_code, refused.json()["field"]) == (422, "releases")


def test_the_gantt_chart_is_svg(memory_world: World) -> None:
    response = memory_world.request(
        Role.SCHEDULER, "GET", "/api/schedule/day.svg?date=2026-03-02&nurses=1&solver=greedy"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "<svg" in response.text[:500]


def test_a_stored_solve_is_audited_and_denied_to_other_roles(memory_world: World) -> None:
    body = {"date": "2026-03-02", "nurses": 1, "solver": "greedy"}
    assert _solve(memory_world, body, Role.VIEWER).status_code == 403
    assert _solve(memory_world, body, Role.ADMIN).status_code == 403
    assert _solve(memory_world, body, Role.NURSE).status_code == 200
    trail = memory_world.request(Role.ADMIN, "GET", "/api/audit").json()
    outcomes = [(e["action"], e["resource_id"], e["outcome"]) for e in trail]
    assert ("schedule.solve", "2026-03-02", "ok") in outcomes
    assert ("schedule.solve", "2026-03-02", "denied") in outcomes


_MITOXANTRONE_TALL = {
    "id": "v1",
    "patient_id": "p1",
    "protocol_id": "mitoxantrone-12-per-m2",
    "dose_number": 1,
    "earliest": _at("08:00"),
    "start_by": _at("08:00"),
    "height_cm": "tall",
    "weight_kg": 70,
}
BAD_BODIES: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("day", {"nurses": 1}, "date"),
    ("day", {"date": "2026-03-02", "nurses": 1, "instance": {}}, "date"),
    ("day", {"date": "2026-03-02"}, "nurses"),
    ("day", {"date": "2026-03-02", "nurses": 0}, "nurses"),
    ("day", {"date": "2026-03-02", "nurses": 1, "time_limit_s": 31}, "time_limit_s"),
    ("day", {"date": "2026-03-02", "nurses": 1, "solver": "magic"}, "solver"),
    ("day", {"date": "2026-03-02", "nurses": 1, "opens": "25:00"}, "opens"),
    ("day", {"date": "2026-03-02", "nurses": 1, "opens": "18:00", "closes": "08:00"}, "closes"),
    ("day", {"instance": {"format": "other"}}, "format"),
    (
        "day",
        {"instance": {**_instance(chairs=1, nurses=1), "visits": [_MITOXANTRONE_TALL]}},
        "instance",
    ),
    ("day", {"instance": {**_instance(chairs=1, nurses=1), "chairs": []}}, "chairs"),
    (
        "day",
        {"instance": {**_instance(chairs=1, nurses=1), "latest_end": "2026-03-07T08:00:00+01:00"}},
        "latest_end",
    ),
    ("replan", {"instance": _instance(chairs=1, nurses=1)}, "schedule"),
    ("replan", {"date": "2026-03-02", "nurses": 1, "now": _at("09:00")}, "now"),
    (
        "replan",
        {
            "instance": _instance(chairs=1, nurses=1),
            "schedule": [{"id": "v9", "chair": "c1", "start": _at("08:00")}],
        },
        "schedule[0].id",
    ),
)


@pytest.mark.parametrize(("route", "body", "field"), BAD_BODIES)
def test_bad_scheduling_input_is_a_422_naming_the_field(
    memory_world: World, route: str, body: dict[str, Any], field: str
) -> None:
    response = memory_world.request(Role.SCHEDULER, "POST", f"/api/schedule/{route}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
