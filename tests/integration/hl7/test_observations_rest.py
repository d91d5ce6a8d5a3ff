"""``POST /api/observations`` for the cases of issue 17 that apply to JSON: NIBP cuff codes and
mean arterial pressure stored, an implausible mean refused naming the field, an unknown or
ambiguous patient quarantined, bad input answered 4xx naming the field; nothing stored then.
On the fake, SQLite and PostgreSQL (``conftest.world``)."""

from __future__ import annotations

from typing import Any

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World
from tests.integration.hl7.worlds import add_sample_patient_session

CUFF = [
    {"system": "MDC", "code": "150301", "value": 118, "unit": "266016"},
    {"system": "MDC", "code": "150302", "value": 76, "unit": "mm[Hg]"},
    {"system": "MDC", "code": "150303", "value": 90, "unit": "MDC_DIM_MMHG"},
]


def body(key: str, **changes: Any) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "chair": "Chair 1",
        "observed_at": NOW.isoformat(),
        "observations": CUFF,
    } | changes


def post(world: World, document: dict[str, Any]) -> Any:
    return world.request(Role.DEVICE, "POST", "/api/observations", json=document)


def vitals(world: World) -> list[dict[str, Any]]:
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    return [e for e in events.json()["events"] if e["type"] == "VitalsRecorded"]


def test_cuff_codes_store_systolic_diastolic_and_mean(world: World) -> None:
    answer = post(world, body("cuff-1"))
    assert answer.status_code == 201, answer.text
    last = vitals(world)[-1]
    assert (last["systolic_mmhg"], last["diastolic_mmhg"], last["mean_arterial_mmhg"]) == (
        "118",
        "76",
        "90",
    )
    assert last["user"] == "device:device1"


def test_an_implausible_mean_is_refused_naming_it_and_nothing_is_stored(world: World) -> None:
    before = len(vitals(world))
    wrong = [*CUFF[:2], {**CUFF[2], "value": 130}]
    answer = post(world, body("cuff-2", observations=wrong))
    assert answer.status_code == 422
    assert answer.json()["reason_code"] == "invalid-vital-signs"
    assert "mean_arterial_mmhg 130 is above systolic_mmhg 118" in answer.json()["message"]
    assert len(vitals(world)) == before


def test_an_unknown_patient_is_quarantined_and_nothing_is_stored(world: World) -> None:
    before = len(vitals(world))
    answer = post(world, body("cuff-3", patient_id=world.ids["other_patient"]))
    assert (answer.status_code, answer.json()["reason_code"]) == (422, "unknown-patient")
    assert len(vitals(world)) == before
    held = world.request(Role.ADMIN, "GET", "/api/quarantine").json()
    assert [h["reason_code"] for h in held] == ["unknown-patient"]


def test_bad_input_is_answered_naming_the_field(world: World) -> None:
    before = len(vitals(world))
    no_unit = [{"system": "MDC", "code": "150303", "value": 90}]
    answer = post(world, body("cuff-4", observations=no_unit))
    assert answer.status_code == 422
    assert "unit" in answer.json()["field"]
    answer = post(world, body("cuff-5", observed_at="2026-03-02T10:45:00"))  # no offset
    assert answer.status_code == 422
    assert answer.json()["field"] == "observed_at"
    assert len(vitals(world)) == before


# -- matching by identifier (system + value), the same code as PID-3's ------------------------


def hospital_mrn(world: World) -> dict[str, str]:
    with world.uow_factory() as uow:
        mrn = uow.patients.get(world.ids["patient"]).identifiers[0]
    return {"system": mrn.system, "value": mrn.value}  # urn:test:mrn


def test_the_hospital_mrn_with_its_system_finds_the_session_without_chair(world: World) -> None:
    other = {"system": "urn:other:hospital", "value": "X-77"}  # another issuer: no say
    document = body("mrn-1", patient_identifiers=[other, hospital_mrn(world)])
    del document["chair"]
    answer = post(world, document)
    assert answer.status_code == 201, answer.text
    assert answer.json()["session_id"] == world.ids["session"]
    assert (vitals(world)[-1]["systolic_mmhg"], vitals(world)[-1]["user"]) == (
        "118",
        "device:device1",
    )


def test_a_value_of_the_right_system_naming_no_one_is_unknown_naming_the_field(
    world: World,
) -> None:
    before = len(vitals(world))
    wrong = {"system": "urn:test:mrn", "value": "MRN-99999"}
    answer = post(world, body("mrn-2", patient_identifiers=[wrong]))
    assert answer.status_code == 422
    found = answer.json()
    assert (found["reason_code"], found["field"]) == ("unknown-patient", "patient_identifiers")
    assert "MRN-99999" not in answer.text  # an identifier is never echoed
    answer = post(world, body("mrn-3", patient_id=world.ids["other_patient"]))
    assert answer.json()["field"] == "patient_id"
    answer = post(world, body("mrn-4", patient_id=world.ids["patient"], chair="Chair 9"))
    assert (answer.status_code, answer.json()["field"]) == (422, "chair")
    assert len(vitals(world)) == before


def test_identifiers_naming_two_patients_are_ambiguous_and_nothing_is_stored(
    world: World,
) -> None:
    sample = add_sample_patient_session(world)
    versions = [world.service.get_version(s) for s in (world.ids["session"], sample)]
    both = [hospital_mrn(world), {"system": "PID", "value": "SYN-GE-01"}]
    document = body("mrn-5", patient_identifiers=both)
    del document["chair"]
    answer = post(world, document)
    assert answer.status_code == 422
    found = answer.json()
    assert (found["reason_code"], found["field"]) == ("ambiguous-patient", "patient_identifiers")
    contradicting = [{**hospital_mrn(world), "value": "MRN-99999"}]
    answer = post(world, body("mrn-6", patient_id=world.ids["patient"],
                              patient_identifiers=contradicting))  # fmt: skip
    assert answer.json()["reason_code"] == "ambiguous-patient"
    assert [world.service.get_version(s) for s in (world.ids["session"], sample)] == versions


def test_an_identifier_without_its_system_is_refused_naming_it(world: World) -> None:
    answer = post(world, body("mrn-7", patient_identifiers=[{"value": "MRN-1"}]))
    assert answer.status_code == 422
    assert "patient_identifiers" in answer.json()["field"]
    assert "system" in answer.json()["field"]
    too_many = [hospital_mrn(world)] * 9
    answer = post(world, body("mrn-8", patient_identifiers=too_many))
    assert (answer.status_code, answer.json()["field"]) == (422, "patient_identifiers")
