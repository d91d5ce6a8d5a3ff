"""``POST /fhir/Observation``: a gateway's vital signs through the PCD-01 device path (the same
matching, idempotency, clock rules and quarantine as ``POST /api/observations``)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW
from tests.e2e.fhir.world import MRN_SYSTEM, FhirWorld, build_fhir_world

EVENT_LOCATION = "http://hl7.org/fhir/StructureDefinition/event-location"


@pytest.fixture
def world() -> FhirWorld:
    """A world of its own: these tests record vital signs."""
    return build_fhir_world()


def heart_rate(world: FhirWorld, value: int = 77, **changes: Any) -> dict[str, Any]:
    """Patient B's heart rate two minutes ago, from the monitor at chair 2."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:example:gateway", "value": f"hr-{value}"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{world.ids['patient_b']}"},
        "extension": [{"url": EVENT_LOCATION, "valueReference": {"display": "Chair 2"}}],
        "effectiveDateTime": (NOW - timedelta(minutes=2)).isoformat(),
        "valueQuantity": {
            "value": value,
            "unit": "beats/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }
    resource.update(changes)
    Observation.model_validate(resource)
    return resource


def post(world: FhirWorld, body: Any, role: Role = Role.DEVICE) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return world.api.request(
        role,
        "POST",
        "/fhir/Observation",
        content=data,
        headers={"Content-Type": "application/fhir+json"},
    )


def device_readings(world: FhirWorld) -> list[dict[str, Any]]:
    path = (
        f"/fhir/Observation?patient={world.ids['patient_b']}"
        "&code=http://loinc.org|8867-4&_count=500"
    )
    bundle = world.get(Role.NURSE, path).json()
    return [e["resource"] for e in bundle.get("entry", []) if "device" in e["resource"]]


def test_an_accepted_reading_is_recorded_once_with_both_times(world: FhirWorld) -> None:
    first = post(world, heart_rate(world))
    assert first.status_code == 201, first.text
    outcome = OperationOutcome.model_validate(first.json())
    assert outcome.issue[0].severity == "information"
    assert world.ids["session_b"] in (outcome.issue[0].diagnostics or "")
    again = post(world, heart_rate(world))  # a retransmission: the same identifier
    assert again.status_code == 200
    assert "already recorded" in again.json()["issue"][0]["diagnostics"]
    readings = device_readings(world)
    assert len(readings) == 1
    reading = readings[0]
    assert reading["valueQuantity"]["value"] == 77
    assert reading["effectiveDateTime"] == "2026-03-02T10:43:00Z"  # measured
    assert reading["issued"] == "2026-03-02T10:45:00Z"  # received
    assert reading["device"]["identifier"] == {
        "system": "urn:msinfusion:device",
        "value": "device1",
    }


def test_a_blood_pressure_panel_goes_in_by_its_components(world: FhirWorld) -> None:
    panel = heart_rate(
        world,
        identifier=[{"value": "bp-1"}],
        code={"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        valueQuantity=None,
        component=[
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "valueQuantity": {
                    "value": value,
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            }
            for code, value in (("8480-6", 131), ("8462-4", 84), ("8478-0", 99))
        ],
    )
    del panel["valueQuantity"]
    assert post(world, panel).status_code == 201
    path = f"/fhir/Observation?patient={world.ids['patient_b']}&code=http://loinc.org|85354-9"
    found = [e["resource"] for e in world.get(Role.NURSE, path).json()["entry"]]
    fed = [o for o in found if "device" in o]
    assert {
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in fed[0]["component"]
    } == {("8480-6", 131), ("8462-4", 84), ("8478-0", 99)}  # MAP kept (VitalsRecorded v5)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"subject": {"reference": "Patient/patient-nobody"}}, "unknown-patient"),
        (
            {"extension": [{"url": EVENT_LOCATION, "valueReference": {"display": "Chair 9"}}]},
            "unknown-patient",
        ),
        ({"effectiveDateTime": (NOW + timedelta(hours=2)).isoformat()}, "refused:clock-future"),
        (
            {"valueQuantity": {"value": 77, "system": "http://unitsofmeasure.org", "code": "Cel"}},
            "unmappable",
        ),
        (
            {
                "valueQuantity": {
                    "value": 900,
                    "system": "http://unitsofmeasure.org",
                    "code": "/min",
                }
            },
            "invalid-vital-signs",
        ),
    ],
)
def test_what_the_device_path_refuses_is_quarantined(
    world: FhirWorld, changes: dict[str, Any], reason: str
) -> None:
    response = post(world, heart_rate(world, **changes))
    assert response.status_code == 422, response.text
    issue = OperationOutcome.model_validate(response.json()).issue[0]
    assert issue.code == "processing"
    assert issue.details is not None
    assert issue.details.coding[0].code == reason
    assert (issue.details.text or "").startswith("quarantine ")
    held = world.api.request(Role.ADMIN, "GET", "/api/quarantine?status=held").json()
    assert reason in {h["reason_code"] for h in held}
    assert device_readings(world) == []


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ("not json", "body"),
        ({"resourceType": "Patient"}, "resourceType"),
        ({"resourceType": "Observation", "status": "final"}, "code"),
        (
            {"resourceType": "Observation", "status": "final", "code": {"text": "hr"}},
            "effectiveDateTime",
        ),
    ],
)
def test_a_body_that_is_no_vital_sign_observation_is_a_400(
    world: FhirWorld, body: Any, expression: str
) -> None:
    response = post(world, body)
    assert response.status_code == 400, response.text
    issue = OperationOutcome.model_validate(response.json()).issue[0]
    assert issue.code == "invalid"
    assert issue.expression == [expression]


def give_b_an_mrn(world: FhirWorld) -> None:
    """Patient B (in progress at chair 2) gets the hospital MRN DEMO-0002."""
    mrn = [{"system": MRN_SYSTEM, "value": "DEMO-0002"}]
    path = f"/api/patients/{world.ids['patient_b']}"
    patched = world.api.request(Role.NURSE, "PATCH", path, json={"identifiers": mrn})
    assert patched.status_code == 200, patched.text


def test_a_patient_by_identifier_is_matched_as_pid_3_is(world: FhirWorld) -> None:
    """``subject.identifier`` (system and value) goes through the same matching as an HL7
    PID-3 repetition: patient B's hospital MRN finds B's session, without a chair."""
    give_b_an_mrn(world)
    subject = {"identifier": {"system": MRN_SYSTEM, "value": "DEMO-0002"}}
    accepted = post(world, heart_rate(world, 81, subject=subject, extension=[]))
    assert accepted.status_code == 201, accepted.text
    assert world.ids["session_b"] in accepted.json()["issue"][0]["diagnostics"]
    wrong = {"identifier": {"system": MRN_SYSTEM, "value": "DEMO-9999"}}
    refused = post(world, heart_rate(world, 82, subject=wrong, extension=[]))
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert (issue["code"], issue["expression"]) == ("processing", ["subject"])
    assert issue["details"]["coding"][0]["code"] == "unknown-patient"
    assert "DEMO-9999" not in refused.text
    no_system = {"identifier": {"value": "DEMO-0002"}}
    refused = post(world, heart_rate(world, 83, subject=no_system))
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["expression"] == ["subject.identifier.system"]
    by_chair_only = heart_rate(world)
    del by_chair_only["subject"]
    assert post(world, by_chair_only).status_code == 201  # chair 2 alone singles out B


def test_a_reference_and_an_identifier_of_another_patient_are_ambiguous(
    world: FhirWorld,
) -> None:
    give_b_an_mrn(world)
    subject = {
        "reference": f"Patient/{world.ids['patient_b']}",
        "identifier": {"system": MRN_SYSTEM, "value": "DEMO-0001"},  # patient A's MRN
    }
    before = len(device_readings(world))
    refused = post(world, heart_rate(world, 84, subject=subject, extension=[]))
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "ambiguous-patient"
    assert issue["expression"] == ["subject"]
    assert len(device_readings(world)) == before


def test_without_a_value_and_by_role(world: FhirWorld) -> None:
    empty = heart_rate(world)
    del empty["valueQuantity"]
    refused = post(world, empty)
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["expression"] == ["valueQuantity"]
    assert post(world, heart_rate(world), Role.VIEWER).status_code == 403
    assert post(world, heart_rate(world), None).status_code == 401
    assert post(world, heart_rate(world, 78), Role.NURSE).status_code == 201
