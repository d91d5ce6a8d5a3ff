"""MedicationRequest: a physician's therapy order, its protocols as ``dosageInstruction``.

One MedicationRequest per stored order (``intent`` order; ``status`` active, or stopped once the
order was deactivated). The protocols come from the order's dose calendar (which protocol each
dose number runs under), in the order the course first uses them. Each protocol is a run of
``Dosage`` entries, one per rate step of its ladder, numbered by ``sequence`` across the order:

* ``doseAndRate.rateQuantity``: the step's rate in ``mL/h``; the first step of a protocol also
  carries ``doseQuantity``, the dose of one infusion (``mg``, or ``mg/m2`` for a dose by body
  surface area);
* ``timing.repeat.boundsDuration``: how long the step runs (the last step has none: it runs until
  the bag is empty);
* ``route``: intravenous; ``text``: the protocol, its version, the doses it serves and the step
  in words; ``maxDosePerAdministration`` the dose of one infusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fhir.resources.R4B.medicationrequest import MedicationRequest

from msinfusion.adapters.fhir.codes import ATC, INTRAVENOUS, MEDICATION_REQUEST_CATEGORY, SNOMED
from msinfusion.adapters.fhir.common import (
    JsonObject,
    decimal,
    meta,
    quantity,
    reference,
    validated,
)
from msinfusion.application.records import Patient, TherapyOrder
from msinfusion.catalog.model import Protocol, Therapy
from msinfusion.planning.courses import CourseCalendar

CODE_SYSTEMS = {"ATC": ATC, "SNOMED-CT": SNOMED}
"""The catalog's therapy codes that have a FHIR system URI (ATC-previous, UNII, BLA stay out)."""


def medication_concept(therapy: Therapy | None, text: str) -> JsonObject:
    """The drug: the therapy's ATC and SNOMED CT codes (from its cited catalog file), INN text."""
    if therapy is None:
        return {"text": text}
    coding = [
        {"system": CODE_SYSTEMS[c.system], "code": c.value}
        for c in therapy.codes
        if c.system in CODE_SYSTEMS and c.verified
    ]
    return {"coding": coding or None, "text": therapy.inn}


def protocol_doses(
    calendar: CourseCalendar | None, therapy: Therapy
) -> list[tuple[str, list[int]]]:
    """(protocol id, dose numbers) in the order the course first uses each protocol; without a
    calendar, the therapy's protocols with no dose numbers."""
    if calendar is None:
        return [(p.id, []) for p in therapy.protocols]
    found: dict[str, list[int]] = {}
    for dose in calendar.doses:
        found.setdefault(dose.protocol_id, []).append(dose.dose_number)
    return list(found.items())


def _doses_text(numbers: Sequence[int]) -> str:
    if not numbers:
        return "doses as the course plans"
    if len(numbers) == 1:
        return f"dose {numbers[0]}"
    contiguous = list(numbers) == list(range(numbers[0], numbers[-1] + 1))
    if contiguous:
        return f"doses {numbers[0]} to {numbers[-1]}"
    return "doses " + ", ".join(str(n) for n in numbers)


def _dose_quantity(protocol: Protocol) -> JsonObject | None:
    if protocol.dose.mg is not None:
        return quantity(protocol.dose.mg.value, "mg")
    if protocol.dose.mg_per_m2 is not None:
        return quantity(protocol.dose.mg_per_m2.value, "mg/m2")
    return None  # pragma: no cover - the catalog requires one of the two


def protocol_dosages(
    protocol: Protocol, doses: Sequence[int], first_sequence: int
) -> list[JsonObject]:
    """One ``Dosage`` per rate step of ``protocol`` (see the module docstring)."""
    steps = protocol.ladder.steps
    dose = _dose_quantity(protocol)
    dosages: list[JsonObject] = []
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        rate = quantity(step.rate_ml_per_h, "mL/h")
        dose_and_rate: JsonObject = {"rateQuantity": rate}
        if index == 0 and dose is not None:
            dose_and_rate["doseQuantity"] = dose
        until = (
            "until the bag is empty"
            if following is None
            else f"to minute {decimal(following.start_min)}"
        )
        dosage: JsonObject = {
            "sequence": first_sequence + index,
            "text": (
                f"{protocol.id} v{protocol.version} ({_doses_text(doses)}), step {index + 1} "
                f"of {len(steps)}: {decimal(step.rate_ml_per_h)} mL/h from minute "
                f"{decimal(step.start_min)} {until}"
            ),
            "route": INTRAVENOUS,
            "doseAndRate": [dose_and_rate],
            "maxDosePerAdministration": dose,
        }
        if following is not None:
            minutes = Decimal(following.start_min) - Decimal(step.start_min)
            dosage["timing"] = {"repeat": {"boundsDuration": quantity(minutes, "min")}}
        dosages.append(dosage)
    return dosages


def medication_request_resource(
    order: TherapyOrder,
    patient: Patient | None,
    therapy: Therapy | None,
    protocols: Sequence[tuple[Protocol, Sequence[int]]],
) -> JsonObject:
    dosages: list[JsonObject] = []
    for protocol, doses in protocols:
        dosages.extend(protocol_dosages(protocol, doses, len(dosages) + 1))
    notes = [f"course start {order.start_date.isoformat()}"]
    if order.note:
        notes.append(order.note)
    if order.options:
        notes.append("course options: " + ", ".join(f"{k}={v}" for k, v in order.options))
    return validated(
        MedicationRequest,
        {
            "resourceType": "MedicationRequest",
            "id": order.id,
            "meta": meta(synthetic=patient is not None and patient.synthetic),
            "status": "active" if order.active else "stopped",
            "intent": "order",
            "category": [
                {"coding": [{"system": MEDICATION_REQUEST_CATEGORY, "code": "outpatient"}]}
            ],
            "medicationCodeableConcept": medication_concept(therapy, order.therapy_id),
            "subject": reference("Patient", order.patient_id),
            "requester": reference("Practitioner", order.prescriber_id),
            "note": [{"text": text} for text in notes],
            "dosageInstruction": dosages,
        },
    )
