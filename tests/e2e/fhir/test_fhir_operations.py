"""``_include``, ``Patient/{id}/$everything`` and Bulk Data ``$export`` (kick-off, status,
NDJSON files), checked against the searches they must agree with."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from msinfusion.application.records import Role
from tests.e2e.fhir.world import FhirWorld

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
BASE = "https://testserver"
COMPARTMENT = (
    "Patient",
    "MedicationRequest",
    "MedicationAdministration",
    "Observation",
    "AllergyIntolerance",
    "AdverseEvent",
    "CarePlan",
    "Appointment",
    "Provenance",
)


def bundle(world: FhirWorld, path: str, role: Role = Role.NURSE) -> dict[str, Any]:
    response = world.get(role, path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    Bundle.model_validate(body)
    return body


def ids_of(body: dict[str, Any], mode: str = "match") -> list[str]:
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body.get("entry", [])
        if e["search"]["mode"] == mode
    ]


def every(world: FhirWorld, resource_type: str, query: str = "") -> list[str]:
    found = bundle(world, f"/fhir/{resource_type}?_count=500{query}")
    return ids_of(found)


# -- _include -----------------------------------------------------------------------------------


def test_include_adds_the_order_and_the_patient_once_each(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    path = (
        f"/fhir/MedicationAdministration?patient={ids['patient_a']}&_count=500"
        "&_include=MedicationAdministration:request&_include=MedicationAdministration:patient"
    )
    found = bundle(fhir_world, path)
    assert ids_of(found, "include") == [
        f"MedicationRequest/{ids['order_a']}",
        f"Patient/{ids['patient_a']}",
    ]
    assert ids_of(found) == every(
        fhir_world, "MedicationAdministration", f"&patient={ids['patient_a']}"
    )
    assert found["total"] == len(ids_of(found))  # the total counts matches only
    included = {e["resource"]["id"]: e for e in found["entry"] if e["search"]["mode"] == "include"}
    patient = included[ids["patient_a"]]
    assert patient["fullUrl"] == f"{BASE}/fhir/Patient/{ids['patient_a']}"
    assert (
        patient["resource"]
        == fhir_world.get(Role.NURSE, f"/fhir/Patient/{ids['patient_a']}").json()
    )


def test_include_follows_the_page_and_its_links_keep_it(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    path = "/fhir/MedicationAdministration?_include=MedicationAdministration:subject&_count=1"
    first = bundle(fhir_world, path)
    assert len(ids_of(first)) == 1
    assert len(ids_of(first, "include")) == 1  # the one patient of the one match
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_include=MedicationAdministration%3Asubject" in following
    patients = set()
    path_or_none: str | None = path
    while path_or_none is not None:
        page = bundle(fhir_world, path_or_none.removeprefix(BASE))
        patients.update(ids_of(page, "include"))
        path_or_none = next(
            (link["url"] for link in page["link"] if link["relation"] == "next"), None
        )
    assert patients == {f"Patient/{ids[p]}" for p in ("patient_a", "patient_b", "patient_c")}


def test_include_needs_the_permission_of_what_it_includes(fhir_world: FhirWorld) -> None:
    # Every clinical reader may read orders and patients; the device may read neither.
    response = fhir_world.get(
        Role.DEVICE, "/fhir/MedicationAdministration?_include=MedicationAdministration:request"
    )
    assert response.status_code == 403


# -- $everything --------------------------------------------------------------------------------


def test_everything_is_the_patient_and_its_compartment(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    patient = ids["patient_a"]
    found = bundle(fhir_world, f"/fhir/Patient/{patient}/$everything?_count=500")
    assert found["type"] == "searchset"
    listed = ids_of(found)
    assert listed[0] == f"Patient/{patient}"
    expected = [f"Patient/{patient}"]
    for resource_type in COMPARTMENT[1:]:
        expected += every(fhir_world, resource_type, f"&patient={patient}")
    assert listed == expected
    assert found["total"] == len(expected)
    text = json.dumps(found)
    assert ids["patient_b"] not in text
    assert ids["session_b"] not in text
    for entry in found["entry"]:
        model = get_fhir_model_class(entry["resource"]["resourceType"])
        model.model_validate(entry["resource"])


def test_everything_pages_and_refuses_what_it_does_not_support(fhir_world: FhirWorld) -> None:
    patient = fhir_world.ids["patient_b"]
    whole = ids_of(bundle(fhir_world, f"/fhir/Patient/{patient}/$everything?_count=500"))
    first = bundle(fhir_world, f"/fhir/Patient/{patient}/$everything?_count=5")
    assert ids_of(first) == whole[:5]
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["next"] == f"{BASE}/fhir/Patient/{patient}/$everything?_count=5&_offset=5"
    missing = fhir_world.get(Role.NURSE, "/fhir/Patient/patient-nobody/$everything")
    assert missing.status_code == 404
    assert OperationOutcome.model_validate(missing.json()).issue[0].code == "not-found"
    refused = fhir_world.get(Role.NURSE, f"/fhir/Patient/{patient}/$everything?start=2026")
    assert refused.status_code == 400
    assert fhir_world.get(Role.ADMIN, f"/fhir/Patient/{patient}/$everything").status_code == 403


# -- $export ------------------------------------------------------------------------------------


def kick_off(world: FhirWorld, path: str, role: Role = Role.NURSE) -> str:
    response = world.get(role, path, headers=ASYNC)
    assert response.status_code == 202, response.text
    OperationOutcome.model_validate(response.json())
    location: str = response.headers["content-location"]
    assert location.startswith(f"{BASE}/fhir/$export-poll/")
    return location.removeprefix(BASE)


def files(world: FhirWorld, status: str, role: Role = Role.NURSE) -> dict[str, list[Any]]:
    response = world.get(role, status)
    assert response.status_code == 200, response.text
    manifest = response.json()
    assert response.headers["expires"] == "Mon, 02 Mar 2026 11:45:00 GMT"  # an hour on
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["transactionTime"].startswith("2026-03-02T10:45:00")
    found: dict[str, list[Any]] = {}
    for output in manifest["output"]:
        download = world.get(role, output["url"].removeprefix(BASE))
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("application/fhir+ndjson")
        lines = download.text.splitlines()
        assert len(lines) == output["count"]
        model = get_fhir_model_class(output["type"])
        resources = [json.loads(line) for line in lines]
        for resource in resources:
            assert resource["resourceType"] == output["type"]
            model.model_validate(resource)
        found[output["type"]] = resources
    return found


def test_a_system_export_holds_every_resource_of_every_type(fhir_world: FhirWorld) -> None:
    exported = files(fhir_world, kick_off(fhir_world, "/fhir/$export"))
    statement = fhir_world.get(None, "/fhir/metadata").json()
    served = [r["type"] for r in statement["rest"][0]["resource"]]
    assert list(exported) == served
    for resource_type in served:
        searched = every(fhir_world, resource_type)
        assert [f"{resource_type}/{r['id']}" for r in exported[resource_type]] == searched


def test_a_patient_export_holds_the_compartment_types_and_type_filters(
    fhir_world: FhirWorld,
) -> None:
    exported = files(fhir_world, kick_off(fhir_world, "/fhir/Patient/$export"))
    assert tuple(exported) == COMPARTMENT
    only = files(
        fhir_world,
        kick_off(
            fhir_world,
            "/fhir/Patient/$export?_type=Observation,Patient&_outputFormat=application/fhir%2Bndjson",
        ),
    )
    assert list(only) == ["Patient", "Observation"]
    assert only["Observation"] == exported["Observation"]


def test_since_keeps_what_changed_and_what_has_no_recorded_time(fhir_world: FhirWorld) -> None:
    exported = files(
        fhir_world,
        kick_off(
            fhir_world, "/fhir/$export?_type=MedicationAdministration&_since=2026-03-02T07:00Z"
        ),
    )
    times = [r.get("meta", {}).get("lastUpdated") for r in exported["MedicationAdministration"]]
    assert all(t is None or t >= "2026-03-02T07:00" for t in times)
    late = [r for r in exported["MedicationAdministration"] if "-premedication-" in r["id"]]
    everything = every(fhir_world, "MedicationAdministration")
    assert len(exported["MedicationAdministration"]) < len(everything)
    assert {r["meta"]["lastUpdated"] >= "2026-03-02T07:00" for r in late} <= {True}


@pytest.mark.parametrize(
    ("path", "headers", "expression"),
    [
        ("/fhir/$export", {}, "Prefer"),
        ("/fhir/$export?_type=Encounter", ASYNC, "_type"),
        ("/fhir/Patient/$export?_type=Schedule", ASYNC, "_type"),
        ("/fhir/$export?_outputFormat=text/csv", ASYNC, "_outputFormat"),
        ("/fhir/$export?_since=yesterday", ASYNC, "_since"),
        ("/fhir/$export?_typeFilter=x", ASYNC, "_typeFilter"),
    ],
)
def test_a_bad_kick_off_is_a_400_naming_what_is_wrong(
    fhir_world: FhirWorld, path: str, headers: dict[str, str], expression: str
) -> None:
    response = fhir_world.get(Role.NURSE, path, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == [expression]


def test_only_the_user_who_started_a_job_reads_or_deletes_it(fhir_world: FhirWorld) -> None:
    status = kick_off(fhir_world, "/fhir/$export?_type=Location")
    manifest = fhir_world.get(Role.NURSE, status).json()
    file_path = manifest["output"][0]["url"].removeprefix(BASE)
    for role in (Role.PHYSICIAN, Role.VIEWER):
        assert fhir_world.get(role, status).status_code == 404
        assert fhir_world.get(role, file_path).status_code == 404
    assert fhir_world.get(None, status).status_code == 401
    assert fhir_world.get(Role.DEVICE, status).status_code == 403
    assert fhir_world.get(Role.NURSE, file_path.replace("Location", "Patient")).status_code == 404
    deleted = fhir_world.api.request(Role.NURSE, "DELETE", status)
    assert deleted.status_code == 202
    assert fhir_world.get(Role.NURSE, status).status_code == 404


def test_export_roles_follow_the_matrix(fhir_world: FhirWorld) -> None:
    assert kick_off(fhir_world, "/fhir/$export?_type=Patient", Role.VIEWER)
    for role in (Role.ADMIN, Role.DEVICE):
        refused = fhir_world.get(role, "/fhir/$export", headers=ASYNC)
        assert refused.status_code == 403
        assert refused.json()["issue"][0]["code"] == "forbidden"
    assert fhir_world.get(None, "/fhir/Patient/$export", headers=ASYNC).status_code == 401
