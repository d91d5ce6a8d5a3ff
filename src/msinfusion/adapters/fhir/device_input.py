"""``POST /fhir/Observation``: a vital-signs Observation from a device gateway, through the
same device path as HL7 PCD-01 (``DeviceFeed.post_observation``, the public entry point of
``POST /api/observations``): the same matching of patient and chair to the session in
progress, the same clock rules, idempotency and quarantine.

The Observation (validated with the R4B model first: a body that is no valid Observation is a
400 OperationOutcome and is not recorded, like an invalid ``/api/observations`` body) becomes
the device feed's JSON document:

* ``code`` / ``component.code``: the LOINC coding of each value (else its MDC coding) with its
  ``valueQuantity`` (value and UCUM code) — the blood-pressure panel's components, a single
  vital sign's value; the feed maps codes and units exactly as for PCD-01;
* ``effectiveDateTime`` (or ``effectiveInstant``), with an offset: when it was measured;
* ``subject``: ``Patient/{id}``, or a logical reference by ``identifier`` (``system`` and
  ``value``: the hospital MRN, ...), which the feed matches exactly as an HL7 PID-3 repetition
  (an identifier without a system is a 400: whose number would it be?); the chair: the R4
  core extension ``event-location``
  (``http://hl7.org/fhir/StructureDefinition/event-location``) whose ``valueReference.display``
  (or ``identifier.value``) is the chair's name (PV1-3's bed);
* the idempotency key: ``identifier[0].value`` (``system|value`` when a system is given), else
  a SHA-256 of the body, so a retransmission is a duplicate; per sender (the signed-in user).

Answers: 201 (accepted) or 200 (duplicate) with an informational OperationOutcome naming the
session; 422 with an OperationOutcome (``processing``; ``details`` the quarantine reason code
and id) when the feed quarantined it. No ``Location`` is returned: a device may not read the
record (``read_session``), so the created Observations are not offered to it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from msinfusion.adapters.fhir.codes import LOINC, MDC
from msinfusion.adapters.fhir.outcome import FhirError

EVENT_LOCATION = "http://hl7.org/fhir/StructureDefinition/event-location"
MATCHED_BY = {"PID-3": "subject", "PV1-3": "extension"}
"""The Observation element behind the feed's matching fields (a 422 names it)."""
QUARANTINE_REASON = "urn:msinfusion:quarantine-reason"
"""The device feed's reason codes (``monitoring.reason_code_of``), with the quarantine id."""


def _parsed(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise FhirError(400, "invalid", "the body is not JSON", expression="body") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Observation":
        raise FhirError(
            400, "invalid", "the body must be an Observation resource", expression="resourceType"
        )
    try:
        Observation.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if not str(p).startswith("function"))
        raise FhirError(
            400, "invalid", f"{where or 'Observation'}: {first.get('msg')}", expression=where
        ) from None
    return data


def _item(concept: dict[str, Any], quantity: dict[str, Any] | None) -> dict[str, Any] | None:
    """The feed's observation of one coded value (LOINC first, else MDC, else the first)."""
    if quantity is None or quantity.get("value") is None:
        return None
    codings = concept.get("coding") or []
    chosen = next((c for c in codings if c.get("system") == LOINC), None) or next(
        (c for c in codings if c.get("system") == MDC), None
    )
    if chosen is None and codings:
        chosen = codings[0]
    if chosen is None:
        return None
    return {
        "system": chosen.get("system"),
        "code": chosen.get("code"),
        "value": quantity["value"],
        "unit": quantity.get("code") or quantity.get("unit"),
    }


def _chair(data: dict[str, Any]) -> str | None:
    for extension in data.get("extension") or []:
        if extension.get("url") == EVENT_LOCATION:
            ref = extension.get("valueReference") or {}
            return ref.get("display") or (ref.get("identifier") or {}).get("value")
    return None


def _identifier(subject: dict[str, Any]) -> dict[str, str] | None:
    """``subject.identifier`` as the feed's ``patient_identifiers`` entry (400 without one of
    its system and value)."""
    identifier = subject.get("identifier")
    if identifier is None:
        return None
    for name in ("system", "value"):
        if not identifier.get(name):
            raise FhirError(
                400,
                "required",
                f"subject.identifier.{name} is required to identify the patient",
                expression=f"subject.identifier.{name}",
            )
    return {"system": str(identifier["system"]), "value": str(identifier["value"])}


def _patient(data: dict[str, Any]) -> str | None:
    subject = data.get("subject")
    if subject is None:
        return None
    ref = subject.get("reference")
    if ref is None:
        if subject.get("identifier") is None:
            raise FhirError(
                400, "required", "subject needs a reference or an identifier", expression="subject"
            )
        return None
    kind, _, patient_id = str(ref).rstrip("/").rpartition("/")
    if not kind.endswith("Patient") or not patient_id:
        raise FhirError(400, "invalid", "subject must be Patient/{id}", expression="subject")
    return patient_id


def _key(data: dict[str, Any], body: bytes) -> str:
    identifiers = data.get("identifier") or []
    if identifiers and identifiers[0].get("value"):
        first = identifiers[0]
        return f"{first['system']}|{first['value']}" if first.get("system") else first["value"]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def device_document(body: bytes, sender: str) -> str:
    """The device feed's JSON document for a FHIR Observation (400 ``FhirError`` otherwise)."""
    data = _parsed(body)
    measured = data.get("effectiveDateTime") or data.get("effectiveInstant")
    if not isinstance(measured, str) or "T" not in measured:
        raise FhirError(
            400,
            "invalid",
            "effectiveDateTime must be the time it was measured, with an offset",
            expression="effectiveDateTime",
        )
    items = [_item(data.get("code") or {}, data.get("valueQuantity"))]
    items.extend(
        _item(c.get("code") or {}, c.get("valueQuantity")) for c in data.get("component") or []
    )
    observations = [i for i in items if i is not None]
    if not observations:
        raise FhirError(
            400,
            "invalid",
            "a vital sign needs a valueQuantity (or components with one)",
            expression="valueQuantity",
        )
    document: dict[str, Any] = {
        "idempotency_key": _key(data, body),
        "sender": sender,
        "observed_at": measured.replace("Z", "+00:00"),
        "observations": observations,
    }
    patient_id, chair = _patient(data), _chair(data)
    if patient_id is not None:
        document["patient_id"] = patient_id
    identifier = _identifier(data.get("subject") or {})
    if identifier is not None:
        document["patient_identifiers"] = [identifier]
    if chair is not None:
        document["chair"] = chair
    return json.dumps(document, separators=(",", ":"))
