"""Pharmacy verification and the bag check at the chair, over the service layer and the API.

A dose is verified by a pharmacist only (a nurse is refused and the refusal audited), prepared,
and checked by a second pharmacist — never by the one who prepared it. At the chair the start
is refused, storing nothing, when the bag scanned is not the dose's verified preparation
(``bag-mismatch``) or the dose's bag is not released (``bag-not-verified``); a dose the pharmacy
never handled starts without a bag id, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from msinfusion.application.accounts import Principal
from msinfusion.application.audit import Actor, system_actor
from msinfusion.application.pharmacy import Pharmacy
from msinfusion.application.pharmacy_records import DosePreparation, PreparationStatus
from msinfusion.application.records import Appointment, Role
from msinfusion.catalog import shipped_catalog
from msinfusion.errors import CommandRefused, InvalidCommand, PermissionDenied
from tests.e2e.api.world import NOW, PASSWORD, PROTOCOL_ID, World, actor_for, build_world
from tests.e2e.api.world import identity_fields as identity

EXPIRY = date(2027, 1, 31)


@dataclass
class Pharmacists:
    pharmacy: Pharmacy
    first: Actor
    second: Principal


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def pharmacists(world: World) -> Pharmacists:
    centre = world.centre
    user = centre.accounts.create_user(
        system_actor(NOW), username="pharmacist2", role=Role.PHARMACIST, password=PASSWORD
    )
    return Pharmacists(
        pharmacy=Pharmacy(centre.access, centre.clinical, shipped_catalog(), centre_tz=UTC),
        first=actor_for(world, Role.PHARMACIST),
        second=centre.accounts.get_principal(user.id),
    )


def other_order(world: World) -> str:
    with world.uow_factory() as uow:
        order_id = uow.appointments.get(world.ids["spare_appointment"]).order_id
    assert order_id is not None
    return order_id


def stored_appointment(world: World, name: str, *, order_id: str | None) -> str:
    """Today's appointment for the second synthetic patient (on the seed's chair)."""
    appointment = Appointment(
        id=f"appointment-{name}",
        patient_id=world.ids["other_patient"],
        chair_id=world.ids["chair"],
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=5),
        order_id=order_id,
    )
    with world.uow_factory() as uow:
        uow.appointments.add(appointment)
        uow.commit()
    return appointment.id


def command(world: World, session_id: str, body: dict[str, Any]) -> Any:
    version = world.service.get_version(session_id)
    return world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={"expected_version": version, "command": {"at": NOW.isoformat(), **body}},
    )


def visit_ready_to_start(world: World, appointment_id: str) -> str:
    """Open the appointment's session, check in, assess and premedicate (start due at NOW)."""
    opened = world.request(
        Role.NURSE, "POST", "/api/sessions", json={"appointment_id": appointment_id}
    )
    assert opened.status_code == 201, opened.text
    session_id: str = opened.json()["session_id"]
    patient = world.ids["other_patient"]
    given = (NOW - timedelta(minutes=30)).isoformat()
    for body in (
        {"command": "CheckIn", "patient_id": patient, "protocol_id": PROTOCOL_ID,
         "dose_number": 3, **identity(world, patient)},
        {"command": "RecordAssessment", "passed": True},
        {"command": "GivePremedication", "drug": "methylprednisolone", "dose": "100 mg",
         "route": "IV", "at": given},
        {"command": "GivePremedication", "drug": "antihistamine", "dose": "25 mg",
         "route": "oral", "for_premedication": "antihistamine (e.g. diphenhydramine)",
         "at": given},
    ):  # fmt: skip
        answer = command(world, session_id, body)
        assert answer.status_code == 200, answer.text
    return session_id


def prepare(p: Pharmacists, preparation: DosePreparation, **changes: Any) -> DosePreparation:
    values: dict[str, Any] = {
        "product": "Ocrevus 300 mg/10 mL concentrate",
        "lot": "H0123",
        "expiry": EXPIRY,
        "prepared_volume_ml": Decimal(500),
        "diluent": "sodium chloride 0.9%",
        **changes,
    }
    return p.pharmacy.record_preparation(p.first, preparation.id, **values)


def released(p: Pharmacists, appointment_id: str) -> DosePreparation:
    verified = p.pharmacy.verify(p.first, appointment_id)
    prepare(p, verified)
    return p.pharmacy.check_preparation(p.first, verified.id, checker=p.second)


def start(world: World, session_id: str, bag_id: str | None) -> Any:
    body: dict[str, Any] = {"command": "StartInfusion", "rate_ml_per_h": 40}
    if bag_id is not None:
        body["bag_id"] = bag_id
    return command(world, session_id, body)


# -- verification ---------------------------------------------------------------------------


def test_only_a_pharmacist_verifies_and_the_refusal_is_audited(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "a", order_id=other_order(world))
    nurse = actor_for(world, Role.NURSE)
    with pytest.raises(PermissionDenied):
        pharmacists.pharmacy.verify(nurse, appointment_id)
    with pytest.raises(PermissionDenied):
        pharmacists.pharmacy.return_dose(nurse, appointment_id, reason="no")
    with world.uow_factory() as uow:
        assert uow.preparations.list_for_appointment(appointment_id) == []
        denied = [e for e in uow.audit.list() if e.action == "pharmacy.verify"]
    assert [(e.user_id, e.outcome) for e in denied] == [(nurse.user_id, "denied")]
    verified = pharmacists.pharmacy.verify(pharmacists.first, appointment_id)
    assert verified.status is PreparationStatus.VERIFIED
    assert verified.verified_by == pharmacists.first.user_id
    assert verified.protocol_version == shipped_catalog().get_protocol(PROTOCOL_ID).version
    with world.uow_factory() as uow:
        outcomes = [e.outcome for e in uow.audit.list() if e.action == "pharmacy.verify"]
    assert outcomes == ["denied", "ok"]


def test_a_dose_without_an_active_order_is_not_verified(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "unordered", order_id=None)
    with pytest.raises(InvalidCommand) as refused:
        pharmacists.pharmacy.verify(pharmacists.first, appointment_id)
    assert refused.value.field == "order_id"


def test_the_queue_shows_order_protocol_version_gates_and_labs(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "q", order_id=other_order(world))
    queue = pharmacists.pharmacy.list_queue(pharmacists.first, NOW.date())
    dose = next(d for d in queue.doses if d.appointment.id == appointment_id)
    assert dose.order is not None
    assert dose.order.therapy_id == "ocrelizumab"
    assert dose.protocol.version
    assert dose.gates
    assert dose.gate_problem is None
    assert {str(lab.data["test"]) for lab in dose.labs} >= {"hbsag", "anti_hbc"}
    assert dose.preparation is None


def test_a_return_needs_a_reason_voids_the_bag_and_a_new_verification_gets_a_new_id(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "r", order_id=other_order(world))
    first = released(pharmacists, appointment_id)
    with pytest.raises(InvalidCommand) as refused:
        pharmacists.pharmacy.return_dose(pharmacists.first, appointment_id, reason="  ")
    assert refused.value.field == "reason"
    returned = pharmacists.pharmacy.return_dose(
        pharmacists.first, appointment_id, reason="weight changed: ask for a new order"
    )
    assert (returned.id, returned.status) == (first.id, PreparationStatus.RETURNED)
    # Decisions are ordered by their time: the new verification comes a minute later.
    later = replace(pharmacists.first, at=pharmacists.first.at + timedelta(minutes=1))
    again = pharmacists.pharmacy.verify(later, appointment_id)
    assert again.id != first.id
    queue = pharmacists.pharmacy.list_queue(pharmacists.first, NOW.date())
    dose = next(d for d in queue.doses if d.appointment.id == appointment_id)
    assert dose.preparation == again
    assert [r.status for r in dose.rows] == [PreparationStatus.RETURNED, PreparationStatus.VERIFIED]


def test_a_preparation_names_its_product_lot_expiry_volume_and_diluent(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "p", order_id=other_order(world))
    verified = pharmacists.pharmacy.verify(pharmacists.first, appointment_id)
    for changes, field in (
        ({"expiry": NOW.date() - timedelta(days=1)}, "expiry"),
        ({"prepared_volume_ml": Decimal(0)}, "prepared_volume_ml"),
        ({"lot": " "}, "lot"),
        ({"prepared_at": NOW + timedelta(hours=1)}, "prepared_at"),
    ):
        with pytest.raises(InvalidCommand) as refused:
            prepare(pharmacists, verified, **changes)
        assert refused.value.field == field
    made = prepare(pharmacists, verified, prepared_at=NOW - timedelta(minutes=20))
    assert made.status is PreparationStatus.PREPARED
    assert (made.lot, made.expiry, made.prepared_volume_ml) == ("H0123", EXPIRY, Decimal(500))
    assert made.prepared_by == pharmacists.first.user_id
    assert made.prepared_at == NOW - timedelta(minutes=20)


def test_the_second_check_is_made_by_another_person(world: World, pharmacists: Pharmacists) -> None:
    appointment_id = stored_appointment(world, "c", order_id=other_order(world))
    verified = pharmacists.pharmacy.verify(pharmacists.first, appointment_id)
    with pytest.raises(InvalidCommand):  # not prepared yet
        pharmacists.pharmacy.check_preparation(
            pharmacists.first, verified.id, checker=pharmacists.second
        )
    prepare(pharmacists, verified)
    me = world.centre.accounts.get_principal(pharmacists.first.user_id)
    with pytest.raises(InvalidCommand) as refused:
        pharmacists.pharmacy.check_preparation(pharmacists.first, verified.id, checker=me)
    assert refused.value.field == "checked_by"
    nurse = world.centre.accounts.get_principal(world.user_ids[Role.NURSE])
    with pytest.raises(PermissionDenied):
        pharmacists.pharmacy.check_preparation(pharmacists.first, verified.id, checker=nurse)
    checked = pharmacists.pharmacy.check_preparation(
        pharmacists.first, verified.id, checker=pharmacists.second
    )
    assert checked.status is PreparationStatus.CHECKED
    assert checked.checked_by == pharmacists.second.user_id != checked.prepared_by


# -- the bag at the chair -------------------------------------------------------------------


def test_a_wrong_bag_is_refused_at_the_start_and_nothing_is_stored(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "bag", order_id=other_order(world))
    bag = released(pharmacists, appointment_id)
    session_id = visit_ready_to_start(world, appointment_id)
    before = world.service.get_version(session_id)
    for scanned in (None, "prep-0000000000000000", "  "):
        refused = start(world, session_id, scanned)
        assert refused.status_code == 422, refused.text
        assert refused.json()["rule"] == "bag-mismatch"
    assert world.service.get_version(session_id) == before
    started = start(world, session_id, f"  {bag.id.upper()}\n")  # as a scanner may send it
    assert started.status_code == 200, started.text
    assert world.service.get_state(session_id).status.value == "infusing"
    with world.uow_factory() as uow:
        outcomes = [
            e.outcome
            for e in uow.audit.list(resource_type="session")
            if e.action == "session.command.StartInfusion" and e.resource_id == session_id
        ]
    assert outcomes == ["refused:bag-mismatch"] * 3 + ["ok"]


def test_a_bag_not_yet_checked_or_returned_is_not_verified(
    world: World, pharmacists: Pharmacists
) -> None:
    appointment_id = stored_appointment(world, "unchecked", order_id=other_order(world))
    verified = pharmacists.pharmacy.verify(pharmacists.first, appointment_id)
    prepare(pharmacists, verified)
    session_id = visit_ready_to_start(world, appointment_id)
    before = world.service.get_version(session_id)
    refused = start(world, session_id, verified.id)
    assert refused.status_code == 422
    assert refused.json()["rule"] == "bag-not-verified"
    pharmacists.pharmacy.check_preparation(
        pharmacists.first, verified.id, checker=pharmacists.second
    )
    pharmacists.pharmacy.return_dose(pharmacists.first, appointment_id, reason="wrong diluent")
    refused = start(world, session_id, verified.id)
    assert refused.json()["rule"] == "bag-not-verified"
    assert world.service.get_version(session_id) == before


def test_a_dose_the_pharmacy_never_handled_starts_without_a_bag_but_not_with_a_stray_one(
    world: World,
) -> None:
    appointment_id = stored_appointment(world, "plain", order_id=other_order(world))
    session_id = visit_ready_to_start(world, appointment_id)
    stray = start(world, session_id, "prep-1234567890abcdef")
    assert stray.status_code == 422
    assert stray.json()["rule"] == "bag-not-verified"
    assert start(world, session_id, None).status_code == 200


def test_a_therapy_the_patients_history_contraindicates_is_flagged_and_never_verified(
    world: World, pharmacists: Pharmacists
) -> None:
    centre = world.centre
    pharmacy = Pharmacy(
        centre.access,
        centre.clinical,
        shipped_catalog(),
        centre_tz=UTC,
        streams=centre.sessions.streams,
    )
    spare = stored_appointment(world, "contraindicated", order_id=other_order(world))
    with world.uow_factory() as uow:
        record = uow.patients.get(world.ids["other_patient"])
        uow.patients.update(replace(record, contraindicated_therapy_ids=("ocrelizumab",)))
        uow.commit()
    (dose,) = [
        d
        for d in pharmacy.list_queue(pharmacists.first, NOW.date()).doses
        if d.appointment.id == spare
    ]
    assert dose.contraindicated_because == "recorded as contraindicated in the patient record"
    with pytest.raises(CommandRefused) as refused:
        pharmacy.verify(pharmacists.first, spare)
    assert refused.value.rule == "therapy-contraindicated"
    with world.uow_factory() as uow:
        assert uow.preparations.list_for_appointment(spare) == []


def test_a_patients_audit_search_finds_the_pharmacy_steps(
    world: World, pharmacists: Pharmacists
) -> None:
    from msinfusion.application.queries import AuditSearch

    appointment_id = stored_appointment(world, "audited", order_id=other_order(world))
    bag = released(pharmacists, appointment_id)
    found = world.centre.queries.search_audit(
        actor_for(world, Role.ADMIN),
        AuditSearch(patient_id=world.ids["other_patient"], action="pharmacy"),
    )
    steps = [(e.action, e.resource_id) for e in found]
    assert steps[:3] == [
        ("pharmacy.check", bag.id),
        ("pharmacy.prepare", bag.id),
        ("pharmacy.verify", appointment_id),
    ]
    others = world.centre.queries.search_audit(
        actor_for(world, Role.ADMIN),
        AuditSearch(patient_id=world.ids["patient"], action="pharmacy"),
    )
    assert bag.id not in {e.resource_id for e in others}
