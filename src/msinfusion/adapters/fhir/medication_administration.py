"""MedicationAdministration: what ran in one infusion session, folded from its events.

* ``MedicationAdministration/{session}``: the infusion. ``status`` in-progress (infusing),
  on-hold (paused), completed, stopped, or not-done (discharged without a start; a session not
  started yet has no administration). ``effectivePeriod`` from the start to the end of the
  infusion (open while it runs). ``dosage.dose`` the mg delivered (so far, while it runs),
  ``dosage.text`` volume and dose delivered of the bag's; ``dosage.rateQuantity`` the current
  rate while it runs. ``request`` the order of the session's appointment.
* The rate history: one ``MedicationAdministration/{session}-segment-{n}`` per interval of
  constant rate (``session.segments``), ``partOf`` the infusion, with its own
  ``effectivePeriod``, ``dosage.rateQuantity`` (mL/h) and ``dosage.dose`` (the mL it ran; none
  for the interval still running). Chosen over an extension on the infusion: core elements only,
  each step searchable by date, and the volumes add up to the infusion's.
* Premedications (``{session}-premedication-{n}``) and rescue medications
  (``{session}-rescue-{n}``) are their own administrations, ``partOf`` the infusion when it was
  started and listed in its ``supportingInformation``; ``n`` is the event's stream number.

Late entries keep both times: ``effectiveDateTime`` when it was given, ``meta.lastUpdated``
when it was charted (a Provenance per entry is not built yet).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction

from fhir.resources.R4B.medicationadministration import MedicationAdministration

from msinfusion.adapters.fhir.codes import INTRAVENOUS
from msinfusion.adapters.fhir.common import (
    JsonObject,
    decimal,
    instant,
    meta,
    quantity,
    reference,
    validated,
)
from msinfusion.adapters.fhir.medication_request import medication_concept
from msinfusion.adapters.fhir.record import SessionRecord
from msinfusion.catalog.model import Therapy
from msinfusion.session import events as ev
from msinfusion.session.state import Status

ADMIN_CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-admin-category"
"""https://hl7.org/fhir/R4/codesystem-medication-admin-category.html: outpatient."""
MICROSECOND = timedelta(microseconds=1)
OUTPATIENT = {"coding": [{"system": ADMIN_CATEGORY, "code": "outpatient"}]}


def numbered_events(record: SessionRecord) -> Iterator[tuple[int, ev.Event]]:
    """The session's events in clinical order with their stream numbers."""
    yield from zip(record.stream.chart.sequences(), record.stream.events, strict=True)


def infusion_status(record: SessionRecord) -> str | None:
    """The infusion's status, or None when there is no administration yet."""
    state = record.view.state
    if state.infusion_started_at is None:
        return "not-done" if state.status is Status.DISCHARGED else None
    if state.status is Status.INFUSING:
        return "in-progress"
    if state.status is Status.PAUSED:
        return "on-hold"
    return "completed" if state.outcome == "completed" else "stopped"


def _performer(record: SessionRecord, username: str) -> list[JsonObject] | None:
    user_id = record.signers.get(username)
    return None if user_id is None else [{"actor": reference("Practitioner", user_id)}]


def _last_recorded(record: SessionRecord) -> datetime | None:
    times = [e.recorded_at for e in record.stream.stored_events if e.recorded_at is not None]
    return max(times) if times else None


def _status_reason(record: SessionRecord, status: str) -> list[JsonObject] | None:
    reason: str | None = None
    for _, event in numbered_events(record):
        if status == "on-hold" and isinstance(event, ev.InfusionPaused):
            reason = event.reason or "paused"
        if status == "stopped" and isinstance(event, ev.InfusionStopped):
            reason = event.reason + (" (infusion reaction)" if event.due_to_reaction else "")
    return None if reason is None else [{"text": reason}]


def medication_ids(record: SessionRecord) -> list[str]:
    """The ids of the session's premedication and rescue administrations."""
    found = []
    for sequence, event in numbered_events(record):
        if isinstance(event, ev.PremedicationGiven):
            found.append(f"{record.session_id}-premedication-{sequence}")
        elif isinstance(event, ev.RescueMedicationGiven):
            found.append(f"{record.session_id}-rescue-{sequence}")
    return found


def infusion_resource(record: SessionRecord, therapy: Therapy | None) -> JsonObject | None:
    status = infusion_status(record)
    if status is None:
        return None
    state = record.view.state
    started = state.infusion_started_at
    if started is None:
        ended = state.discharged_at or state.last_at
        if ended is None:  # pragma: no cover - a discharged session has events
            return None
        effective: JsonObject = {"effectiveDateTime": instant(ended)}
    else:
        period = {"start": instant(started)}
        if state.infusion_ended_at is not None:
            period["end"] = instant(state.infusion_ended_at)
        effective = {"effectivePeriod": period}
    running = status == "in-progress"
    dosage: JsonObject = {
        "text": (
            f"{decimal(state.volume_ml)} mL of {decimal(state.bag_volume_ml)} mL "
            f"({decimal(state.dose_delivered_mg)} mg of {decimal(state.dose_mg)} mg) delivered"
            + (" so far" if running or status == "on-hold" else "")
        ),
        "route": INTRAVENOUS,
        "dose": quantity(state.dose_delivered_mg, "mg"),
    }
    if running:
        dosage["rateQuantity"] = quantity(state.rate_ml_per_h, "mL/h")
    starter = next(
        (e.user for _, e in numbered_events(record) if isinstance(e, ev.InfusionStarted)), None
    )
    order_id = None if record.appointment is None else record.appointment.order_id
    notes = [
        f"protocol {state.protocol_id} v{state.protocol_version}, dose number {state.dose_number}"
    ]
    started_event = next(
        (e for _, e in numbered_events(record) if isinstance(e, ev.InfusionStarted)), None
    )
    if started_event is not None and started_event.override_reason:
        notes.append(
            f"started with an override ({started_event.override_reason}): "
            + "; ".join(started_event.deviations)
        )
    return validated(
        MedicationAdministration,
        {
            "resourceType": "MedicationAdministration",
            "id": record.session_id,
            "meta": meta(synthetic=record.synthetic, last_updated=_last_recorded(record)),
            "status": status,
            "statusReason": _status_reason(record, status),
            "category": OUTPATIENT,
            "medicationCodeableConcept": medication_concept(therapy, state.protocol_id),
            "subject": reference("Patient", state.patient_id),
            **effective,
            "performer": None if starter is None else _performer(record, starter),
            "request": None if order_id is None else reference("MedicationRequest", order_id),
            "supportingInformation": [
                reference("MedicationAdministration", i) for i in medication_ids(record)
            ],
            "note": [{"text": text} for text in notes],
            "dosage": dosage,
        },
    )


def segment_resources(record: SessionRecord, therapy: Therapy | None) -> list[JsonObject]:
    """The rate history: one administration per interval of constant rate."""
    state = record.view.state
    if state.infusion_started_at is None:
        return []
    segments = record.view.segments
    found = []
    for number, segment in enumerate(segments, start=1):
        still_running = state.status is Status.INFUSING and number == len(segments)
        period = {"start": instant(segment.start)}
        dosage: JsonObject = {
            "route": INTRAVENOUS,
            "rateQuantity": quantity(segment.rate_ml_per_h, "mL/h"),
        }
        if still_running:
            dosage["text"] = f"{decimal(segment.rate_ml_per_h)} mL/h, running"
        else:
            period["end"] = instant(segment.end)
            dosage["dose"] = quantity(segment.volume_ml, "mL")
            dosage["text"] = (
                f"{decimal(segment.rate_ml_per_h)} mL/h for "
                f"{decimal(Fraction(segment.duration // MICROSECOND, 60_000_000))} min: "
                f"{decimal(segment.volume_ml)} mL"
            )
        found.append(
            validated(
                MedicationAdministration,
                {
                    "resourceType": "MedicationAdministration",
                    "id": f"{record.session_id}-segment-{number}",
                    "meta": meta(synthetic=record.synthetic),
                    "partOf": [reference("MedicationAdministration", record.session_id)],
                    "status": "in-progress" if still_running else "completed",
                    "category": OUTPATIENT,
                    "medicationCodeableConcept": medication_concept(therapy, state.protocol_id),
                    "subject": reference("Patient", state.patient_id),
                    "effectivePeriod": period,
                    "dosage": dosage,
                },
            )
        )
    return found


def medication_resources(record: SessionRecord) -> list[JsonObject]:
    """Premedications and rescue medications as their own administrations."""
    state = record.view.state
    part_of = (
        None
        if infusion_status(record) in (None, "not-done")
        else [reference("MedicationAdministration", record.session_id)]
    )
    found = []
    for sequence, event in numbered_events(record):
        if isinstance(event, ev.PremedicationGiven):
            kind = "premedication"
            note = (
                f"premedication, counts as the protocol's {event.satisfies}"
                if event.satisfies
                else "premedication, not one of the protocol's"
            )
        elif isinstance(event, ev.RescueMedicationGiven):
            kind, note = "rescue", "rescue medication for an infusion reaction"
        else:
            continue
        found.append(
            validated(
                MedicationAdministration,
                {
                    "resourceType": "MedicationAdministration",
                    "id": f"{record.session_id}-{kind}-{sequence}",
                    "meta": meta(synthetic=record.synthetic, last_updated=event.recorded_at),
                    "partOf": part_of,
                    "status": "completed",
                    "category": OUTPATIENT,
                    "medicationCodeableConcept": {"text": event.drug},
                    "subject": reference("Patient", state.patient_id),
                    "effectiveDateTime": instant(event.at),
                    "performer": _performer(record, event.user),
                    "note": [{"text": note}],
                    "dosage": {"text": event.dose, "route": {"text": event.route}},
                },
            )
        )
    return found


def administration_resources(record: SessionRecord, therapy: Therapy | None) -> list[JsonObject]:
    """Every MedicationAdministration of the session: the infusion, its rate segments, its
    premedications and rescue medications."""
    infusion = infusion_resource(record, therapy)
    return [
        *([] if infusion is None else [infusion]),
        *segment_resources(record, therapy),
        *medication_resources(record),
    ]
