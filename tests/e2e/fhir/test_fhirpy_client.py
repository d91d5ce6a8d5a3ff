"""fhirpy, an independent FHIR client, against a real uvicorn server: read, search, page,
``_include``, ``$everything`` and Bulk Data ``$export`` (kick-off and status through the client,
the NDJSON file with ``requests``: fhirpy reads JSON only)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as OutcomeRaised

from msinfusion.application.records import Role
from tests.e2e.fhir.world import MRN_SYSTEM, FhirWorld
from tests.e2e.ui.conftest import serve


@pytest.fixture(scope="module")
def client(fhir_world: FhirWorld) -> Iterator[SyncFHIRClient]:
    with serve(fhir_world.api.client.app) as url:
        yield SyncFHIRClient(
            f"{url}/fhir", authorization=f"Bearer {fhir_world.api.tokens[Role.NURSE]}"
        )


def test_search_by_identifier_and_read(client: SyncFHIRClient, fhir_world: FhirWorld) -> None:
    found = client.resources("Patient").search(identifier=f"{MRN_SYSTEM}|DEMO-0001").fetch()
    assert [p["id"] for p in found] == [fhir_world.ids["patient_a"]]
    patient = client.reference("Patient", fhir_world.ids["patient_a"]).to_resource()
    assert patient["birthDate"] == "1980-04-12"


def test_fetch_all_follows_the_paging_links(client: SyncFHIRClient, fhir_world: FhirWorld) -> None:
    patient = fhir_world.ids["patient_a"]
    everything = client.resources("Observation").search(patient=patient).limit(500).fetch()
    paged = client.resources("Observation").search(patient=patient).limit(2).fetch_all()
    assert len(everything) > 4
    assert [o["id"] for o in paged] == [o["id"] for o in everything]
    raw = client.resources("Observation").search(patient=patient).limit(1).fetch_raw()
    assert raw["total"] == len(everything)
    assert len(raw["entry"]) == 1


def test_date_prefixes_through_the_client(client: SyncFHIRClient, fhir_world: FhirWorld) -> None:
    running = (
        client.resources("MedicationAdministration")
        .search(patient=fhir_world.ids["patient_b"], status="in-progress")
        .fetch()
    )
    assert {r["id"] for r in running} == {
        fhir_world.ids["session_b"],
        f"{fhir_world.ids['session_b']}-segment-2",
    }
    early = (
        client.resources("Observation")
        .search(date__lt="2026-03-02T03:00:00Z", code="http://loinc.org|8867-4")
        .fetch()
    )
    assert [o["valueQuantity"]["value"] for o in early] == [92]


def test_an_error_reaches_the_client_as_an_operation_outcome(client: SyncFHIRClient) -> None:
    with pytest.raises(OutcomeRaised) as raised:
        client.resources("Patient").search(shoe_size="42").fetch()  # sent as shoe-size
    assert raised.value.resource["issue"][0]["expression"] == ["shoe-size"]


def test_include_through_the_client(client: SyncFHIRClient, fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    raw = (
        client.resources("MedicationAdministration")
        .search(patient=ids["patient_a"])
        .include("MedicationAdministration", "request")
        .include("MedicationAdministration", "patient")
        .limit(500)
        .fetch_raw()
    )
    included = [
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in raw["entry"]
        if e["search"]["mode"] == "include"
    ]
    assert included == [("MedicationRequest", ids["order_a"]), ("Patient", ids["patient_a"])]


def test_bulk_export_through_the_client(client: SyncFHIRClient, fhir_world: FhirWorld) -> None:
    asynchronous = SyncFHIRClient(
        client.url,
        authorization=client.authorization,
        extra_headers={"Prefer": "respond-async"},
    )
    accepted = asynchronous.execute(
        "$export", method="get", params={"_type": "Patient,Observation"}
    )
    assert accepted["resourceType"] == "OperationOutcome"
    status_url = accepted["issue"][0]["diagnostics"].rsplit(" ", 1)[1]
    manifest = client.execute(status_url, method="get")
    assert [o["type"] for o in manifest["output"]] == ["Patient", "Observation"]
    patients = requests.get(
        manifest["output"][0]["url"],
        headers={"Authorization": client.authorization or ""},
        timeout=10,
    )
    assert patients.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in patients.text.splitlines()]
    assert {p["id"] for p in lines} == {
        fhir_world.ids[p] for p in ("patient_a", "patient_b", "patient_c")
    }
    assert manifest["output"][0]["count"] == 3
    everything = client.execute(f"Patient/{fhir_world.ids['patient_b']}/$everything", method="get")
    assert everything["entry"][0]["resource"]["id"] == fhir_world.ids["patient_b"]
