"""Observation for lab results from the patient's clinical record (``ClinicalEntry`` kind lab).

``Observation/{entry}``: ``category`` laboratory, ``code`` the record's test name in
``urn:msinfusion:lab-test`` (no LOINC code for these tests is verified in the standards dossier,
so none is claimed), ``effectiveDateTime`` the result's date, ``issued`` when it was recorded,
``performer`` who recorded it, ``valueQuantity`` the number when there is one (the record keeps
no unit, so none is sent), ``interpretation`` v3 POS/NEG for a positive/negative result and
A/N for the lab's abnormal flag, ``method.text`` the assay. A result retracted as made in error
is ``entered-in-error``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.R4B.observation import Observation

from msinfusion.adapters.fhir.codes import (
    LAB_TEST_SYSTEM,
    OBSERVATION_CATEGORY,
    OBSERVATION_INTERPRETATION,
)
from msinfusion.adapters.fhir.common import JsonObject, decimal, instant, meta, reference, validated
from msinfusion.application.clinical_record_view import retracted_ids
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind

LABORATORY = [
    {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
]
INTERPRETATIONS = {
    "POS": "Positive",
    "NEG": "Negative",
    "A": "Abnormal",
    "N": "Normal",
}


def _interpretation(code: str) -> JsonObject:
    return {
        "coding": [
            {"system": OBSERVATION_INTERPRETATION, "code": code, "display": INTERPRETATIONS[code]}
        ]
    }


def lab_entries(entries: list[ClinicalEntry]) -> list[ClinicalEntry]:
    return [e for e in entries if e.kind is ClinicalEntryKind.LAB]


def lab_observation(
    entry: ClinicalEntry, *, retracted: bool, synthetic: bool, signer_ids: set[str]
) -> JsonObject:
    data: dict[str, Any] = dict(entry.data)
    test = str(data.get("test", "unknown"))
    interpretation = []
    if data.get("positive") is not None:
        interpretation.append(_interpretation("POS" if data["positive"] else "NEG"))
    if data.get("abnormal") is not None:
        interpretation.append(_interpretation("A" if data["abnormal"] else "N"))
    value = data.get("value")
    return validated(
        Observation,
        {
            "resourceType": "Observation",
            "id": entry.id,
            "meta": meta(synthetic=synthetic, last_updated=entry.recorded_at),
            "status": "entered-in-error" if retracted else "final",
            "category": LABORATORY,
            "code": {
                "coding": [{"system": LAB_TEST_SYSTEM, "code": test}],
                "text": test.replace("_", " "),
            },
            "subject": reference("Patient", entry.patient_id),
            "effectiveDateTime": entry.on.isoformat(),
            "issued": instant(entry.recorded_at),
            "performer": (
                [reference("Practitioner", entry.recorded_by)]
                if entry.recorded_by in signer_ids
                else None
            ),
            "valueQuantity": (
                None
                if value is None or isinstance(value, bool)
                else {"value": decimal(Decimal(str(value)))}
            ),
            "interpretation": interpretation,
            "method": None if data.get("assay") is None else {"text": str(data["assay"])},
        },
    )


def lab_observations(
    entries: list[ClinicalEntry], *, synthetic: bool, signer_ids: set[str]
) -> list[JsonObject]:
    retracted = retracted_ids(entries)
    return [
        lab_observation(e, retracted=e.id in retracted, synthetic=synthetic, signer_ids=signer_ids)
        for e in lab_entries(entries)
    ]
