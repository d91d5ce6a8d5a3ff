"""The "Day plan" page (``GET /schedule``) over a TestClient: today's stored day solved by the same
use case as ``POST /api/schedule/day``, shown in words, as a table and as an inline Gantt chart.

Worked by hand for the second patient (``_second_patient``): the seeded ocrelizumab patient
started at 08:45 in Chair 1 and is monitored until the chair release at 14:15 (1 of the nurse's 4
load units); a natalizumab-300 set-up holds a nurse exclusively (all 4 units), so with one nurse
the 11:00 natalizumab visit in Chair 2 cannot start before 14:15: 195 min later than booked, and
its chair time of 120 min (60 min infusion + 60 min observation) ends it at 16:15. With two
nurses it starts as booked (docs/scheduling.md).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from msinfusion.adapters.web.ui.day_plan import (
    DEFAULT_NURSES,
    change_words,
    gap_words,
    read_query,
)
from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from msinfusion.application.scheduling import SolverName
from msinfusion.errors import InvalidSchedulingProblem
from tests.e2e.api.world import NOW, World, actor_for, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in

DISCLAIMER = (
    "msinfusion supports clinicians; the current label and the prescriber have the last word"
)


@pytest.fixture
def world() -> World:
    return build_world()


def _second_patient(world: World) -> str:
    """A natalizumab visit booked at 11:00 in a second chair (see the module docstring)."""
    nurse = actor_for(world, Role.NURSE)
    patient = world.centre.records.add_patient(
        nurse, display_name="Synthetic Patient 02", height_cm=160, weight_kg=60, synthetic=True
    )
    chair = world.centre.records.add_chair(system_actor(NOW), name="Chair 2")
    physician = actor_for(world, Role.PHYSICIAN)
    first = (NOW - timedelta(weeks=4)).date()  # dose 1 four weeks ago: dose 2 due today
    order = world.centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="natalizumab", start_date=first
    )
    world.centre.clinical.record(
        nurse,
        patient.id,
        "given-dose",
        {"order_id": order.id, "dose_number": 1, "on": first.isoformat()},
    )
    appointment = world.centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id="natalizumab-300",
        dose_number=2,
        starts_at=NOW + timedelta(minutes=15),
    )
    return appointment.id


def _row(html: str, appointment_id: str) -> dict[str, str]:
    row = re.search(rf'<tr data-appointment="{appointment_id}">.*?</tr>', html, flags=re.DOTALL)
    assert row, f"no row for {appointment_id}"
    cells = re.findall(r'<td data-testid="([a-z]+)">(.*?)</td>', row.group(0), flags=re.DOTALL)
    return {name: value.strip() for name, value in cells} | {"html": row.group(0)}


def _metric(html: str, name: str) -> str:
    found = re.search(rf'<dd data-testid="{name}">(.*?)</dd>', html)
    assert found, f"no metric {name}"
    return found.group(1)


def test_a_nurse_sees_the_optimised_day_with_metrics_rows_and_chart(world: World) -> None:
    sign_in(world, Role.NURSE)
    board = world.client.get("/")
    assert '<a class="button" href="/schedule">Optimised day plan</a>' in board.text
    assert '<a href="/schedule">Day plan</a>' in board.text  # the navigation entry
    page = world.client.get("/schedule")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'aria-current="page">Day plan</a>' in html
    assert "Optimal: proven best" in html  # one started visit: CP-SAT proves it at once
    assert _metric(html, "visits-booked") == "1 of 1"
    assert _metric(html, "overtime") == "0 min after closing"
    assert _metric(html, "waiting") == "0 min beyond the booked starts"
    assert _metric(html, "peak-load").startswith("1 nurse busy")
    assert _metric(html, "bound-gap") == "0% — proven optimal"
    row = _row(html, world.ids["appointment"])
    assert "Synthetic Patient 01" in row["html"]
    assert "ocrelizumab-600-standard</a>, dose 3" in row["html"]
    assert "<td>Chair 1</td>" in row["html"]
    assert "started, stays put" in row["html"]  # symbol and words, not colour
    assert row["planned"] == "08:45 → 14:15"
    assert (row["booked"], row["change"]) == ("08:45", "no change")
    assert world.ids["spare_appointment"] not in html  # tomorrow's visit is not today's day
    assert "A proposal:</strong> nothing is re-booked or moved until a scheduler applies" in html
    assert DISCLAIMER in html
    assert '<svg role="img" aria-labelledby="gantt-caption"' in html
    assert 'id="gantt-caption"' in html
    assert "<?xml" not in html  # the SVG's prolog is dropped when inlined


def test_the_page_is_the_same_use_case_as_the_api_and_is_audited(world: World) -> None:
    second = _second_patient(world)
    sign_in(world, Role.SCHEDULER)
    html = world.client.get("/schedule?solver=greedy&nurses=1").text
    body = {"date": NOW.date().isoformat(), "nurses": 1, "solver": "greedy"}
    api = world.request(Role.SCHEDULER, "POST", "/api/schedule/day", json=body).json()
    visit = next(v for v in api["visits"] if v["id"] == second)
    assert (visit["start"][11:16], visit["end"][11:16]) == ("14:15", "16:15")
    row = _row(html, second)
    assert row["planned"] == "14:15 → 16:15"
    assert (row["booked"], row["change"]) == ("11:00", "+195 min (later)")
    assert (
        _metric(html, "waiting")
        == f"{api['metrics']['total_wait_min']} min beyond the booked starts"
    )
    assert _metric(html, "waiting").startswith("195 min")
    trail = world.request(Role.ADMIN, "GET", "/api/audit").json()
    scheduler = world.user_ids[Role.SCHEDULER]
    solves = [
        (e["user_id"], e["resource_id"], e["outcome"])
        for e in trail
        if e["action"] == "schedule.solve"
    ]
    assert solves.count((scheduler, NOW.date().isoformat(), "ok")) == 2  # page and API alike


def test_greedy_is_a_choice_and_says_it_proves_no_bound(world: World) -> None:
    second = _second_patient(world)
    sign_in(world, Role.NURSE)
    greedy = world.client.get("/schedule?solver=greedy&nurses=1")
    assert greedy.status_code == 200
    assert "Feasible: every rule is kept, but not proven best" in greedy.text
    assert '<span class="code">(greedy)</span>' in greedy.text
    assert _metric(greedy.text, "bound-gap").startswith("none proven")
    assert '<option value="greedy" selected>' in greedy.text
    assert "CP-SAT stops after" not in greedy.text
    two_nurses = world.client.get("/schedule?solver=greedy&nurses=2")
    assert _row(two_nurses.text, second)["change"] == "no change"
    assert _metric(two_nurses.text, "waiting").startswith("0 min")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN, Role.PHYSICIAN, Role.PHARMACIST])
def test_roles_without_plan_schedule_get_a_403_and_no_link(world: World, role: Role) -> None:
    sign_in(world, role)
    page = world.client.get("/schedule")
    assert page.status_code == 403
    assert 'role="alert"' in page.text
    assert "Synthetic Patient 01" not in page.text
    assert 'href="/schedule"' not in page.text
    other = world.client.get("/protocols")
    assert 'href="/schedule"' not in other.text
    if role is Role.VIEWER:
        assert "Optimised day plan" not in world.client.get("/").text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("solver=magic", "solver"),
        ("solver=", "solver"),
        ("nurses=0", "nurses"),
        ("nurses=201", "nurses"),
        ("nurses=two", "nurses"),
        ("nurses=-1", "nurses"),
        ("nurses=1.5", "nurses"),
    ],
)
def test_bad_query_parameters_are_a_422_page(world: World, query: str, field: str) -> None:
    sign_in(world, Role.NURSE)
    page = world.client.get(f"/schedule?{query}")
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert f"{field} must be" in page.text


def test_the_page_needs_a_signed_in_user(world: World) -> None:
    answer = world.client.get("/schedule", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/schedule"


def test_read_query_defaults_and_words() -> None:
    query = read_query({})
    assert (query.solver, query.nurses) == (SolverName.CPSAT, DEFAULT_NURSES)
    assert read_query({"solver": "greedy", "nurses": "200"}).nurses == 200
    with pytest.raises(InvalidSchedulingProblem) as caught:
        read_query({"nurses": "9999"})
    assert caught.value.field == "nurses"
    assert change_words(None) == "—"
    assert change_words(-10) == "-10 min (earlier)"
    assert change_words(25) == "+25 min (later)"
    assert gap_words(0.125, "feasible") == "12.5% from the best possible the solver could prove"
    assert gap_words(0.0, "feasible") == "0%"
