"""AdverseEvent, AllergyIntolerance, Provenance, Schedule/Slot/Appointment, CarePlan and lab
Observations: parsed back with the R4B models, with hand-worked values from ``world.py``."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from msinfusion.application.records import Role
from tests.e2e.fhir.world import LAB_DAY, FhirWorld

MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"
CTCAE_GRADE = "http://hl7.org/fhir/us/ctcae/StructureDefinition/ctcae-grade"
CTCAE_SYSTEM = "http://hl7.org/fhir/us/ctcae/CodeSystem/ctcae-grade-code-system"
ACTION = "urn:msinfusion:fhir:extension:action-taken"
SYMPTOM = "urn:msinfusion:fhir:extension:symptom"


def read(world: FhirWorld, path: str) -> dict[str, Any]:
    response = world.get(Role.NURSE, path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    model = get_fhir_model_class(body["resourceType"])
    assert model.model_validate(body).model_dump(mode="json") == body
    return body


def search(world: FhirWorld, path: str) -> list[dict[str, Any]]:
    bundle = read(world, path)
    return [e["resource"] for e in bundle.get("entry", [])]


def extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == url]


def _reaction_of(world: FhirWorld, patient: str) -> dict[str, Any]:
    found = search(world, f"/fhir/AdverseEvent?patient={world.ids[patient]}")
    assert len(found) == 1
    return found[0]


# -- AdverseEvent -------------------------------------------------------------------------------


def test_a_moderate_reaction_with_its_grade_symptoms_and_what_was_done(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    session = ids["session_a"]
    event = _reaction_of(fhir_world, "patient_a")
    assert event["actuality"] == "actual"
    assert event["event"]["coding"] == [
        {"system": MEDDRA, "code": "10051792", "display": "Infusion related reaction"}
    ]
    assert event["severity"]["coding"][0]["code"] == "moderate"
    assert "seriousness" not in event
    grade = extensions(event, CTCAE_GRADE)
    assert grade == [
        {
            "url": CTCAE_GRADE,
            "valueCodeableConcept": {
                "coding": [
                    {"system": CTCAE_SYSTEM, "code": "2", "display": "Moderate Adverse Event"}
                ]
            },
        }
    ]
    assert [e["valueString"] for e in extensions(event, SYMPTOM)] == ["flushing", "itching"]
    # Minute 75 of the standard ladder (started 03:00): 04:15, at 120 mL/h.
    assert event["date"] == event["detected"] == "2026-03-02T04:15:00Z"
    assert event["recordedDate"] == "2026-03-02T04:15:00Z"
    assert event["subject"] == {"reference": f"Patient/{ids['patient_a']}"}
    assert event["location"] == {"reference": f"Location/{ids['chair_a']}"}
    assert event["recorder"] == {"reference": f"Practitioner/{ids['nurse']}"}
    assert event["suspectEntity"][0]["instance"] == {
        "reference": f"MedicationAdministration/{session}"
    }
    assert event["outcome"]["coding"][0]["code"] == "unknown"  # discharged, no resolution charted
    actions = extensions(event, ACTION)
    assert actions[0] == {"url": ACTION, "valueString": "reduce rate"}
    halved, rescue = (a["valueReference"] for a in actions[1:])
    # The rate was halved to 60 mL/h: the fourth segment (04:15-04:45) of the worked ladder.
    assert halved == {
        "reference": f"MedicationAdministration/{session}-segment-4",
        "display": "rate changed from 120 to 60 mL/h",
    }
    assert rescue["reference"].startswith(f"MedicationAdministration/{session}-rescue-")
    assert "cetirizine" in rescue["display"]
    segment = read(fhir_world, f"/fhir/{halved['reference']}")
    assert segment["effectivePeriod"]["start"] == "2026-03-02T04:15:00Z"
    assert segment["dosage"]["rateQuantity"]["value"] == 60
    given = read(fhir_world, f"/fhir/{rescue['reference']}")
    assert given["effectiveDateTime"] == "2026-03-02T04:17:00Z"


def test_a_life_threatening_reaction_is_severe_serious_grade_4_and_stopped_the_infusion(
    fhir_world: FhirWorld,
) -> None:
    session = fhir_world.ids["session_c"]
    event = _reaction_of(fhir_world, "patient_c")
    assert event["severity"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                "code": "severe",
            }
        ],
        "text": "life-threatening",
    }
    assert event["seriousness"]["coding"][0]["code"] == "serious"
    grade = extensions(event, CTCAE_GRADE)[0]["valueCodeableConcept"]["coding"][0]
    assert (grade["system"], grade["code"]) == (CTCAE_SYSTEM, "4")
    assert event["date"] == "2026-03-02T09:05:00Z"  # 08:45 + 20 min
    actions = extensions(event, ACTION)
    assert actions[0]["valueString"] == "stop"
    assert {"reference": f"MedicationAdministration/{session}", "display": "stopped"} in [
        a.get("valueReference") for a in actions
    ]
    infusion = read(fhir_world, f"/fhir/MedicationAdministration/{session}")
    assert infusion["status"] == "stopped"
    assert infusion["effectivePeriod"]["end"] == "2026-03-02T09:05:00Z"


def test_adverse_event_search_by_severity_and_date(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    severe = search(fhir_world, "/fhir/AdverseEvent?severity=severe")
    assert [e["subject"]["reference"] for e in severe] == [f"Patient/{ids['patient_c']}"]
    morning = search(fhir_world, "/fhir/AdverseEvent?date=lt2026-03-02T06:00Z")
    assert [e["subject"]["reference"] for e in morning] == [f"Patient/{ids['patient_a']}"]


# -- AllergyIntolerance -------------------------------------------------------------------------


def test_the_allergy_list_and_a_therapy_contraindicated_by_a_reaction(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    listed = search(fhir_world, f"/fhir/AllergyIntolerance?patient={ids['patient_a']}")
    assert [a["id"] for a in listed] == [f"{ids['patient_a']}-allergy-1"]
    penicillin = listed[0]
    assert penicillin["code"] == {"text": "penicillin"}
    assert penicillin["clinicalStatus"]["coding"][0]["code"] == "active"
    assert penicillin["reaction"] == [
        {
            "substance": {"text": "penicillin"},
            "manifestation": [{"text": "rash"}],
            "severity": "moderate",
        }
    ]
    found = search(fhir_world, f"/fhir/AllergyIntolerance?patient={ids['patient_c']}")
    assert [a["id"] for a in found] == [f"{ids['patient_c']}-contraindication-ocrelizumab"]
    item = found[0]
    assert item["category"] == ["medication"]
    assert item["criticality"] == "high"
    assert item["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert {(c["system"], c["code"]) for c in item["code"]["coding"]} == {
        ("http://www.whocc.no/atc", "L04AG08"),
        ("http://snomed.info/sct", "733464008"),
    }
    assert item["onsetDateTime"] == "2026-03-02T09:05:00Z"
    assert item["reaction"][0]["severity"] == "severe"
    assert [m["text"] for m in item["reaction"][0]["manifestation"]] == [
        "hypotension",
        "bronchospasm",
    ]
    reaction = _reaction_of(fhir_world, "patient_c")
    assert {"text": f"see AdverseEvent/{reaction['id']}"} in item["note"]
    medication = search(fhir_world, "/fhir/AllergyIntolerance?category=medication")
    assert [a["id"] for a in medication] == [item["id"]]


# -- Provenance ---------------------------------------------------------------------------------


def test_a_late_entry_keeps_when_it_happened_and_when_it_was_recorded(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    administrations = search(
        fhir_world, f"/fhir/MedicationAdministration?patient={ids['patient_a']}&_count=500"
    )
    late = next(
        a for a in administrations if a["medicationCodeableConcept"]["text"] == "diphenhydramine"
    )
    found = search(fhir_world, f"/fhir/Provenance?target=MedicationAdministration/{late['id']}")
    assert len(found) == 1
    provenance = found[0]
    assert provenance["occurredDateTime"] == "2026-03-02T02:15:00Z"
    assert provenance["recorded"] == "2026-03-02T02:55:00Z"
    assert provenance["reason"] == [{"text": "late entry: charted after the ward round"}]
    assert provenance["activity"]["coding"][0]["code"] == "CREATE"
    assert provenance["agent"] == [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                        "code": "enterer",
                    }
                ]
            },
            "who": {"reference": f"Practitioner/{ids['nurse']}"},
        }
    ]
    assert provenance["location"] == {"reference": f"Location/{ids['chair_a']}"}


def test_a_device_entry_names_the_monitor_and_a_lab_entry_its_recorder(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    heart_rates = search(
        fhir_world, f"/fhir/Observation?patient={ids['patient_a']}&code=http://loinc.org|8867-4"
    )
    fed = next(o for o in heart_rates if "device" in o)
    provenance = search(fhir_world, f"/fhir/Provenance?target=Observation/{fed['id']}")[0]
    assert provenance["agent"][0]["who"] == {
        "identifier": {"system": "urn:msinfusion:device", "value": "device1"},
        "display": "device1",
    }
    assert provenance["occurredDateTime"] == "2026-03-02T03:20:00Z"
    assert provenance["recorded"] == "2026-03-02T03:21:00Z"
    lab = search(fhir_world, f"/fhir/Provenance?target=Observation/{ids['lab_alt']}")[0]
    assert lab["occurredDateTime"] == LAB_DAY
    assert lab["recorded"] == "2026-03-02T10:45:00Z"
    assert lab["agent"][0]["who"] == {"reference": f"Practitioner/{ids['nurse']}"}


def test_provenance_search_by_patient_reads_only_that_patient(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    for_b = search(fhir_world, f"/fhir/Provenance?patient={ids['patient_b']}&_count=500")
    assert for_b
    labs_of_b = {
        o["id"]
        for o in search(
            fhir_world, f"/fhir/Observation?patient={ids['patient_b']}&category=laboratory"
        )
    }
    assert all(
        ids["session_b"] in p["id"] or p["target"][0]["reference"][12:] in labs_of_b for p in for_b
    )
    everyone = read(fhir_world, "/fhir/Provenance?_count=0")["total"]
    per_patient = sum(
        read(fhir_world, f"/fhir/Provenance?patient={ids[p]}&_count=0")["total"]
        for p in ("patient_a", "patient_b", "patient_c")
    )
    assert per_patient == everyone


# -- Schedule, Slot, Appointment ----------------------------------------------------------------


def test_each_chair_has_a_schedule_and_each_booking_a_slot_and_appointment(
    fhir_world: FhirWorld,
) -> None:
    ids = fhir_world.ids
    schedules = {s["id"]: s for s in search(fhir_world, "/fhir/Schedule")}
    assert set(schedules) == {ids["chair_a"], ids["chair_b"]}
    assert schedules[ids["chair_b"]]["actor"] == [
        {"reference": f"Location/{ids['chair_b']}", "display": "Chair 2"}
    ]
    on_chair_1 = search(fhir_world, f"/fhir/Slot?schedule=Schedule/{ids['chair_a']}")
    assert len(on_chair_1) == 2  # patients A and C
    assert {s["status"] for s in on_chair_1} == {"busy"}
    booked = search(fhir_world, f"/fhir/Appointment?patient={ids['patient_b']}")
    assert len(booked) == 1
    appointment = booked[0]
    # Booked at B_START - 1 h (09:00 UTC) on chair 2, for the patient's order.
    assert appointment["start"] == "2026-03-02T09:00:00Z"
    assert appointment["basedOn"] == [{"reference": f"MedicationRequest/{ids['order_b']}"}]
    assert appointment["supportingInformation"] == [
        {"reference": f"MedicationAdministration/{ids['session_b']}"}
    ]
    assert appointment["slot"] == [{"reference": f"Slot/{appointment['id']}"}]
    assert {p["actor"]["reference"] for p in appointment["participant"]} == {
        f"Patient/{ids['patient_b']}",
        f"Location/{ids['chair_b']}",
    }
    assert appointment["minutesDuration"] == 330
    slot = read(fhir_world, f"/fhir/Slot/{appointment['id']}")
    assert (slot["start"], slot["end"]) == (appointment["start"], appointment["end"])
    on_chair_2 = search(fhir_world, f"/fhir/Appointment?actor=Location/{ids['chair_b']}")
    assert [a["id"] for a in on_chair_2] == [appointment["id"]]
    late = search(fhir_world, "/fhir/Appointment?date=ge2026-03-02T08:00Z")
    assert len(late) == 2  # C (07:45-13:15 reaches past 08:00) and B


# -- CarePlan -----------------------------------------------------------------------------------


def test_the_treatment_course_as_a_care_plan(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    plan = read(fhir_world, f"/fhir/CarePlan/{ids['order_a']}")
    assert plan["status"] == "active"
    assert plan["intent"] == "order"
    assert plan["subject"] == {"reference": f"Patient/{ids['patient_a']}"}
    assert plan["supportingInfo"] == [{"reference": f"MedicationRequest/{ids['order_a']}"}]
    details = [a["detail"] for a in plan["activity"]]
    doses = [d for d in details if d["kind"] == "MedicationRequest"]
    # Ocrelizumab: 2 x 300 mg, then 600 mg every 24 weeks; doses 1-3 given by today.
    assert [d["status"] for d in doses[:4]] == [
        "completed",
        "completed",
        "completed",
        "not-started",
    ]
    assert doses[0]["description"].startswith("dose 1: ")
    assert doses[0]["scheduledPeriod"] == {"start": "2025-09-15", "end": "2025-09-15"}
    gates = [d for d in details if d["kind"] == "Task"]
    assert gates
    assert all(g["code"]["coding"][0]["system"] == "urn:msinfusion:gate" for g in gates)
    assert {g["status"] for g in gates} <= {"completed", "on-hold", "not-started", "cancelled"}
    monitoring = [d for d in details if d["kind"] == "ServiceRequest"]
    assert monitoring
    assert all(m["code"]["coding"][0]["system"] == "urn:msinfusion:monitoring" for m in monitoring)
    active = search(fhir_world, f"/fhir/CarePlan?patient={ids['patient_b']}&status=active")
    assert [p["id"] for p in active] == [ids["order_b"]]


# -- lab results --------------------------------------------------------------------------------


def test_lab_results_from_the_clinical_record(fhir_world: FhirWorld) -> None:
    ids = fhir_world.ids
    labs = {
        o["code"]["coding"][0]["code"]: o
        for o in search(
            fhir_world,
            f"/fhir/Observation?patient={ids['patient_a']}&category=laboratory&date={LAB_DAY}",
        )
    }
    assert set(labs) == {"alt", "hbsag", "tsh"}
    alt = labs["alt"]
    assert alt["id"] == ids["lab_alt"]
    assert alt["status"] == "final"
    assert alt["effectiveDateTime"] == LAB_DAY
    assert alt["valueQuantity"] == {"value": 32}
    assert alt["interpretation"][0]["coding"][0]["code"] == "N"
    assert alt["performer"] == [{"reference": f"Practitioner/{ids['nurse']}"}]
    hbsag = labs["hbsag"]
    assert "valueQuantity" not in hbsag
    assert [c["coding"][0]["code"] for c in hbsag["interpretation"]] == ["NEG"]
    assert labs["tsh"]["status"] == "entered-in-error"  # retracted as made in error
    by_code = search(
        fhir_world, f"/fhir/Observation?code=urn:msinfusion:lab-test|alt&date={LAB_DAY}"
    )
    assert [o["id"] for o in by_code] == [ids["lab_alt"]]
    history = search(
        fhir_world, f"/fhir/Observation?patient={ids['patient_a']}&category=laboratory"
    )
    assert len(history) > 3  # the course history's screening results too


@pytest.mark.parametrize(
    "resource_type",
    ["AllergyIntolerance", "AdverseEvent", "CarePlan", "Appointment", "Provenance", "Observation"],
)
def test_patient_searches_only_return_that_patient(
    fhir_world: FhirWorld, resource_type: str
) -> None:
    ids = fhir_world.ids
    for name in ("patient_a", "patient_b", "patient_c"):
        found = search(fhir_world, f"/fhir/{resource_type}?patient={ids[name]}&_count=500")
        others = {ids[n] for n in ("patient_a", "patient_b", "patient_c")} - {ids[name]}
        text = str(found)
        assert not any(o in text for o in others), (resource_type, name)
