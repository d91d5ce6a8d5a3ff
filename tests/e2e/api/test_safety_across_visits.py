"""Safety across visits, enforced at every step: a life-threatening reaction makes the therapy
contraindicated for booking, check-in and start; a check-in must match its appointment; an
infusion starts only under an active order. Each refusal names its rule and stores nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from msinfusion.application.records import Appointment, Role
from tests.e2e.api.world import NOW, PROTOCOL_ID, World, identity_fields


def _command(world: World, session_id: str, body: dict[str, Any]) -> Any:
    version = world.service.get_version(session_id)
    return world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={"expected_version": version, "command": {"at": NOW.isoformat(), **body}},
    )


def _open(world: World, appointment_id: str) -> str:
    opened = world.request(
        Role.NURSE, "POST", "/api/sessions", json={"appointment_id": appointment_id}
    )
    assert opened.status_code == 201, opened.text
    session_id: str = opened.json()["session_id"]
    return session_id


def _check_in(world: World, session_id: str, patient_id: str, dose_number: int = 3) -> Any:
    return _command(
        world,
        session_id,
        {
            "command": "CheckIn",
            "patient_id": patient_id,
            "protocol_id": PROTOCOL_ID,
            "dose_number": dose_number,
            **identity_fields(world, patient_id),
        },
    )


def _ready_to_start(world: World, session_id: str) -> None:
    """The assessment and both required premedications, 30 min before the start at NOW."""
    given = (NOW - timedelta(minutes=30)).isoformat()
    for body in (
        {"command": "RecordAssessment", "passed": True},
        {"command": "GivePremedication", "drug": "methylprednisolone", "dose": "100 mg",
         "route": "IV", "at": given},
        {"command": "GivePremedication", "drug": "antihistamine", "dose": "25 mg",
         "route": "oral", "for_premedication": "antihistamine (e.g. diphenhydramine)",
         "at": given},
    ):  # fmt: skip
        answer = _command(world, session_id, body)
        assert answer.status_code == 200, answer.text


def _stored_appointment(world: World, name: str, *, order_id: str | None, patient_id: str) -> str:
    """An appointment written straight to storage (the chair is shared with the seed's)."""
    appointment = Appointment(
        id=f"appointment-{name}",
        patient_id=patient_id,
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


def test_after_anaphylaxis_the_therapy_cannot_be_booked_checked_in_or_started(
    world: World,
) -> None:
    patient = world.ids["patient"]
    # A second visit of the same patient is checked in before the reaction happens.
    order = world.ids["order"]
    later = _open(world, _stored_appointment(world, "later", order_id=order, patient_id=patient))
    assert _check_in(world, later, patient).status_code == 200
    # Life-threatening reaction in the running infusion: stopped, never give again.
    reaction = _command(
        world,
        world.ids["session"],
        {"command": "RecordReaction", "severity": "life-threatening", "symptoms": ["dyspnoea"]},
    )
    assert reaction.status_code == 200, reaction.text
    view = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}").json()
    assert view["view"]["therapy_contraindicated"] is True

    # Booking another ocrelizumab dose: 422 with the rule, nothing stored.
    with world.uow_factory() as uow:
        before = len(uow.appointments.list_for_patient(patient))
    booked = world.request(
        Role.SCHEDULER,
        "POST",
        "/api/appointments",
        json={
            "patient_id": patient,
            "chair_id": world.ids["chair"],
            "protocol_id": PROTOCOL_ID,
            "dose_number": 4,
            "starts_at": (NOW + timedelta(days=180)).isoformat(),
            "order_id": world.ids["order"],
        },
    )
    assert booked.status_code == 422, booked.text
    assert booked.json()["rule"] == "therapy-contraindicated"
    with world.uow_factory() as uow:
        assert len(uow.appointments.list_for_patient(patient)) == before

    # Checking in another visit: refused, nothing stored.
    fresh = _open(world, _stored_appointment(world, "fresh", order_id=order, patient_id=patient))
    refused = _check_in(world, fresh, patient)
    assert (refused.status_code, refused.json()["rule"]) == (422, "therapy-contraindicated")
    assert world.service.get_version(fresh) == 0

    # Starting the visit checked in before the reaction: refused at the start.
    _ready_to_start(world, later)
    before_start = world.service.get_version(later)
    started = _command(world, later, {"command": "StartInfusion", "rate_ml_per_h": 40})
    assert started.status_code == 422, started.text
    assert started.json()["rule"] == "therapy-contraindicated"
    assert world.service.get_version(later) == before_start


def test_a_check_in_for_another_patient_than_the_appointment_s_is_refused(
    world: World,
) -> None:
    session_id = _open(world, world.ids["spare_appointment"])
    wrong = _check_in(world, session_id, world.ids["patient"])
    assert (wrong.status_code, wrong.json()["rule"]) == (422, "appointment-mismatch")
    other_dose = _check_in(world, session_id, world.ids["other_patient"], dose_number=4)
    assert (other_dose.status_code, other_dose.json()["rule"]) == (422, "appointment-mismatch")
    assert world.service.get_version(session_id) == 0
    board = world.request(Role.NURSE, "GET", "/api/board?date=2026-03-03").json()
    (row,) = [r for r in board if r["appointment_id"] == world.ids["spare_appointment"]]
    assert row["patient_id"] == world.ids["other_patient"]


def test_an_infusion_without_an_order_cannot_start(world: World) -> None:
    patient = world.ids["other_patient"]
    session_id = _open(
        world, _stored_appointment(world, "unordered", order_id=None, patient_id=patient)
    )
    assert _check_in(world, session_id, patient).status_code == 200
    _ready_to_start(world, session_id)
    before = world.service.get_version(session_id)
    started = _command(world, session_id, {"command": "StartInfusion", "rate_ml_per_h": 40})
    assert started.status_code == 422, started.text
    assert started.json()["rule"] == "order-missing"
    assert world.service.get_version(session_id) == before


MRN = "urn:oid:2.16.756.5.30.1.1"  # an example issuer namespace; the value is synthetic


def test_a_patient_has_identifiers_a_birth_date_and_allergies_and_is_not_synthetic(
    world: World,
) -> None:
    created = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={
            "display_name": "Ada Example",
            "date_of_birth": "1980-05-17",
            "sex": "female",
            "identifiers": [{"system": MRN, "value": "MRN-0042"}],
            "allergies": [
                {"substance": "paracetamol", "reaction": "urticaria", "severity": "moderate",
                 "source": "patient"},
            ],
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    patient = created.json()
    read = world.request(Role.NURSE, "GET", f"/api/patients/{patient['id']}").json()
    assert read["identifiers"] == [{"system": MRN, "value": "MRN-0042"}]
    assert read["birth_date"] == read["date_of_birth"] == "1980-05-17"
    assert read["allergies"] == [
        {"substance": "paracetamol", "reaction": "urticaria", "severity": "moderate",
         "source": "patient"},
    ]  # fmt: skip
    assert read["synthetic"] is False  # only demo data says synthetic
    assert read["contraindicated_therapy_ids"] == []
    # The same MRN cannot name a second patient; nothing is stored.
    with world.uow_factory() as uow:
        before = len(uow.patients.list())
    again = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={
            "display_name": "Someone Else",
            "identifiers": [{"system": MRN, "value": "MRN-0042"}],
        },
    )
    assert (again.status_code, again.json()["field"]) == (409, "identifiers")
    twice = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={
            "display_name": "Two MRNs",
            "identifiers": [{"system": MRN, "value": "A"}, {"system": MRN, "value": "B"}],
        },
    )
    assert (twice.status_code, twice.json()["field"]) == (422, "identifiers")
    with world.uow_factory() as uow:
        assert len(uow.patients.list()) == before


def test_the_patient_lists_a_therapy_a_reaction_discontinued(world: World) -> None:
    reaction = _command(
        world,
        world.ids["session"],
        {"command": "RecordReaction", "severity": "life-threatening", "symptoms": ["dyspnoea"]},
    )
    assert reaction.status_code == 200, reaction.text
    read = world.request(Role.NURSE, "GET", f"/api/patients/{world.ids['patient']}").json()
    assert read["contraindicated_therapy_ids"] == ["ocrelizumab"]
