"""Booking a series all or nothing, the booked day's nurse load, and applying a day plan to the
day's bookings with its refusals (issue 18, booking)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from msinfusion.application.audit import system_actor
from msinfusion.application.booking_rules import SeriesDose
from msinfusion.application.plan_apply import PlannedMove
from msinfusion.application.records import AppointmentStatus, Role
from msinfusion.application.schedule_day import DaySettings
from msinfusion.errors import DoseTooEarly, InvalidCommand
from tests.e2e.api.world import NOW, PROTOCOL_ID, World, actor_for, build_world, patient_on_course

INITIAL = "ocrelizumab-300-initial"
TOMORROW = NOW.date() + timedelta(days=1)


@pytest.fixture
def world() -> World:
    return build_world()


def _new_order(world: World) -> str:
    physician = actor_for(world, Role.PHYSICIAN)
    order = world.centre.records.add_order(
        physician,
        patient_id=world.ids["other_patient"],
        therapy_id="ocrelizumab",
        start_date=NOW.date() + timedelta(days=7),
    )
    return order.id


def _at(days: int, hour: int) -> datetime:
    return datetime.combine(NOW.date() + timedelta(days=days), time(hour), tzinfo=UTC)


def _audit(world: World, action: str) -> list[str]:
    with world.uow_factory() as uow:
        return [e.outcome for e in uow.audit.list() if e.action == action]


def test_a_series_books_day_1_and_day_15_in_one_step(world: World) -> None:
    order_id = _new_order(world)
    chair = world.ids["chair"]
    booked = world.centre.records.book_series(
        actor_for(world, Role.SCHEDULER),
        patient_id=world.ids["other_patient"],
        order_id=order_id,
        doses=[
            SeriesDose(dose_number=1, protocol_id=INITIAL, chair_id=chair, starts_at=_at(7, 9)),
            SeriesDose(dose_number=2, protocol_id=INITIAL, chair_id=chair, starts_at=_at(21, 9)),
        ],
    )
    assert [(a.dose_number, a.starts_at) for a in booked] == [(1, _at(7, 9)), (2, _at(21, 9))]
    assert all(a.ends_at > a.starts_at for a in booked)
    assert _audit(world, "appointment.series") == ["ok"]
    assert _audit(world, "appointment.create").count("ok") >= 2


def test_a_series_with_one_refused_dose_books_none_and_names_the_dose(world: World) -> None:
    order_id = _new_order(world)
    chair = world.ids["chair"]
    with pytest.raises(DoseTooEarly) as refused:
        world.centre.records.book_series(
            actor_for(world, Role.SCHEDULER),
            patient_id=world.ids["other_patient"],
            order_id=order_id,
            doses=[
                SeriesDose(dose_number=1, protocol_id=INITIAL, chair_id=chair, starts_at=_at(7, 9)),
                # Day 4 after dose 1: before the earliest date of the second 300 mg infusion.
                SeriesDose(
                    dose_number=2, protocol_id=INITIAL, chair_id=chair, starts_at=_at(10, 9)
                ),
            ],
        )
    assert refused.value.message.startswith("doses[1] (dose 2): ")
    with world.uow_factory() as uow:
        mine = [a for a in uow.appointments.list() if a.order_id == order_id]
    assert mine == []
    assert _audit(world, "appointment.series") == ["invalid"]


def test_an_empty_series_is_refused_naming_doses(world: World) -> None:
    with pytest.raises(InvalidCommand) as refused:
        world.centre.records.book_series(
            actor_for(world, Role.SCHEDULER),
            patient_id=world.ids["other_patient"],
            order_id=_new_order(world),
            doses=[],
        )
    assert refused.value.field == "doses"


def _settings(nurses: int = 2) -> DaySettings:
    return DaySettings(day=TOMORROW, zone=UTC, nurses=nurses)


def test_nurse_load_per_hour_counts_the_booked_visit_in_its_hours(world: World) -> None:
    hours = world.centre.scheduling.nurse_load(actor_for(world, Role.SCHEDULER), _settings())
    by_hour = {h.starts_at.hour: h for h in hours}
    # The spare visit is booked tomorrow 10:45 (world.seed) for the planned chair time.
    assert by_hour[8].visits_in_chairs == 0
    assert by_hour[10].visits_in_chairs == 1
    assert by_hour[11].visits_in_chairs == 1
    # 2 nurses, one watches at most 4 infusing patients: 8 load units.
    assert {h.capacity_units for h in hours} == {8}
    # Setting up the visit holds a whole nurse (4 units) in its first minutes.
    assert by_hour[10].peak_load_units == 4
    assert not any(h.is_over for h in hours)
    one_nurse = world.centre.scheduling.nurse_load(actor_for(world, Role.SCHEDULER), _settings(1))
    assert {h.capacity_units for h in one_nurse} == {4}


def _spare_move(world: World, chair_id: str, starts_at: datetime, **before: object) -> PlannedMove:
    spare = world.centre.queries.get_appointment(
        actor_for(world, Role.SCHEDULER), world.ids["spare_appointment"]
    )
    return PlannedMove(
        appointment_id=spare.id,
        chair_before=str(before.get("chair", spare.chair_id)),
        starts_before=before.get("start", spare.starts_at),  # type: ignore[arg-type]
        chair_id=chair_id,
        starts_at=starts_at,
    )


def test_applying_a_plan_moves_the_booking_and_audits_each_move(world: World) -> None:
    chair2 = world.centre.records.add_chair(system_actor(NOW), name="Chair 2")
    scheduler = actor_for(world, Role.SCHEDULER)
    move = _spare_move(world, chair2.id, _at(1, 9))
    before = world.centre.queries.get_appointment(scheduler, move.appointment_id)
    [applied] = world.centre.scheduling.apply_plan(scheduler, _settings(), [move])
    assert (applied.before.chair_id, applied.before.starts_at) == (
        world.ids["chair"],
        NOW + timedelta(days=1),
    )
    stored = world.centre.queries.get_appointment(scheduler, move.appointment_id)
    assert (stored.chair_id, stored.starts_at) == (chair2.id, _at(1, 9))
    assert stored.ends_at - stored.starts_at == before.ends_at - before.starts_at
    assert _audit(world, "appointment.move") == ["ok"]
    assert _audit(world, "schedule.apply") == ["ok"]


def test_a_booking_changed_meanwhile_refuses_the_whole_plan(world: World) -> None:
    chair2 = world.centre.records.add_chair(system_actor(NOW), name="Chair 2")
    scheduler = actor_for(world, Role.SCHEDULER)
    stale = _spare_move(world, chair2.id, _at(1, 9), start=_at(1, 8))
    with pytest.raises(InvalidCommand, match="changed after the plan was made") as refused:
        world.centre.scheduling.apply_plan(scheduler, _settings(), [stale])
    assert refused.value.field == "moves[0]"
    stored = world.centre.queries.get_appointment(scheduler, stale.appointment_id)
    assert (stored.chair_id, stored.starts_at) == (world.ids["chair"], NOW + timedelta(days=1))
    assert _audit(world, "schedule.apply") == ["invalid"]
    assert _audit(world, "appointment.move") == []


def test_a_started_session_keeps_its_chair_and_time(world: World) -> None:
    chair2 = world.centre.records.add_chair(system_actor(NOW), name="Chair 2")
    scheduler = actor_for(world, Role.SCHEDULER)
    started = world.centre.queries.get_appointment(scheduler, world.ids["appointment"])
    move = PlannedMove(
        appointment_id=started.id,
        chair_before=started.chair_id,
        starts_before=started.starts_at,
        chair_id=chair2.id,
        starts_at=started.starts_at,
    )
    today = DaySettings(day=NOW.date(), zone=UTC, nurses=2)
    with pytest.raises(InvalidCommand, match="keeps its chair and time"):
        world.centre.scheduling.apply_plan(scheduler, today, [move])
    assert world.centre.queries.get_appointment(scheduler, started.id).chair_id == started.chair_id


def test_a_move_onto_an_occupied_chair_is_refused_by_the_independent_check(world: World) -> None:
    system = system_actor(NOW)
    chair2 = world.centre.records.add_chair(system, name="Chair 2")
    physician, nurse = actor_for(world, Role.PHYSICIAN), actor_for(world, Role.NURSE)
    third, order = patient_on_course(world.centre, physician, nurse, "Synthetic Patient 03")
    world.centre.records.book_appointment(
        nurse,
        patient_id=third.id,
        chair_id=chair2.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=_at(1, 12),
        order_id=order.id,
    )
    move = _spare_move(world, chair2.id, _at(1, 11))
    with pytest.raises(InvalidCommand, match="chair-overlap") as refused:
        world.centre.scheduling.apply_plan(actor_for(world, Role.SCHEDULER), _settings(), [move])
    assert refused.value.field == "moves"
    spare = world.centre.queries.get_appointment(nurse, move.appointment_id)
    assert spare.chair_id == world.ids["chair"]
    assert spare.status is AppointmentStatus.BOOKED


def test_a_viewer_may_not_apply_a_plan(world: World) -> None:
    from msinfusion.errors import PermissionDenied

    move = _spare_move(world, world.ids["chair"], _at(1, 9))
    with pytest.raises(PermissionDenied):
        world.centre.scheduling.apply_plan(actor_for(world, Role.VIEWER), _settings(), [move])
