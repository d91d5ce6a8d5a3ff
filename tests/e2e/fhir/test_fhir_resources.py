"""The FHIR resources, parsed back with the fhir.resources R4B models, and their real values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from msinfusion.application.records import Role
from msinfusion.catalog import shipped_catalog
from tests.e2e.fhir.world import MRN_SYSTEM, FhirWorld

TYPES = (
    "Patient",
    "Practitioner",
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
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HTEST = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "code": "HTEST",
    "display": "test health data",
}


def search(world: FhirWorld, path: str, role: Role = Role.NURSE) -> list[dict[str, Any]]:
    response = world.get(role, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    return [e["resource"] for e in bundle.get("entry", [])]


def by_id(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in resources}


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_metadata_states_what_is_served_without_sign_in(fhir_world: FhirWorld) -> None:
    response = fhir_world.get(None, "/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.kind == "instance"
    served = {r.type: r for r in statement.rest[0].resource}
    assert tuple(served) == TYPES
    for name, resource in served.items():
        expected = ["read", "search-type"] + (["create"] if name == "Observation" else [])
        assert [i.code for i in resource.interaction] == expected
    observation = {p.name: p.type for p in served["Observation"].searchParam}
    assert observation == {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "category": "token",
        "date": "date",
    }
    assert {p.name for p in served["Patient"].searchParam} == {
        "_id",
        "identifier",
        "birthdate",
        "gender",
    }


@pytest.mark.parametrize("resource_type", TYPES)
def test_every_resource_parses_with_its_r4b_model_and_reads_back(
    fhir_world: FhirWorld, resource_type: str
) -> None:
    found = search(fhir_world, f"/fhir/{resource_type}?_count=500")
    assert found, resource_type
    model = get_fhir_model_class(resource_type)
    for resource in found:
        assert resource["resourceType"] == resource_type
        parsed = model.model_validate(resource)
        assert parsed.model_dump(mode="json") == resource
        read = fhir_world.get(Role.NURSE, f"/fhir/{resource_type}/{resource['id']}")
        assert read.status_code == 200, read.text
        assert read.json() == resource


def test_patient_carries_identifiers_birth_date_gender_and_the_synthetic_tag(
    fhir_world: FhirWorld,
) -> None:
    patient = fhir_world.get(Role.NURSE, f"/fhir/Patient/{fhir_world.ids['patient_a']}").json()
    assert patient["identifier"] == [{"use": "usual", "system": MRN_SYSTEM, "value": "DEMO-0001"}]
    assert patient["birthDate"] == "1980-04-12"
    assert patient["gender"] == "female"
    assert patient["name"] == [{"text": "Synthetic Patient 01"}]
    assert patient["meta"]["tag"] == [HTEST]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"identifier={MRN_SYSTEM}|DEMO-0001", {"patient_a"}),
        ("identifier=DEMO-0001", {"patient_a"}),
        ("identifier=|DEMO-0001", set()),  # "|value": an identifier without a system
        (f"identifier={MRN_SYSTEM}|", {"patient_a"}),
        ("identifier=urn:other|DEMO-0001", set()),
        ("birthdate=1980-04-12", {"patient_a"}),
        ("birthdate=1980", {"patient_a"}),
        ("birthdate=lt1979-01-01", {"patient_b"}),
        ("birthdate=ge1975-09-30&birthdate=le1975-09-30", {"patient_b"}),
        ("birthdate=ne1980-04", {"patient_b", "patient_c"}),
        ("gender=male", {"patient_b"}),
        ("_id={patient_a},{patient_b}", {"patient_a", "patient_b"}),
    ],
)
def test_patient_search(fhir_world: FhirWorld, query: str, expected: set[str]) -> None:
    ids = fhir_world.ids
    found = search(fhir_world, f"/fhir/Patient?{query.format(**ids)}")
    assert {r["id"] for r in found} == {ids[name] for name in expected}


def test_practitioners_are_the_signing_users_without_secrets(fhir_world: FhirWorld) -> None:
    response = fhir_world.get(Role.NURSE, "/fhir/Practitioner")
    found = by_id([e["resource"] for e in response.json()["entry"]])
    assert set(found) == {fhir_world.ids["nurse"], fhir_world.ids["physician"]}
    nurse = found[fhir_world.ids["nurse"]]
    assert nurse["identifier"] == [{"system": "urn:msinfusion:username", "value": "nurse1"}]
    assert nurse["active"] is True
    text = response.text.lower()
    assert "argon2" not in text
    assert "password" not in text
    assert "msi_" not in text  # no token
    named = search(fhir_world, "/fhir/Practitioner?identifier=urn:msinfusion:username|physician1")
    assert [p["id"] for p in named] == [fhir_world.ids["physician"]]


def test_locations_are_the_centre_and_its_chairs(fhir_world: FhirWorld) -> None:
    found = by_id(search(fhir_world, "/fhir/Location"))
    assert set(found) == {"centre", fhir_world.ids["chair_a"], fhir_world.ids["chair_b"]}
    chair = found[fhir_world.ids["chair_b"]]
    assert chair["name"] == "Chair 2"
    assert chair["partOf"] == {"reference": "Location/centre"}
    assert chair["status"] == "active"
    assert "partOf" not in found["centre"]


def test_the_order_lists_each_protocol_s_rate_steps_as_dosage_instructions(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    request = fhir_world.get(Role.NURSE, f"/fhir/MedicationRequest/{ids['order_a']}").json()
    assert request["status"] == "active"
    assert request["intent"] == "order"
    assert request["subject"] == {"reference": f"Patient/{ids['patient_a']}"}
    assert request["requester"] == {"reference": f"Practitioner/{ids['physician']}"}
    assert codes(request["medicationCodeableConcept"]) == {
        ("http://www.whocc.no/atc", "L04AG08"),
        ("http://snomed.info/sct", "733464008"),
    }
    assert request["meta"]["tag"] == [HTEST]
    dosages = request["dosageInstruction"]
    assert [d["sequence"] for d in dosages] == list(range(1, len(dosages) + 1))
    catalog = shipped_catalog()
    expected = []
    for protocol_id in ("ocrelizumab-300-initial", "ocrelizumab-600-standard"):
        expected += [s.rate_ml_per_h for s in catalog.get_protocol(protocol_id).ladder.steps]
    rates = [Decimal(str(d["doseAndRate"][0]["rateQuantity"]["value"])) for d in dosages]
    assert rates == expected
    # ocrelizumab 600 mg: 40 mL/h for 30 min, then 80, 120, 160 and 200 mL/h to the end.
    standard = [d for d in dosages if d["text"].startswith("ocrelizumab-600-standard")]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in standard] == [
        40,
        80,
        120,
        160,
        200,
    ]
    first = standard[0]
    assert first["doseAndRate"][0]["doseQuantity"] == {
        "value": 600,
        "unit": "mg",
        "system": UCUM,
        "code": "mg",
    }
    assert first["doseAndRate"][0]["rateQuantity"]["code"] == "mL/h"
    assert first["timing"]["repeat"]["boundsDuration"] == {
        "value": 30,
        "unit": "min",
        "system": UCUM,
        "code": "min",
    }
    assert "timing" not in standard[-1]  # the last step runs until the bag is empty
    assert codes(first["route"]) == {("http://snomed.info/sct", "47625008")}
    assert "doses 3 to" in first["text"]
    initial = [d for d in dosages if d["text"].startswith("ocrelizumab-300-initial")]
    assert "doses 1 to 2" in initial[0]["text"]
    assert initial[0]["doseAndRate"][0]["doseQuantity"]["value"] == 300


def _administrations(world: FhirWorld, session: str) -> dict[str, dict[str, Any]]:
    patient = "patient_a" if session == "session_a" else "patient_b"
    return by_id(
        search(world, f"/fhir/MedicationAdministration?patient={world.ids[patient]}&_count=500")
    )


def test_a_completed_infusion_with_its_period_dose_rate_history_and_medications(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    session = ids["session_a"]
    found = _administrations(fhir_world, "session_a")
    infusion = found[session]
    assert infusion["status"] == "completed"
    assert infusion["effectivePeriod"] == {
        "start": "2026-03-02T03:00:00Z",
        "end": "2026-03-02T07:06:00Z",
    }
    assert infusion["dosage"]["dose"] == {"value": 600, "unit": "mg", "system": UCUM, "code": "mg"}
    assert infusion["dosage"]["text"] == "500 mL of 500 mL (600 mg of 600 mg) delivered"
    assert infusion["request"] == {"reference": f"MedicationRequest/{ids['order_a']}"}
    assert infusion["subject"] == {"reference": f"Patient/{ids['patient_a']}"}
    assert infusion["performer"] == [{"actor": {"reference": f"Practitioner/{ids['nurse']}"}}]
    segments = sorted(
        (r for r in found.values() if "-segment-" in r["id"]),
        key=lambda r: r["effectivePeriod"]["start"],
    )
    assert all(
        s["partOf"] == [{"reference": f"MedicationAdministration/{session}"}] for s in segments
    )
    # The ladder, a moderate reaction at 120 mL/h (minute 75) halves it to 60, then the ladder
    # again from there: hand-worked volumes add up to the 500 mL bag.
    assert [
        (
            s["effectivePeriod"]["start"][11:16],
            s["effectivePeriod"]["end"][11:16],
            s["dosage"]["rateQuantity"]["value"],
            s["dosage"]["dose"]["value"],
        )
        for s in segments
    ] == [
        ("03:00", "03:30", 40, 20),
        ("03:30", "04:00", 80, 40),
        ("04:00", "04:15", 120, 30),
        ("04:15", "04:45", 60, 30),
        ("04:45", "05:15", 100, 50),
        ("05:15", "05:45", 140, 70),
        ("05:45", "06:15", 180, 90),
        ("06:15", "07:06", 200, 170),
    ]
    assert sum(s["dosage"]["dose"]["value"] for s in segments) == 500
    assert {s["dosage"]["rateQuantity"]["code"] for s in segments} == {"mL/h"}
    assert {s["dosage"]["dose"]["code"] for s in segments} == {"mL"}
    medications = [
        r for r in found.values() if "-premedication-" in r["id"] or "-rescue-" in r["id"]
    ]
    assert sorted(r["medicationCodeableConcept"]["text"] for r in medications) == [
        "cetirizine",
        "diphenhydramine",
        "methylprednisolone",
    ]
    for medication in medications:
        assert medication["partOf"] == [{"reference": f"MedicationAdministration/{session}"}]
        assert medication["status"] == "completed"
    linked = {r["reference"] for r in infusion["supportingInformation"]}
    assert linked == {f"MedicationAdministration/{m['id']}" for m in medications}


def test_a_late_charted_premedication_keeps_both_times(fhir_world: FhirWorld) -> None:
    found = _administrations(fhir_world, "session_a")
    late = next(
        r for r in found.values() if r["medicationCodeableConcept"]["text"] == "diphenhydramine"
    )
    assert late["effectiveDateTime"] == "2026-03-02T02:15:00Z"  # given 45 min before the start
    assert late["meta"]["lastUpdated"] == "2026-03-02T02:55:00Z"  # charted 40 min later
    on_time = next(
        r for r in found.values() if r["medicationCodeableConcept"]["text"] == "methylprednisolone"
    )
    assert on_time["effectiveDateTime"] == on_time["meta"]["lastUpdated"] == "2026-03-02T02:30:00Z"


def test_an_infusion_running_now_is_in_progress_with_its_current_rate(
    fhir_world: FhirWorld,
) -> None:
    session = fhir_world.ids["session_b"]
    found = _administrations(fhir_world, "session_b")
    infusion = found[session]
    assert infusion["status"] == "in-progress"
    assert infusion["effectivePeriod"] == {"start": "2026-03-02T10:00:00Z"}  # open: running
    assert infusion["dosage"]["rateQuantity"]["value"] == 80
    # 40 mL/h for 30 min + 80 mL/h for 15 min = 40 mL of 1.2 mg/mL: 48 mg by 10:45.
    assert infusion["dosage"]["dose"]["value"] == 48
    running = found[f"{session}-segment-2"]
    assert running["status"] == "in-progress"
    assert "end" not in running["effectivePeriod"]
    assert "dose" not in running["dosage"]


def _observations(world: FhirWorld, query: str = "") -> dict[str, dict[str, Any]]:
    path = f"/fhir/Observation?patient={world.ids['patient_a']}&_count=500" + query
    return by_id(search(world, path))


def test_vital_signs_carry_loinc_ucum_and_the_vital_signs_profiles(fhir_world: FhirWorld) -> None:
    session = fhir_world.ids["session_a"]
    found = _observations(fhir_world)
    baseline = {k: v for k, v in found.items() if k.endswith("-4")}
    bp = baseline[f"{session}-bp-4"]
    assert codes(bp["code"]) >= {(LOINC, "85354-9")}
    assert "valueQuantity" not in bp
    assert {
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in bp["component"]
    } == {("8480-6", 124, "mm[Hg]"), ("8462-4", 78, "mm[Hg]")}
    assert "http://hl7.org/fhir/StructureDefinition/bp" in bp["meta"]["profile"]
    expected = {
        "heart-rate": ({(LOINC, "8867-4")}, 92, "/min"),
        "spo2": ({(LOINC, "2708-6"), (LOINC, "59408-5")}, 95, "%"),
        "temperature": ({(LOINC, "8310-5")}, 38.2, "Cel"),
        "respiratory-rate": ({(LOINC, "9279-1")}, 21, "/min"),
    }
    for kind, (loinc_codes, value, unit) in expected.items():
        observation = baseline[f"{session}-{kind}-4"]
        assert codes(observation["code"]) >= loinc_codes, kind
        assert observation["valueQuantity"] == {
            "value": value,
            "unit": unit,
            "system": UCUM,
            "code": unit,
        }
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["effectiveDateTime"] == "2026-03-02T02:55:00Z"
        assert observation["subject"] == {"reference": f"Patient/{fhir_world.ids['patient_a']}"}
        assert observation["performer"] == [
            {"reference": f"Practitioner/{fhir_world.ids['nurse']}"}
        ]
        assert observation["partOf"] == [{"reference": f"MedicationAdministration/{session}"}]
    assert ("urn:iso:std:iso:11073:10101", "150456") in codes(baseline[f"{session}-spo2-4"]["code"])


def test_news2_total_is_a_survey_observation_from_the_full_set(fhir_world: FhirWorld) -> None:
    session = fhir_world.ids["session_a"]
    news2 = _observations(fhir_world, "&category=survey")
    assert list(news2) == [f"{session}-news2-4"]
    score = news2[f"{session}-news2-4"]
    assert codes(score["code"]) == {("http://snomed.info/sct", "1104051000000101")}
    assert score["valueInteger"] == 5  # worked by hand in world.BASELINE
    assert score["interpretation"] == [{"text": "NEWS2 band medium"}]
    sub = {c["code"]["coding"][0]["code"]: c["valueInteger"] for c in score["component"]}
    assert sub == {
        "1104301000000104": 2,  # respiration rate 21
        "1104311000000102": 1,  # SpO2 95 % (scale 1)
        "1104331000000105": 0,  # air
        "1104341000000101": 0,  # systolic 124
        "1104351000000103": 1,  # pulse 92
        "1104361000000100": 0,  # alert
        "1104371000000107": 1,  # 38.2 C
    }
    assert {r["reference"] for r in score["derivedFrom"]} == {
        f"Observation/{session}-{kind}-4"
        for kind in ("bp", "heart-rate", "spo2", "temperature", "respiratory-rate")
    }


def test_a_device_fed_heart_rate_names_the_monitor(fhir_world: FhirWorld) -> None:
    found = _observations(fhir_world, "&code=http://loinc.org|8867-4")
    device = [o for o in found.values() if "device" in o]
    assert len(found) == 2
    assert len(device) == 1
    reading = device[0]
    assert reading["device"] == {
        "identifier": {"system": "urn:msinfusion:device", "value": "device1"},
        "display": "device1",
    }
    assert "performer" not in reading
    assert reading["valueQuantity"]["value"] == 88
    assert reading["effectiveDateTime"] == "2026-03-02T03:20:00Z"
    assert reading["issued"] == "2026-03-02T03:21:00Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&date=ge2026-03-02T03:00:00Z&date=lt2026-03-02T04:00:00Z", {("heart-rate", "03:20")}),
        ("&date=lt2026-03-02T03:00:00%2B00:00&code=8867-4", {("heart-rate", "02:55")}),
        ("&date=2026-03-02T03:20Z", {("heart-rate", "03:20")}),
        ("&date=2026-03-02T04:20%2B01:00", {("heart-rate", "03:20")}),
        ("&date=gt2026-03-02", set()),
        ("&date=2026-03-01", set()),
        ("&code=http://loinc.org|2708-6", {("spo2", "02:55")}),
        ("&code=urn:iso:std:iso:11073:10101|150020", {("bp", "02:55")}),
    ],
)
def test_observation_search_by_date_and_code(
    fhir_world: FhirWorld, query: str, expected: set[tuple[str, str]]
) -> None:
    found = _observations(fhir_world, query)
    prefix = len(fhir_world.ids["session_a"]) + 1
    assert {
        (key[prefix:].rsplit("-", 1)[0], o["effectiveDateTime"][11:16]) for key, o in found.items()
    } == expected


def test_medication_administration_search_by_time_status_and_request(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    running = search(fhir_world, "/fhir/MedicationAdministration?status=in-progress")
    assert {r["id"] for r in running} == {ids["session_b"], f"{ids['session_b']}-segment-2"}
    # The infusion running now overlaps any later time: its period is open.
    later = search(fhir_world, "/fhir/MedicationAdministration?effective-time=gt2026-03-02T12:00Z")
    assert {r["id"] for r in later} == {ids["session_b"], f"{ids['session_b']}-segment-2"}
    ordered = search(fhir_world, f"/fhir/MedicationAdministration?request={ids['order_a']}")
    assert [r["id"] for r in ordered] == [ids["session_a"]]
    within = search(
        fhir_world,
        "/fhir/MedicationAdministration?effective-time=ge2026-03-02T02:00Z"
        "&effective-time=le2026-03-02T02:20Z",
    )
    assert [r["medicationCodeableConcept"]["text"] for r in within] == ["diphenhydramine"]


def test_paging_walks_every_match_once(fhir_world: FhirWorld) -> None:
    everything = search(fhir_world, "/fhir/Observation?_count=500")
    seen: list[str] = []
    path: str | None = "/fhir/Observation?_count=3"
    pages = 0
    while path is not None:
        bundle = fhir_world.get(Role.NURSE, path).json()
        assert bundle["total"] == len(everything)
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["first"].endswith("_count=3&_offset=0")
        following = links.get("next")
        path = None if following is None else following.removeprefix("https://testserver")
        pages += 1
    assert seen == [r["id"] for r in everything]
    assert pages == -(-len(everything) // 3)
    counted = fhir_world.get(Role.NURSE, "/fhir/Observation?_count=0").json()
    assert counted["total"] == len(everything)
    assert "entry" not in counted


def test_the_core_packages_never_import_fhir_resources() -> None:
    src = Path(__file__).resolve().parents[3] / "src" / "msinfusion"
    for package in ("catalog", "planning", "session", "monitoring", "application"):
        for module in (src / package).rglob("*.py"):
            text = module.read_text(encoding="utf-8")
            assert "import fhir" not in text, module
            assert "from fhir" not in text, module
