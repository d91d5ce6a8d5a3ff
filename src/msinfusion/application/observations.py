"""The JSON observation format of ``POST /api/observations``: PCD-01's content, as JSON.

One document is one set of observations from one device::

    {"idempotency_key": "mon-07-000123", "sender": "monitor-07",
     "patient_id": "patient-…", "chair": "Chair 7",
     "patient_identifiers": [{"system": "urn:hospital:mrn", "value": "MRN-0042"}],
     "observed_at": "2026-03-02T10:45:00+01:00",
     "observations": [{"system": "LOINC", "code": "8867-4", "value": 72, "unit": "/min"},
                      {"system": "MDC", "code": "150021", "value": 118, "unit": "mm[Hg]"}]}

``system`` is ``LOINC`` (or ``http://loinc.org``) with the UCUM unit of
``monitoring.vital_signs.VITAL_SIGN_CODES``, or ``MDC`` (or ``urn:iso:std:iso:11073:10101``) with
the MDC or UCUM unit of ``monitoring.device_codes`` — exactly the PCD-01 mapping. A code that
maps to nothing is skipped, as in PCD-01; a document in which nothing maps is unmappable.
``patient_identifiers`` are the patient's identifiers with their issuer (PID-3's repetitions):
each becomes a ``PatientKey`` and is matched exactly as HL7's (``DeviceFeed``: a system and value
of one of the patient's identifiers, the hospital MRN included). The
web adapter sets ``sender`` to the signed-in user, so the idempotency key is per sender. The
stored raw text is this document, which is what a replay decodes again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from msinfusion.application.monitoring_ports import DeviceReading, PatientKey
from msinfusion.errors import MalformedMessage, UnmappableMessage
from msinfusion.monitoring.device_codes import (
    FIELD_UNITS,
    LOINC_TO_FIELD,
    MDC_TO_FIELD,
    canonical_unit,
    to_stored_unit,
)
from msinfusion.monitoring.vital_signs import VitalSigns

TRANSPORT = "rest"
LOINC_SYSTEMS = ("LOINC", "http://loinc.org")
MDC_SYSTEMS = ("MDC", "urn:iso:std:iso:11073:10101")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Value:
    field: str
    value: Decimal
    unit: str
    expected: tuple[str, ...]
    label: str


def _text(
    document: dict[str, Any], name: str, *, required: bool = True, where: str = ""
) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MalformedMessage(f"{where or name} must be non-empty text", field=where or name)
    return value


def _mapped(item: object, index: int) -> _Value | None:
    where = f"observations[{index}]"
    if not isinstance(item, dict):
        raise MalformedMessage(f"{where} must be an object", field=where)
    system, code, unit = item.get("system"), str(item.get("code", "")), item.get("unit")
    try:
        value = Decimal(str(item.get("value")))
    except InvalidOperation:
        raise MalformedMessage(f"{where}.value is not a number", field=f"{where}.value") from None
    if not value.is_finite() or not isinstance(unit, str):
        raise MalformedMessage(f"{where} needs a finite value and a unit", field=where)
    field: str | None = None
    if system in LOINC_SYSTEMS:
        field = LOINC_TO_FIELD.get(code)
    elif system in MDC_SYSTEMS and code.isdigit() and int(code) in MDC_TO_FIELD:
        field = MDC_TO_FIELD[int(code)][0]
    if field is not None:
        expected = FIELD_UNITS[field]
        return _Value(field=field, value=value, unit=unit, expected=expected, label=code)
    if system not in (*LOINC_SYSTEMS, *MDC_SYSTEMS):
        raise MalformedMessage(f"{where}.system must be LOINC or MDC", field=f"{where}.system")
    return None  # a code we do not map: skipped, as in PCD-01


def _vitals(document: dict[str, Any], observed_at: datetime) -> VitalSigns:
    items = document.get("observations")
    if not isinstance(items, list) or not items:
        raise MalformedMessage("observations must be a non-empty list", field="observations")
    values: dict[str, Decimal] = {}
    for index, item in enumerate(items):
        found = _mapped(item, index)
        if found is None:
            continue
        unit = canonical_unit(found.unit)
        if unit is None or unit not in found.expected:
            raise UnmappableMessage(
                f"{found.label} has unit '{found.unit}', expected {' or '.join(found.expected)}",
                field=f"observations[{index}].unit",
            )
        values[found.field] = to_stored_unit(found.field, found.value, unit)
    if not values:
        raise UnmappableMessage("no observation maps to a vital sign", field="observations")
    # Every mapped field is a Decimal field of VitalSigns; implausible values raise
    # InvalidVitalSigns naming the field.
    return VitalSigns(measured_at=observed_at, source="device", **values)  # type: ignore[arg-type]


MAX_IDENTIFIERS = 8


def _patient_keys(document: dict[str, Any], patient_id: str | None) -> tuple[PatientKey, ...]:
    """msinfusion's own id (no system) and every ``patient_identifiers`` entry (its system)."""
    given = document.get("patient_identifiers")
    if given is None:
        given = []
    if not isinstance(given, list) or len(given) > MAX_IDENTIFIERS:
        raise MalformedMessage(
            f"patient_identifiers must be a list of at most {MAX_IDENTIFIERS} identifiers",
            field="patient_identifiers",
        )
    keys = [] if patient_id is None else [PatientKey(value=patient_id)]
    for index, item in enumerate(given):
        where = f"patient_identifiers[{index}]"
        if not isinstance(item, dict):
            raise MalformedMessage(f"{where} must be an object", field=where)
        system = _text(item, "system", where=f"{where}.system")
        value = _text(item, "value", where=f"{where}.value")
        keys.append(PatientKey(value=str(value), systems=(str(system),)))
    return tuple(dict.fromkeys(keys))


def decode_observation(text: str) -> DeviceReading:
    """The reading of one JSON document; ``MalformedMessage`` / ``UnmappableMessage`` /
    ``InvalidVitalSigns`` name the field otherwise."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedMessage("the body is not JSON", field="body") from None
    if not isinstance(document, dict):
        raise MalformedMessage("the body must be a JSON object", field="body")
    key = _text(document, "idempotency_key")
    sender = _text(document, "sender")
    patient_id = _text(document, "patient_id", required=False)
    chair = _text(document, "chair", required=False)
    keys = _patient_keys(document, patient_id)
    if not keys and chair is None:
        raise MalformedMessage(
            "give patient_id, patient_identifiers, chair or several", field="patient_id"
        )
    try:
        observed_at = datetime.fromisoformat(str(document.get("observed_at")))
    except ValueError:
        observed_at = None
    if observed_at is None or observed_at.tzinfo is None:
        raise MalformedMessage("observed_at must be ISO 8601 with offset", field="observed_at")
    return DeviceReading(
        message_key=f"{TRANSPORT}:{sender}:{key}",
        sender=str(sender),
        patient_ids=tuple(dict.fromkeys(k.value for k in keys)),
        identifiers=keys,
        chair_name=chair,
        vitals=_vitals(document, observed_at),
    )


class JsonObservationCodec:
    """``DeviceCodec`` for the JSON format; the answer is the JSON body the route returns."""

    transport = TRANSPORT

    def decode(self, text: str) -> tuple[DeviceReading, ...]:
        return (decode_observation(text),)

    def answer(
        self, text: str, *, now: datetime, error: Exception | None, session_id: str | None
    ) -> str:
        body: dict[str, Any] = {
            "outcome": "accepted" if error is None else "quarantined",
            "session_id": session_id,
            "received_at": now.isoformat(),
        }
        if error is not None:
            body["reason"] = getattr(error, "message", "internal error")
        return json.dumps(body, separators=(",", ":"))
