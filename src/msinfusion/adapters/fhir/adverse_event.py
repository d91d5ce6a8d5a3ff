"""AdverseEvent: one per infusion reaction recorded in a session (``ReactionRecorded``).

``AdverseEvent/{session}-reaction-{n}`` (``n`` the event's stream number):

* ``event``: the CTCAE v5.0 term "Infusion related reaction" by its MedDRA code 10051792,
  ``text`` with the severity and the symptoms;
* ``severity``: the label severity as the R4 code (mild, moderate, severe; life-threatening is
  sent as severe: the R4 value set has no fourth class) and ``seriousness`` serious for a
  life-threatening one; the CTCAE grade, when recorded, in the CTC AE IG's ``ctcae-grade``
  extension (grades 0-5); the time it resolved in its ``adverse-event-resolved-date``;
* ``date``/``detected`` the onset, ``recordedDate`` when it was charted, ``recorder`` who;
  ``outcome`` resolved once ``ReactionResolved`` follows it, else ongoing while the
  patient is still in the chair and unknown after discharge (no resolution was charted);
* ``suspectEntity``: the infusion's MedicationAdministration (the drug running at onset);
* what was done: R4 has no element for it (R5's ``mitigatingAction`` and
  ``contributingFactor`` are not in R4), so one ``action-taken`` extension
  (``urn:msinfusion:fhir:extension:action-taken``) per action: the protocol rule applied
  (valueString), and a valueReference to the rate segment that started at the reduced rate,
  the infusion it paused or stopped, and each rescue medication given before the next reaction;
  the recorded symptoms one ``symptom`` extension each.
"""

from __future__ import annotations

from fhir.resources.R4B.adverseevent import AdverseEvent

from msinfusion.adapters.fhir.codes import (
    ADVERSE_EVENT_OUTCOME,
    ADVERSE_EVENT_SERIOUSNESS,
    ADVERSE_EVENT_SEVERITY,
    CTCAE_GRADE_EXTENSION,
    CTCAE_GRADE_SYSTEM,
    CTCAE_GRADES,
    CTCAE_VERSION,
    INFUSION_RELATED_REACTION,
    LOCAL_EXTENSION,
    RESOLVED_DATE_EXTENSION,
)
from msinfusion.adapters.fhir.common import JsonObject, decimal, instant, meta, reference, validated
from msinfusion.adapters.fhir.medication_administration import infusion_status, numbered_events
from msinfusion.adapters.fhir.record import SessionRecord
from msinfusion.session import events as ev

SEVERITIES = {
    "mild": "mild",
    "moderate": "moderate",
    "severe": "severe",
    "life-threatening": "severe",
}
"""The label severity class -> the R4 AdverseEvent severity code."""


def _extension(name: str, **value: object) -> JsonObject:
    return {"url": LOCAL_EXTENSION + name, **value}


def _segment_from(record: SessionRecord, reaction: ev.ReactionRecorded) -> str | None:
    """The rate segment that started when the reaction's rate change took effect."""
    for number, segment in enumerate(record.view.segments, start=1):
        if segment.start == reaction.at:
            return f"{record.session_id}-segment-{number}"
    return None


def _actions(
    record: SessionRecord,
    reaction: ev.ReactionRecorded,
    after: list[tuple[int, ev.Event]],
) -> list[JsonObject]:
    """What was done about the reaction: the rule's action and the entries that did it."""
    infusion = reference("MedicationAdministration", record.session_id)
    found = [_extension("action-taken", valueString=reaction.action.replace("_", " "))]
    for sequence, event in after:
        if isinstance(event, ev.RateChanged) and event.at == reaction.at:
            segment = _segment_from(record, reaction)
            text = (
                f"rate changed from {decimal(event.previous_rate_ml_per_h)} to "
                f"{decimal(event.rate_ml_per_h)} mL/h"
            )
            target = (
                reference("MedicationAdministration", segment, text)
                if segment
                else {**infusion, "display": text}
            )
            found.append(_extension("action-taken", valueReference=target))
        elif isinstance(event, ev.InfusionPaused) and event.at == reaction.at:
            found.append(
                _extension("action-taken", valueReference={**infusion, "display": "paused"})
            )
        elif isinstance(event, ev.InfusionStopped) and event.due_to_reaction:
            found.append(
                _extension("action-taken", valueReference={**infusion, "display": "stopped"})
            )
        elif isinstance(event, ev.RescueMedicationGiven):
            rescue = f"{record.session_id}-rescue-{sequence}"
            display = f"rescue medication {event.drug} {event.dose} {event.route}"
            found.append(
                _extension(
                    "action-taken",
                    valueReference=reference("MedicationAdministration", rescue, display),
                )
            )
    return found


def _recorder(record: SessionRecord, username: str) -> JsonObject | None:
    user_id = record.signers.get(username)
    return None if user_id is None else reference("Practitioner", user_id)


def adverse_event_resources(record: SessionRecord) -> list[JsonObject]:
    """Every recorded reaction of the session as an AdverseEvent."""
    numbered = list(numbered_events(record))
    started = infusion_status(record) not in (None, "not-done")
    chair = None if record.appointment is None else record.appointment.chair_id
    found = []
    for index, (sequence, event) in enumerate(numbered):
        if not isinstance(event, ev.ReactionRecorded):
            continue
        after = []
        for later in numbered[index + 1 :]:
            if isinstance(later[1], ev.ReactionRecorded):
                break
            after.append(later)
        resolved = next((e for _, e in after if isinstance(e, ev.ReactionResolved)), None)
        extensions: list[JsonObject] = []
        if event.ctcae_grade is not None:
            grade = {
                "system": CTCAE_GRADE_SYSTEM,
                "code": str(event.ctcae_grade),
                "display": CTCAE_GRADES[event.ctcae_grade],
            }
            extensions.append(
                {"url": CTCAE_GRADE_EXTENSION, "valueCodeableConcept": {"coding": [grade]}}
            )
        if resolved is not None:
            extensions.append(
                {"url": RESOLVED_DATE_EXTENSION, "valueDateTime": instant(resolved.at)}
            )
        extensions.extend(_extension("symptom", valueString=s) for s in event.symptoms)
        extensions.extend(_actions(record, event, after))
        symptoms = ", ".join(event.symptoms) or "no symptoms recorded"
        outcome = (
            "resolved"
            if resolved is not None
            else "unknown"
            if record.view.state.discharged_at is not None
            else "ongoing"
        )
        severity = SEVERITIES[event.severity]
        found.append(
            validated(
                AdverseEvent,
                {
                    "resourceType": "AdverseEvent",
                    "id": f"{record.session_id}-reaction-{sequence}",
                    "meta": meta(synthetic=record.synthetic, last_updated=event.recorded_at),
                    "extension": extensions,
                    "actuality": "actual",
                    "event": {
                        "coding": [dict(INFUSION_RELATED_REACTION)],
                        "text": (
                            f"{event.severity} infusion-related reaction (CTCAE v{CTCAE_VERSION}"
                            + (f" grade {event.ctcae_grade}" if event.ctcae_grade else "")
                            + f"): {symptoms}"
                        ),
                    },
                    "subject": reference("Patient", record.patient_id),
                    "date": instant(event.at),
                    "detected": instant(event.at),
                    "recordedDate": None
                    if event.recorded_at is None
                    else instant(event.recorded_at),
                    "location": None if chair is None else reference("Location", chair),
                    "seriousness": (
                        {"coding": [{"system": ADVERSE_EVENT_SERIOUSNESS, "code": "serious"}]}
                        if event.severity == "life-threatening"
                        else None
                    ),
                    "severity": {
                        "coding": [{"system": ADVERSE_EVENT_SEVERITY, "code": severity}],
                        "text": event.severity,
                    },
                    "outcome": {"coding": [{"system": ADVERSE_EVENT_OUTCOME, "code": outcome}]},
                    "recorder": _recorder(record, event.user),
                    "suspectEntity": (
                        [
                            {
                                "instance": reference(
                                    "MedicationAdministration", record.session_id
                                ),
                                "causality": [
                                    {"assessment": {"text": "reaction during the infusion"}}
                                ],
                            }
                        ]
                        if started
                        else None
                    ),
                },
            )
        )
    return found
