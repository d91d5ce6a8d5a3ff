"""Every code system the FHIR interface writes is one of docs/fhir.md's table, and every coding
round-trips through the R4B ``Coding`` model; the hand-checked codes per system are sent."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B.coding import Coding

from msinfusion.application.records import Role
from tests.e2e.fhir.world import FhirWorld

BASE = "https://testserver"
DOCUMENTED = {
    "http://loinc.org",
    "http://unitsofmeasure.org",
    "urn:iso:std:iso:11073:10101",
    "http://snomed.info/sct",
    "http://www.whocc.no/atc",
    "http://terminology.hl7.org/CodeSystem/observation-category",
    "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
    "http://terminology.hl7.org/CodeSystem/medication-admin-category",
    "http://terminology.hl7.org/CodeSystem/mdr",
    "http://hl7.org/fhir/us/ctcae/CodeSystem/ctcae-grade-code-system",
    "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
    "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
    "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
    "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "urn:msinfusion:lab-test",
    "urn:msinfusion:gate",
    "urn:msinfusion:monitoring",
}
"""docs/fhir.md "Codes and where they come from" (identifier systems are not codings)."""
EXPECTED = {
    "http://loinc.org": {
        "85354-9",
        "8480-6",
        "8462-4",
        "8867-4",
        "2708-6",
        "59408-5",
        "8310-5",
        "9279-1",
    },
    "http://unitsofmeasure.org": {"mm[Hg]", "/min", "%", "Cel", "mL/h", "mL", "mg", "min"},
    "http://snomed.info/sct": {"1104051000000101", "47625008", "733464008"},
    "http://terminology.hl7.org/CodeSystem/mdr": {"10051792"},
    "http://hl7.org/fhir/us/ctcae/CodeSystem/ctcae-grade-code-system": {"2", "4"},
    "http://terminology.hl7.org/CodeSystem/adverse-event-severity": {"moderate", "severe"},
    "http://terminology.hl7.org/CodeSystem/v3-DataOperation": {"CREATE"},
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": {"N", "NEG"},
}
"""Codes worked by hand from the test world (docs/fhir.md cites each)."""


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    """Every Coding-like object (``system`` and ``code``) and UCUM Quantity in ``value``."""
    if isinstance(value, dict):
        if "system" in value and "code" in value and isinstance(value["code"], str):
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def _exported(world: FhirWorld) -> list[dict[str, Any]]:
    kicked = world.get(Role.NURSE, "/fhir/$export", headers={"Prefer": "respond-async"})
    status = kicked.headers["content-location"].removeprefix(BASE)
    manifest = world.get(Role.NURSE, status).json()
    resources = []
    for output in manifest["output"]:
        text = world.get(Role.NURSE, output["url"].removeprefix(BASE)).text
        resources.extend(json.loads(line) for line in text.splitlines())
    return resources


def test_every_code_system_is_documented_and_round_trips(fhir_world: FhirWorld) -> None:
    used: dict[str, set[str]] = defaultdict(set)
    for resource in _exported(fhir_world):
        for coding in _codings(resource):
            parsed = Coding.model_validate(
                {k: v for k, v in coding.items() if k in ("system", "code", "display", "version")}
            )
            assert parsed.system == coding["system"]
            assert parsed.code == coding["code"]
            used[coding["system"]].add(coding["code"])
    undocumented = set(used) - DOCUMENTED
    assert not undocumented, undocumented
    for system, codes in EXPECTED.items():
        assert codes <= used[system], (system, codes - used[system])


def test_every_documented_code_system_is_in_the_docs() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "fhir.md").read_text(encoding="utf-8")
    for system in DOCUMENTED:
        assert system in docs or system.replace("-verification", "") in docs, system
