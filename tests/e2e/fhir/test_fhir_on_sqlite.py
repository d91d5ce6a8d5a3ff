"""The same FHIR answers from the SQLite store as from the in-memory one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_unit_of_work_factory
from tests.e2e.fhir.world import FhirWorld, build_fhir_world

TYPES = (
    "Patient",
    "Location",
    "MedicationRequest",
    "MedicationAdministration",
    "Observation",
    "AllergyIntolerance",
    "AdverseEvent",
    "CarePlan",
    "Schedule",
    "Slot",
    "Appointment",
    "Provenance",
)


def _shape(world: FhirWorld) -> dict[str, Any]:
    """What each type holds, without the random ids."""
    shape: dict[str, Any] = {}
    for resource_type in TYPES:
        bundle = world.get(Role.NURSE, f"/fhir/{resource_type}?_count=500").json()
        resources = [e["resource"] for e in bundle["entry"]]
        shape[resource_type] = Counter(
            (
                r.get("status"),
                r.get("effectiveDateTime")
                or str(r.get("effectivePeriod"))
                + str(r.get("date") or r.get("start") or r.get("recorded") or ""),
                str(r.get("valueQuantity") or r.get("valueInteger") or r.get("dosage")),
            )
            for r in resources
        )
    return shape


def test_sqlite_serves_what_memory_serves(fhir_world: FhirWorld, tmp_path: Path) -> None:
    on_disk = build_fhir_world(build_unit_of_work_factory(sqlite_url(tmp_path / "fhir.db")))
    assert _shape(on_disk) == _shape(fhir_world)
    assert sum(_shape(on_disk)["Observation"].values()) > 5
