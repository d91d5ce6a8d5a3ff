"""Every FHIR error is an OperationOutcome with the right status; roles as the one matrix says."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from msinfusion.application.permissions import Action, is_allowed
from msinfusion.application.records import Role
from tests.e2e.fhir.world import FhirWorld


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


@pytest.mark.parametrize(
    ("path", "parameter", "words"),
    [
        ("/fhir/Patient?name=Synthetic", "name", "not a supported search parameter"),
        ("/fhir/Patient?birthdate=ap1980", "birthdate", "prefix 'ap' is not supported"),
        ("/fhir/Patient?birthdate=12/04/1980", "birthdate", "is not a date"),
        ("/fhir/Patient?birthdate=1980-13-01", "birthdate", "not a valid date"),
        ("/fhir/Observation?date=2026-03-02T25:00Z", "date", "not a valid date"),
        ("/fhir/Observation?_count=-1", "_count", "non-negative whole number"),
        ("/fhir/Observation?_count=many", "_count", "non-negative whole number"),
        ("/fhir/Observation?_count=100000", "_count", "at most 500"),
        ("/fhir/Observation?_offset=x", "_offset", "non-negative whole number"),
        ("/fhir/Patient?identifier:exact=x", "identifier:exact", "modifiers are not supported"),
        ("/fhir/Patient?_format=xml", "_format", "only JSON"),
        ("/fhir/Observation?code=", "code", "a value is required"),
        ("/fhir/Observation?_total=maybe", "_total", "must be one of none, estimate, accurate"),
        ("/fhir/MedicationAdministration?date=2026", "date", "not a supported search parameter"),
        ("/fhir/Patient/{patient_a}?foo=1", "foo", "a read takes no parameters"),
        ("/fhir/Observation?_include=Observation:patient", "_include", "is not served"),
        (
            "/fhir/MedicationAdministration?_include=MedicationAdministration:performer",
            "_include",
            "is not served",
        ),
        ("/fhir/Patient/{patient_a}/$everything?_type=Patient", "_type", "not a supported"),
        ("/fhir/AdverseEvent?severity=", "severity", "a value is required"),
        ("/fhir/Appointment?date=2026-3-2", "date", "is not a date"),
    ],
)
def test_a_bad_search_parameter_is_a_400_naming_it(
    fhir_world: FhirWorld, path: str, parameter: str, words: str
) -> None:
    response = fhir_world.get(Role.NURSE, path.format(**fhir_world.ids))
    issue = outcome(response, 400)
    assert issue["code"] == "invalid"
    assert issue["expression"] == [parameter]
    assert words in issue["diagnostics"]
    assert issue["diagnostics"].startswith(parameter)


def test_unknown_ids_types_paths_and_methods(fhir_world: FhirWorld) -> None:
    issue = outcome(fhir_world.get(Role.NURSE, "/fhir/Patient/patient-nobody"), 404)
    assert issue["code"] == "not-found"
    missing = "/fhir/Observation/session-none-heart-rate-4"
    assert outcome(fhir_world.get(Role.NURSE, missing), 404)["code"] == "not-found"
    assert outcome(fhir_world.get(Role.NURSE, "/fhir/Encounter"), 404)["code"] == "not-supported"
    assert outcome(fhir_world.get(Role.NURSE, "/fhir/Patient/x/_history"), 404)["code"] == (
        "not-supported"
    )
    posted = fhir_world.api.request(Role.NURSE, "POST", "/fhir/Patient", json={})
    assert outcome(posted, 405)["code"] == "not-supported"
    assert posted.headers["allow"] == "GET"
    deleted = fhir_world.api.request(
        Role.NURSE, "DELETE", f"/fhir/Patient/{fhir_world.ids['patient_a']}"
    )
    assert outcome(deleted, 405)["code"] == "not-supported"


def test_no_credentials_is_a_401_outcome(fhir_world: FhirWorld) -> None:
    response = fhir_world.get(None, "/fhir/Patient")
    issue = outcome(response, 401)
    assert issue["code"] == "login"
    assert response.headers["www-authenticate"] == "Bearer"
    bad = fhir_world.get(None, "/fhir/Patient", headers={"Authorization": "Bearer msi_nope"})
    assert outcome(bad, 401)["code"] == "login"


READS: dict[str, tuple[Action, ...]] = {
    "Patient": (Action.READ_PATIENT,),
    "Practitioner": (Action.READ_SESSION,),
    "Location": (Action.READ_CHAIRS,),
    "MedicationRequest": (Action.READ_ORDER, Action.READ_COURSE),
    "MedicationAdministration": (Action.READ_SESSION,),
    "Observation": (Action.READ_SESSION, Action.READ_COURSE),
    "AllergyIntolerance": (Action.READ_PATIENT, Action.READ_SESSION),
    "AdverseEvent": (Action.READ_SESSION,),
    "CarePlan": (Action.READ_ORDER, Action.READ_COURSE),
    "Schedule": (Action.READ_CHAIRS,),
    "Slot": (Action.READ_APPOINTMENT, Action.READ_PATIENT),
    "Appointment": (Action.READ_APPOINTMENT, Action.READ_PATIENT, Action.READ_SESSION),
    "Provenance": (Action.READ_SESSION, Action.READ_COURSE),
}
"""The actions each FHIR resource type needs (docs/fhir.md); the roles come from the matrix."""


@pytest.mark.parametrize("resource_type", list(READS))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_reads_as_the_permission_matrix_says(
    fhir_world: FhirWorld, resource_type: str, role: Role
) -> None:
    allowed = all(is_allowed(role, action) for action in READS[resource_type])
    response = fhir_world.get(role, f"/fhir/{resource_type}")
    if allowed:
        assert response.status_code == 200, response.text
    else:
        issue = outcome(response, 403)
        assert issue["code"] == "forbidden"
        assert f"the role {role.value} may not" in issue["diagnostics"]


def test_a_role_without_read_permission_cannot_read_by_id_either(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    for path in (
        f"/fhir/Patient/{ids['patient_a']}",
        f"/fhir/MedicationAdministration/{ids['session_a']}",
        f"/fhir/Observation/{ids['session_a']}-heart-rate-4",
        f"/fhir/MedicationRequest/{ids['order_a']}",
    ):
        assert outcome(fhir_world.get(Role.DEVICE, path), 403)["code"] == "forbidden"
    assert outcome(fhir_world.get(Role.ADMIN, f"/fhir/Patient/{ids['patient_a']}"), 403)
