"""AllergyIntolerance: the patient's allergy list, and every therapy a reaction made
contraindicated.

* ``AllergyIntolerance/{patient}-allergy-{i}`` (``i`` from 1, in the record's order): one per
  ``Patient.allergies`` entry: ``code.text`` the substance, ``clinicalStatus`` active,
  ``reaction`` with the manifestation as text and the severity (mild, moderate, severe;
  life-threatening is severe with ``criticality`` high), ``note`` who reported it.
* ``AllergyIntolerance/{patient}-contraindication-{therapy}``: a therapy
  ``application.reaction_history`` holds contraindicated — by a reaction whose protocol rule
  discontinued it (a life-threatening reaction to ocrelizumab) or as recorded in the patient
  record. ``category`` medication, ``criticality`` high, ``code`` the therapy's catalog codes
  (ATC, SNOMED CT); from a session: ``verificationStatus`` confirmed, ``onsetDateTime`` and
  ``recordedDate`` the reaction's two times, ``reaction`` its symptoms and severity, and
  ``note`` the reason with the AdverseEvent it came from. ``type`` is left out: an
  infusion-related reaction is not known to be immune-mediated.
"""

from __future__ import annotations

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance

from msinfusion.adapters.fhir.codes import ALLERGY_CLINICAL, ALLERGY_VERIFICATION
from msinfusion.adapters.fhir.common import JsonObject, instant, meta, reference, validated
from msinfusion.adapters.fhir.medication_request import medication_concept
from msinfusion.application.fhir_reads import Contraindication
from msinfusion.application.records import Patient
from msinfusion.catalog.model import Therapy

ACTIVE = {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]}
CONFIRMED = {"coding": [{"system": ALLERGY_VERIFICATION, "code": "confirmed"}]}
SEVERITIES = {
    "mild": "mild",
    "moderate": "moderate",
    "severe": "severe",
    "life-threatening": "severe",
}
"""The record's severity -> AllergyIntolerance.reaction.severity (mild | moderate | severe)."""


def allergy_resources(patient: Patient) -> list[JsonObject]:
    found = []
    for number, allergy in enumerate(patient.allergies, start=1):
        reaction: JsonObject = {
            "substance": {"text": allergy.substance},
            "manifestation": [{"text": allergy.reaction or "reaction not described"}],
            "severity": None if allergy.severity is None else SEVERITIES.get(allergy.severity),
        }
        found.append(
            validated(
                AllergyIntolerance,
                {
                    "resourceType": "AllergyIntolerance",
                    "id": f"{patient.id}-allergy-{number}",
                    "meta": meta(synthetic=patient.synthetic),
                    "clinicalStatus": ACTIVE,
                    "criticality": "high" if allergy.severity == "life-threatening" else None,
                    "code": {"text": allergy.substance},
                    "patient": reference("Patient", patient.id),
                    "reaction": [{k: v for k, v in reaction.items() if v is not None}],
                    "note": (
                        None
                        if allergy.source is None
                        else [{"text": f"reported by: {allergy.source}"}]
                    ),
                },
            )
        )
    return found


def contraindication_resource(
    item: Contraindication, therapy: Therapy | None, *, synthetic: bool
) -> JsonObject:
    reaction = item.reaction
    data: JsonObject = {
        "resourceType": "AllergyIntolerance",
        "id": f"{item.patient_id}-contraindication-{item.therapy_id}",
        "meta": meta(synthetic=synthetic),
        "clinicalStatus": ACTIVE,
        "category": ["medication"],
        "criticality": "high",
        "code": medication_concept(therapy, item.therapy_id),
        "patient": reference("Patient", item.patient_id),
        "note": [{"text": f"contraindicated: {item.because}"}],
    }
    if reaction is not None and item.session_id is not None:
        data["verificationStatus"] = CONFIRMED
        data["onsetDateTime"] = instant(reaction.at)
        if reaction.recorded_at is not None:
            data["recordedDate"] = instant(reaction.recorded_at)
        data["reaction"] = [
            {
                "manifestation": [{"text": s} for s in reaction.symptoms]
                or [{"text": "infusion-related reaction"}],
                "description": f"{reaction.severity} infusion-related reaction",
                "onset": instant(reaction.at),
                "severity": SEVERITIES[reaction.severity],
            }
        ]
        data["note"].append(
            {"text": f"see AdverseEvent/{item.session_id}-reaction-{item.sequence}"}
        )
    return validated(AllergyIntolerance, data)
