"""The booking page's series form and nurse load, and applying the day plan from ``/schedule``
over a TestClient (issue 18, booking)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from msinfusion.adapters.web.settings import Settings
from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, actor_for, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in

INITIAL = "ocrelizumab-300-initial"
START = NOW.date() + timedelta(days=7)


@pytest.fixture
def world() -> World:
    return build_world()


def _order(world: World) -> str:
    order = world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=world.ids["other_patient"],
        therapy_id="ocrelizumab",
        start_date=START,
    )
    return order.id


def _series(world: World, token: str, order_id: str, **days: str) -> object:
    data = {
        "csrf_token": token,
        "order_id": order_id,
        "series_dose_1": "yes",
        "series_dose_2": "yes",
        "series_day_1": days.get("day1", START.isoformat()),
        "series_day_2": days.get("day2", (START + timedelta(days=14)).isoformat()),
        "series_time": days.get("time", "09:00"),
        "series_chair_id": world.ids["chair"],
    }
    return world.client.post("/appointments/series", data=data, follow_redirects=False)


def _order_bookings(world: World, order_id: str) -> list[tuple[int, str]]:
    with world.uow_factory() as uow:
        return sorted(
            (a.dose_number, a.starts_at.date().isoformat())
            for a in uow.appointments.list()
            if a.order_id == order_id
        )


def test_the_series_form_ticks_day_1_and_15_and_books_both(world: World) -> None:
    order_id = _order(world)
    token = sign_in(world, Role.SCHEDULER)
    booking = world.client.get("/appointments/new", params={"order_id": order_id})
    assert f'href="/appointments/series?order_id={order_id}"' in booking.text
    page = world.client.get("/appointments/series", params={"order_id": order_id})
    assert page.status_code == 200
    form = page.text[page.text.index('id="series-form"') :]
    assert re.search(r'name="series_dose_1" value="yes" checked', form)
    assert re.search(r'name="series_dose_2" value="yes" checked', form)
    assert not re.search(r'name="series_dose_3" value="yes" checked', form)
    assert f'name="series_day_2" value="{START + timedelta(days=14)}"' in form
    answer = _series(world, token, order_id)
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    assert "booked_series=2" in answer.headers["location"]  # type: ignore[attr-defined]
    assert _order_bookings(world, order_id) == [
        (1, START.isoformat()),
        (2, (START + timedelta(days=14)).isoformat()),
    ]


def test_a_refused_dose_books_no_dose_of_the_series(world: World) -> None:
    order_id = _order(world)
    token = sign_in(world, Role.SCHEDULER)
    early = _series(world, token, order_id, day2=(START + timedelta(days=3)).isoformat())
    assert early.status_code == 422  # type: ignore[attr-defined]
    assert "doses[1] (dose 2):" in early.text  # type: ignore[attr-defined]
    assert "Nothing was stored" in early.text  # type: ignore[attr-defined]
    assert _order_bookings(world, order_id) == []


def test_series_warnings_need_confirming_and_name_the_field(world: World) -> None:
    order_id = _order(world)
    token = sign_in(world, Role.SCHEDULER)
    late = _series(world, token, order_id, time="17:30")
    assert late.status_code == 422  # type: ignore[attr-defined]
    assert 'data-testid="error-field">confirm_series<' in late.text  # type: ignore[attr-defined]
    assert "Dose 1: Past closing" in late.text  # type: ignore[attr-defined]
    assert _order_bookings(world, order_id) == []
    missing = _series(world, token, order_id, time="")
    assert 'data-testid="error-field">series_time<' in missing.text  # type: ignore[attr-defined]


def test_opening_hours_come_from_the_centre_settings() -> None:
    settings = Settings.from_env({"MSINFUSION_OPENS": "07:00", "MSINFUSION_CLOSES": "20:00"})
    world = build_world(settings=settings)
    order_id = _order(world)
    token = sign_in(world, Role.SCHEDULER)
    # At 15:00 the 4 h 38 min visit ends at 19:38: past 18:00, but the centre closes at 20:00.
    answer = _series(world, token, order_id, time="15:00")
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    page = world.client.get("/appointments/new", params={"order_id": order_id})
    assert "open 07:00\u201320:00" in page.text
    early = world.client.get(
        "/appointments/new/preview",
        params={"order_id": order_id, "dose_number": "3", "time": "06:30"},
    )
    assert "Before opening: the centre opens at 07:00." in early.text


def test_bad_opening_hours_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="MSINFUSION_OPENS: '7h' is not a time of day HH:MM"):
        Settings.from_env({"MSINFUSION_OPENS": "7h"})
    with pytest.raises(ValueError, match="MSINFUSION_CLOSES: must be after MSINFUSION_OPENS"):
        Settings.from_env({"MSINFUSION_OPENS": "18:00", "MSINFUSION_CLOSES": "08:00"})


def test_the_booking_page_shows_the_nurse_load_of_the_chosen_day(world: World) -> None:
    sign_in(world, Role.SCHEDULER)
    tomorrow = NOW.date() + timedelta(days=1)
    page = world.client.get(
        "/appointments/new/preview",
        params={"order_id": world.ids["order"], "day": tomorrow.isoformat()},
    )
    assert page.status_code == 200
    assert "2 nurses on duty" in page.text
    row = re.search(r'<tr data-hour="10">(.*?)</tr>', page.text, flags=re.DOTALL)
    assert row
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    # The spare visit booked tomorrow 10:45; set-up holds a whole nurse: 4 of 2 x 4 units.
    assert cells[1:] == ["1", "4 of 8 load units"]


def _off_grid_visit(world: World) -> str:
    """A natalizumab visit booked today at 11:02 in Chair 2: the plan's 5-minute grid from
    08:00 moves it to 11:05 (waiting is minimised, so no later)."""
    nurse = actor_for(world, Role.NURSE)
    patient = world.centre.records.add_patient(
        nurse, display_name="Synthetic Patient 05", height_cm=160, weight_kg=60, synthetic=True
    )
    chair = world.centre.records.add_chair(system_actor(NOW), name="Chair 2")
    first = (NOW - timedelta(weeks=4)).date()
    order = world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=patient.id,
        therapy_id="natalizumab",
        start_date=first,
    )
    world.centre.clinical.record(
        nurse,
        patient.id,
        "given-dose",
        {"order_id": order.id, "dose_number": 1, "on": first.isoformat()},
    )
    return world.centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id="natalizumab-300",
        dose_number=2,
        starts_at=NOW + timedelta(minutes=17),
    ).id


def test_the_scheduler_applies_the_plan_and_sees_what_changed(world: World) -> None:
    appointment_id = _off_grid_visit(world)
    token = sign_in(world, Role.SCHEDULER)
    page = world.client.get("/schedule", params={"solver": "greedy"})
    assert page.status_code == 200
    moves = re.findall(r'<input type="hidden" name="move" value="([^"]+)">', page.text)
    assert [m.split("|")[0] for m in moves] == [appointment_id]
    applied = world.client.post("/schedule/apply", data={"csrf_token": token, "move": moves})
    assert applied.status_code == 200, applied.text
    row = re.search(rf'<tr data-appointment="{appointment_id}">(.*?)</tr>', applied.text, re.S)
    assert row
    assert "Chair 2, 11:02\u2013" in row.group(1)
    assert "Chair 2, 11:05\u2013" in row.group(1)
    stored = world.centre.queries.get_appointment(actor_for(world, Role.SCHEDULER), appointment_id)
    assert stored.starts_at == NOW + timedelta(minutes=20)
    again = world.client.post("/schedule/apply", data={"csrf_token": token, "move": moves})
    assert again.status_code == 422
    assert "changed after the plan was made" in again.text
    assert 'data-testid="error-field">moves[0]<' in again.text


def test_applying_needs_the_csrf_token_and_a_booking_role(world: World) -> None:
    appointment_id = _off_grid_visit(world)
    sign_in(world, Role.SCHEDULER)
    move = f"{appointment_id}|x|2026-03-02T11:02:00+00:00|x|2026-03-02T11:05:00+00:00"
    assert world.client.post("/schedule/apply", data={"move": move}).status_code == 403
    token = sign_in(world, Role.VIEWER)
    denied = world.client.post("/schedule/apply", data={"csrf_token": token, "move": move})
    assert denied.status_code == 403
    token = sign_in(world, Role.SCHEDULER)
    bad = world.client.post("/schedule/apply", data={"csrf_token": token, "move": "nonsense"})
    assert bad.status_code == 422
    assert "moves[0]: not a move of the plan" in bad.text
