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
