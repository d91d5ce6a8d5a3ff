"""At the chair, through the API: two identifiers at check-in, premedication that counts only
when drug, dose and route match the protocol, implausible doses, allergy warnings, and a
physician's verbal order co-signed later. Every refusal names its rule and stores nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from msinfusion.application.records import Allergy, Role
from tests.e2e.api.world import BIRTH_DATE, NOW, PROTOCOL_ID, World, identity_fields


def _send(world: World, role: Role, session_id: str, body: dict[str, Any]) -> Any:
    version = world.service.get_version(session_id)
    return world.request(
        role,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={"expected_version": version, "command": {"at": NOW.isoformat(), **body}},
    )


def _opened(world: World) -> tuple[str, str]:
    """The spare appointment's session, not checked in: (session id, patient id)."""
    opened = world.request(
        Role.NURSE, "POST", "/api/sessions", json={"appointment_id": world.ids["spare_appointment"]}
    )
    assert opened.status_code == 201, opened.text
    return opened.json()["session_id"], world.ids["other_patient"]


CHECK_IN = {"command": "CheckIn", "protocol_id": PROTOCOL_ID, "dose_number": 3}


def _checked_in(world: World) -> tuple[str, str]:
    session_id, patient_id = _opened(world)
    body = {**CHECK_IN, "patient_id": patient_id, **identity_fields(world, patient_id)}
    answer = _send(world, Role.NURSE, session_id, body)
    assert answer.status_code == 200, answer.text
    assessed = _send(world, Role.NURSE, session_id, {"command": "RecordAssessment", "passed": True})
    assert assessed.status_code == 200, assessed.text
    return session_id, patient_id


def _refused(answer: Any, rule: str) -> str:
    assert answer.status_code == 422, answer.text
    assert answer.json()["rule"] == rule, answer.text
    message: str = answer.json()["message"]
    return message


def _premed(drug: str, dose: str, route: str, minutes_before: int = 30, **extra: Any) -> dict:
    return {
        "command": "GivePremedication",
        "drug": drug,
        "dose": dose,
        "route": route,
        "at": (NOW - timedelta(minutes=minutes_before)).isoformat(),
        **extra,
    }


def test_check_in_needs_two_identifiers_that_match_the_record(world: World) -> None:
    session_id, patient_id = _opened(world)
    base = {**CHECK_IN, "patient_id": patient_id}
    _refused(_send(world, Role.NURSE, session_id, base), "patient-identification")
    by_name = {"identity_check": "name-and-birth-date", "confirmed_name": "Synthetic Other"}
    wrong_birth = {**by_name, "confirmed_birth_date": "1984-05-18"}  # one day off
    message = _refused(
        _send(world, Role.NURSE, session_id, {**base, **wrong_birth}), "patient-identification"
    )
    assert "date of birth" in message
    wrong_mrn = {"identity_check": "wristband", "confirmed_identifier": "MRN-99999"}
    _refused(_send(world, Role.NURSE, session_id, {**base, **wrong_mrn}), "patient-identification")
    assert world.service.get_version(session_id) == 0  # nothing stored
    patient = world.request(Role.NURSE, "GET", f"/api/patients/{patient_id}").json()
    stated = {
        "identity_check": "name-and-birth-date",
        "confirmed_name": f"  {patient['display_name'].upper()} ",  # as typed: case, spaces
        "confirmed_birth_date": BIRTH_DATE.isoformat(),
    }
    answer = _send(world, Role.NURSE, session_id, {**base, **stated})
    assert answer.status_code == 200, answer.text


def test_a_premedication_with_the_wrong_dose_or_route_does_not_count(world: World) -> None:
    session_id, _ = _checked_in(world)
    version = world.service.get_version(session_id)
    for dose, route in (("10 mg", "PO"), ("100 mg", "PO"), ("10 mg", "IV")):
        message = _refused(
            _send(world, Role.NURSE, session_id, _premed("methylprednisolone", dose, route)),
            "premedication-mismatch",
        )
        assert "methylprednisolone 100 mg IV" in message
    assert world.service.get_version(session_id) == version  # nothing stored
    # Charted as given, explicitly not counting: the start still lacks the steroid.
    charted = _send(
        world,
        Role.NURSE,
        session_id,
        _premed("methylprednisolone", "10 mg", "PO", counts_as_premedication=False),
    )
    assert charted.status_code == 200, charted.text
    (event,) = charted.json()["events"]
    assert (event["satisfies"], event["dose_mg"], event["route"]) == (None, "10", "PO")
    antihistamine = _send(world, Role.NURSE, session_id, _premed("diphenhydramine", "50 mg", "iv"))
    assert antihistamine.json()["events"][0]["satisfies"] == "antihistamine (e.g. diphenhydramine)"
    start = {"command": "StartInfusion", "rate_ml_per_h": 40}
    message = _refused(_send(world, Role.NURSE, session_id, start), "premedication-window")
    assert "methylprednisolone was not given" in message
    # The matching dose counts (1 g is 1000 mg: not the 100 mg the label asks for).
    _refused(
        _send(world, Role.NURSE, session_id, _premed("methylprednisolone", "1 g", "IV")),
        "premedication-mismatch",
    )
    counted = _send(world, Role.NURSE, session_id, _premed("methylprednisolone", "100 mg", "IV"))
    assert counted.json()["events"][0]["satisfies"] == "methylprednisolone"
    started = _send(world, Role.NURSE, session_id, start)
    assert started.status_code == 200, started.text


def test_implausible_doses_unknown_units_and_routes_are_refused(world: World) -> None:
    session_id, _ = _checked_in(world)
    version = world.service.get_version(session_id)
    # 1000 g = 1,000,000 mg against the cited 1000 mg largest single paracetamol dose.
    message = _refused(
        _send(world, Role.NURSE, session_id, _premed("paracetamol", "1000 g", "PO")),
        "medication-dose-implausible",
    )
    assert "paracetamol 1000000 mg" in message
    assert "largest plausible single dose, 1000 mg" in message
    _refused(
        _send(world, Role.NURSE, session_id, _premed("paracetamol", "as prescribed", "PO")),
        "medication-dose",
    )
    _refused(
        _send(world, Role.NURSE, session_id, _premed("paracetamol", "1000 mg", "rectal")),
        "medication-route",
    )
    _refused(  # cetirizine is oral only
        _send(world, Role.NURSE, session_id, _premed("cetirizine", "10 mg", "IV")),
        "medication-route",
    )
    rescue = {"command": "GiveRescueMedication", "drug": "diphenhydramine", "dose": "5 g"}
    _refused(
        _send(world, Role.NURSE, session_id, {**rescue, "route": "IV"}),
        "medication-dose-implausible",
    )
    assert world.service.get_version(session_id) == version


def test_an_allergy_warning_must_be_acknowledged(world: World) -> None:
    session_id, patient_id = _checked_in(world)
    with world.uow_factory() as uow:
        patient = uow.patients.get(patient_id)
        allergy = Allergy(substance="Acetaminophen", reaction="urticaria", severity="moderate")
        uow.patients.update(replace(patient, allergies=(allergy,)))
        uow.commit()
    version = world.service.get_version(session_id)
    message = _refused(
        _send(world, Role.NURSE, session_id, _premed("paracetamol", "1000 mg", "PO")),
        "allergy-warning",
    )
    assert "Acetaminophen (moderate, urticaria)" in message
    assert world.service.get_version(session_id) == version
    given = _send(
        world,
        Role.NURSE,
        session_id,
        _premed("paracetamol", "1000 mg", "PO", allergy_acknowledged=True),
    )
    assert given.status_code == 200, given.text
    assert given.json()["events"][0]["allergy_acknowledged"] is True


def test_a_verbal_order_is_recorded_by_the_nurse_and_co_signed_by_its_physician(
    world: World,
) -> None:
    session_id, _ = _checked_in(world)
    given = _send(world, Role.NURSE, session_id, _premed("diphenhydramine", "50 mg", "IV"))
    assert given.status_code == 200
    start = {"command": "StartInfusion", "rate_ml_per_h": 40, "override_reason": "steroid refused"}
    assert _send(world, Role.NURSE, session_id, start).status_code == 403  # not hers to override
    wrong = _send(world, Role.NURSE, session_id, {**start, "verbal_order_by": "nurse1"})
    assert (wrong.status_code, wrong.json()["field"]) == (422, "verbal_order_by")
    started = _send(world, Role.NURSE, session_id, {**start, "verbal_order_by": "physician1"})
    assert started.status_code == 200, started.text
    (event,) = started.json()["events"]
    assert (event["verbal_order_by"], event["user"]) == ("physician1", "nurse1")
    assert event["deviations"] == ["methylprednisolone was not given"]
    sequence = event["sequence"]
    cosign = {"command": "CosignVerbalOrder", "entry_sequence": sequence}
    assert _send(world, Role.NURSE, session_id, cosign).status_code == 403
    _refused(
        _send(world, Role.PHYSICIAN, session_id, {**cosign, "entry_sequence": sequence - 1}),
        "verbal-order-cosign",
    )
    signed = _send(world, Role.PHYSICIAN, session_id, cosign)
    assert signed.status_code == 200, signed.text
    assert signed.json()["events"][0]["type"] == "VerbalOrderCosigned"
    _refused(_send(world, Role.PHYSICIAN, session_id, cosign), "verbal-order-cosign")
