"""Patient, Practitioner and Location from the centre's records.

* ``Patient``: the record's identifiers with their systems, the display name, birth date and
  sex (``gender``); a synthetic (demo or test) patient carries the ``HTEST`` tag.
* ``Practitioner``: a user who signs (nurse, physician): user name as identifier, display name,
  active. Nothing secret: no password hash, no token.
* ``Location``: the centre (``Location/centre``) and each chair, ``partOf`` the centre.
"""

from __future__ import annotations

from fhir.resources.R4B.location import Location
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner

from msinfusion.adapters.fhir.common import JsonObject, meta, reference, validated
from msinfusion.adapters.fhir.record import Signer
from msinfusion.application.records import Chair, Patient, PatientIdentifier

CENTRE_LOCATION_ID = "centre"
USERNAME_SYSTEM = "urn:msinfusion:username"
"""The centre's user names (an identifier system of this server, not a standard one)."""
LOCAL_IDENTIFIER_SYSTEM = "urn:msinfusion:identifier:"
"""Prefix for a patient identifier whose system is a short code rather than a URI."""
GENDERS = frozenset({"female", "male", "other", "unknown"})
"""https://hl7.org/fhir/R4/valueset-administrative-gender.html: the record's ``sex`` values."""


def identifier_system(identifier: PatientIdentifier) -> str:
    """The identifier's system as a URI: as recorded when it is one (``urn:...``,
    ``https://...``), else ``urn:msinfusion:identifier:<code>``."""
    system = identifier.system
    return system if ":" in system else LOCAL_IDENTIFIER_SYSTEM + system


def patient_resource(patient: Patient) -> JsonObject:
    return validated(
        FhirPatient,
        {
            "resourceType": "Patient",
            "id": patient.id,
            "meta": meta(synthetic=patient.synthetic),
            "identifier": [
                {"use": "usual", "system": identifier_system(i), "value": i.value}
                for i in patient.identifiers
            ],
            "name": [{"text": patient.display_name}],
            "gender": patient.sex if patient.sex in GENDERS else None,
            "birthDate": None if patient.date_of_birth is None else patient.date_of_birth,
        },
    )


def practitioner_resource(signer: Signer) -> JsonObject:
    return validated(
        Practitioner,
        {
            "resourceType": "Practitioner",
            "id": signer.user_id,
            "identifier": [{"system": USERNAME_SYSTEM, "value": signer.username}],
            "active": signer.active,
            "name": [{"text": signer.display_name or signer.username}],
        },
    )


def centre_location(name: str) -> JsonObject:
    return validated(
        Location,
        {
            "resourceType": "Location",
            "id": CENTRE_LOCATION_ID,
            "status": "active",
            "mode": "instance",
            "name": name,
            "description": "MS infusion centre",
        },
    )


def chair_location(chair: Chair) -> JsonObject:
    return validated(
        Location,
        {
            "resourceType": "Location",
            "id": chair.id,
            "status": "active" if chair.active else "inactive",
            "mode": "instance",
            "name": chair.name,
            "description": "infusion chair"
            + (f" ({', '.join(chair.attributes)})" if chair.attributes else ""),
            "partOf": reference("Location", CENTRE_LOCATION_ID),
        },
    )
