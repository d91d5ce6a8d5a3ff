"""The demo database (``msinfusion demo``'s centre) through ``$export``: every resource of
every type it produces parses with its R4B model and reads back by id."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class

from msinfusion.application.demo import load_demo
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, build_world

BASE = "https://testserver"


def test_every_resource_of_the_demo_centre_validates_and_reads_back() -> None:
    world = build_world(clinical=False)
    load_demo(world.centre, now=NOW, seed=2026, new_password=lambda: "demo password 1")
    kicked = world.request(Role.NURSE, "GET", "/fhir/$export", headers={"Prefer": "respond-async"})
    assert kicked.status_code == 202, kicked.text
    status = kicked.headers["content-location"].removeprefix(BASE)
    manifest = world.request(Role.NURSE, "GET", status).json()
    exported = {o["type"]: o for o in manifest["output"]}
    assert set(exported) >= {
        "Patient",
        "Practitioner",
        "Location",
        "MedicationRequest",
        "MedicationAdministration",
        "Observation",
        "AdverseEvent",
        "CarePlan",
        "Schedule",
        "Slot",
        "Appointment",
        "Provenance",
    }
    for resource_type, output in exported.items():
        model = get_fhir_model_class(resource_type)
        lines = world.request(Role.NURSE, "GET", output["url"].removeprefix(BASE)).text
        resources = [json.loads(line) for line in lines.splitlines()]
        assert len(resources) == output["count"]
        for resource in resources:
            assert model.model_validate(resource).model_dump(mode="json") == resource
        first = resources[0]
        read = world.request(Role.NURSE, "GET", f"/fhir/{resource_type}/{first['id']}")
        assert read.json() == first
    # The demo's mild reaction (patient 4, 40 minutes in) is an AdverseEvent.
    reactions = world.request(Role.NURSE, "GET", "/fhir/AdverseEvent").json()
    assert reactions["total"] >= 1
    assert reactions["entry"][0]["resource"]["severity"]["coding"][0]["code"] == "mild"
