"""Every code system and code the FHIR adapter writes, each with where it comes from.

Nothing here is invented: LOINC, UCUM and MDC codes are the monitoring core's
(``monitoring.vital_signs.VITAL_SIGN_CODES``, standards dossier section 3); the rest are cited
below and in docs/fhir.md. A code written by a mapper is a constant from this module.
"""

from __future__ import annotations

from typing import Any

from msinfusion.monitoring.vital_signs import VITAL_SIGN_CODES, VitalSignCode

FHIR_VERSION = "4.0.1"
"""What the interface speaks; resources are built and validated with the R4B models of
``fhir.resources``, whose elements are the R4 ones for every resource served here (dossier 4.7)."""

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
"""https://hl7.org/fhir/R4/terminologies-systems.html (ATC)."""
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
"""https://hl7.org/fhir/R4/codesystem-observation-category.html: vital-signs, survey."""
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
"""https://terminology.hl7.org/CodeSystem-v3-ActReason.html: HTEST, "test health data"."""
LOCAL_ROLE = "urn:msinfusion:role"
"""The centre's own role names (``application.records.Role``), not a standard code system."""
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
"""https://hl7.org/fhir/R4/codesystem-medicationrequest-category.html: outpatient."""

SYNTHETIC_TAG: dict[str, str] = {
    "system": ACT_REASON,
    "code": "HTEST",
    "display": "test health data",
}
"""``meta.tag`` of every resource about a synthetic (demo or test) patient."""

INTRAVENOUS: dict[str, Any] = {
    "coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}],
    "text": "intravenous",
}
"""SNOMED CT route, from the FHIR R4 SNOMED CT Route Codes value set
(https://hl7.org/fhir/R4/valueset-route-codes.html)."""

VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
"""https://hl7.org/fhir/R4/observation-vitalsigns.html; the specific profiles below."""
PROFILES = {
    "bp": "http://hl7.org/fhir/StructureDefinition/bp",
    "heart_rate_bpm": "http://hl7.org/fhir/StructureDefinition/heartrate",
    "spo2_pct": "http://hl7.org/fhir/StructureDefinition/oxygensat",
    "temperature_c": "http://hl7.org/fhir/StructureDefinition/bodytemp",
    "respiratory_rate_per_min": "http://hl7.org/fhir/StructureDefinition/resprate",
}

BP_PANEL = "85354-9"
BP_PANEL_DISPLAY = "Blood pressure panel with all children optional"
BP_PANEL_MDC = 150020
OXYGEN_SATURATION = "2708-6"
"""The base FHIR oxygensat profile's code; sent beside 59408-5 (US Core pulse oximetry)."""

NEWS2_TOTAL: dict[str, str] = {"system": SNOMED, "code": "1104051000000101"}
"""SNOMED CT UK extension (dossier section 3: no LOINC code for the NEWS2 total is verified)."""
NEWS2_SUBSCORES: dict[str, str] = {
    "respiration_rate": "1104301000000104",
    "spo2": "1104311000000102",
    "air_or_oxygen": "1104331000000105",
    "systolic_bp": "1104341000000101",
    "pulse": "1104351000000103",
    "consciousness": "1104361000000100",
    "temperature": "1104371000000107",
}
"""SNOMED CT UK sub-score codes (dossier section 3). The SpO2 code is the scale-1 one: a scale-2
sub-score is sent with text only."""


def vital_sign_code(field: str) -> VitalSignCode:
    """The monitoring core's LOINC/UCUM/MDC row for ``field`` (e.g. ``heart_rate_bpm``)."""
    for code in VITAL_SIGN_CODES:
        if code.field == field:
            return code
    raise KeyError(field)  # pragma: no cover - every field used here is in the table


def loinc(code: str, display: str) -> dict[str, str]:
    return {"system": LOINC, "code": code, "display": display}


def mdc(code: int, ref: str) -> dict[str, str]:
    return {"system": MDC, "code": str(code), "display": ref}


# -- reactions, allergies, provenance, scheduling, care plans, labs (docs/fhir.md "Codes") ------

MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"
"""MedDRA, https://hl7.org/fhir/R4/terminologies-systems.html."""
INFUSION_RELATED_REACTION: dict[str, str] = {
    "system": MEDDRA,
    "code": "10051792",
    "display": "Infusion related reaction",
}
"""The CTCAE v5.0 term of an infusion reaction, by its MedDRA code (dossier section 1.2)."""
CTCAE_VERSION = "5.0"
CTCAE_GRADE_EXTENSION = "http://hl7.org/fhir/us/ctcae/StructureDefinition/ctcae-grade"
CTCAE_GRADE_SYSTEM = "http://hl7.org/fhir/us/ctcae/CodeSystem/ctcae-grade-code-system"
"""The HL7 CTC Adverse Events IG (draft; canonical http://hl7.org/fhir/us/ctcae, extension
``ctcae-grade`` valueCodeableConcept, grades 0-5; dossier section 4.4)."""
CTCAE_GRADES: dict[int, str] = {
    0: "Absent Adverse Event",
    1: "Mild Adverse Event",
    2: "Moderate Adverse Event",
    3: "Severe Adverse Event",
    4: "Life Threatening or Disabling Adverse Event",
    5: "Death Related to Adverse Event",
}
"""Displays of the CTC AE IG grade code system (its CodeSystem ``ctcae-grade-code-system``)."""
RESOLVED_DATE_EXTENSION = (
    "http://hl7.org/fhir/us/ctcae/StructureDefinition/adverse-event-resolved-date"
)
"""The CTC AE IG's ``adverse-event-resolved-date`` (valueDateTime)."""
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
"""mild, moderate, severe (https://hl7.org/fhir/R4/valueset-adverse-event-severity.html)."""
ADVERSE_EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
"""resolved, ongoing... (https://hl7.org/fhir/R4/valueset-adverse-event-outcome.html)."""
ADVERSE_EVENT_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
"""serious, non-serious (https://hl7.org/fhir/R4/valueset-adverse-event-seriousness.html)."""
LOCAL_EXTENSION = "urn:msinfusion:fhir:extension:"
"""This server's own extensions (no published StructureDefinition): ``symptom`` (valueString,
one per recorded symptom) and ``action-taken`` (what was done about a reaction: valueString,
or valueReference to the administration that did it)."""

ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
"""https://hl7.org/fhir/R4/valueset-allergyintolerance-clinical.html and
https://hl7.org/fhir/R4/valueset-allergyintolerance-verification.html."""

PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
"""enterer, author (https://hl7.org/fhir/R4/valueset-provenance-agent-type.html)."""
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
"""CREATE, UPDATE (https://hl7.org/fhir/R4/valueset-provenance-activity-type.html)."""

OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
"""A, N, POS, NEG (https://hl7.org/fhir/R4/valueset-observation-interpretation.html)."""
LAB_TEST_SYSTEM = "urn:msinfusion:lab-test"
"""The record's own test names (``planning.patient_record.LAB_TESTS``): no LOINC code for them
is verified in the standards dossier, so none is sent."""
GATE_SYSTEM = "urn:msinfusion:gate"
MONITORING_SYSTEM = "urn:msinfusion:monitoring"
"""The ids of the course's pre-treatment gates and monitoring items (``planning``)."""
