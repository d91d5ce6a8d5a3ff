"""Provenance: who recorded what, when, and on whose behalf — from the record's own trail.

The session's event stream is the clinical audit trail of the chair: every entry keeps who
made it (``user``), when it happened (``at``) and when it was recorded (``recorded_at``, the
clock port's). Each entry that produced served resources gives one
``Provenance/{session}-provenance-{n}`` (``n`` the entry's stream number):

* ``target``: what it produced: the Observations of a vital-sign set, the MedicationAdministration
  of a premedication or rescue medication, the AdverseEvent of a reaction, or the infusion's
  MedicationAdministration for a start, rate change, pause, resume, completion, stop or
  discharge; a correction (``EntryCorrected``) targets what the corrected entry produced;
* ``occurredDateTime``: when it happened; ``recorded``: when it was charted — both times of a
  late entry, with its late reason as ``reason.text``;
* ``activity``: v3-DataOperation CREATE, or UPDATE for a correction (its reason as
  ``reason.text``);
* ``agent``: the user who entered it (``enterer``: a Practitioner, or the bedside monitor by
  identifier for a device feed); when a physician's verbal order is behind it, the physician as
  ``author`` and as the enterer's ``onBehalfOf``; ``location`` the chair.

A clinical entry (lab result) gives ``Provenance/{entry}-provenance`` with its
``recorded_at`` and ``recorded_by``. The centre's access log (who *read* what, admin-only) is
not served: FHIR's resource for it is AuditEvent, not Provenance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from fhir.resources.R4B.provenance import Provenance

from msinfusion.adapters.fhir.codes import DATA_OPERATION, PROVENANCE_PARTICIPANT
from msinfusion.adapters.fhir.common import JsonObject, instant, meta, reference, validated
from msinfusion.adapters.fhir.medication_administration import infusion_status, numbered_events
from msinfusion.adapters.fhir.observation import DEVICE_SYSTEM, observation_ids
from msinfusion.adapters.fhir.record import SessionRecord
from msinfusion.application.records import ClinicalEntry
from msinfusion.session import events as ev

INFUSION_EVENTS = (
    ev.InfusionStarted,
    ev.RateChanged,
    ev.InfusionPaused,
    ev.InfusionResumed,
    ev.InfusionCompleted,
    ev.InfusionStopped,
    ev.PatientDischarged,
)


def _role(code: str) -> JsonObject:
    return {"coding": [{"system": PROVENANCE_PARTICIPANT, "code": code}]}


def _activity(code: str) -> JsonObject:
    return {"coding": [{"system": DATA_OPERATION, "code": code}]}


def _who(record: SessionRecord, username: str) -> JsonObject:
    if username.startswith("device:"):
        sender = username.removeprefix("device:")
        return {"identifier": {"system": DEVICE_SYSTEM, "value": sender}, "display": sender}
    user_id = record.signers.get(username)
    if user_id is None:
        return {"display": username}
    return reference("Practitioner", user_id)


def session_targets(record: SessionRecord) -> dict[int, list[str]]:
    """Stream number -> the references of the resources that entry produced."""
    targets: dict[int, list[str]] = defaultdict(list)
    for observation_id in observation_ids(record):
        sequence = int(observation_id.rsplit("-", 1)[1])
        targets[sequence].append(f"Observation/{observation_id}")
    has_infusion = infusion_status(record) is not None
    sid = record.session_id
    for sequence, event in numbered_events(record):
        if isinstance(event, ev.PremedicationGiven):
            targets[sequence].append(f"MedicationAdministration/{sid}-premedication-{sequence}")
        elif isinstance(event, ev.RescueMedicationGiven):
            targets[sequence].append(f"MedicationAdministration/{sid}-rescue-{sequence}")
        elif isinstance(event, ev.ReactionRecorded):
            targets[sequence].append(f"AdverseEvent/{sid}-reaction-{sequence}")
        elif isinstance(event, INFUSION_EVENTS) and has_infusion:
            target = f"MedicationAdministration/{sid}"
            if target not in targets[sequence]:
                targets[sequence].append(target)
    return targets


def _provenance(
    record: SessionRecord,
    *,
    sequence: int,
    event: ev.Event,
    targets: list[str],
    reason: str | None,
    activity: str,
) -> JsonObject:
    enterer: JsonObject = {"type": _role("enterer"), "who": _who(record, event.user)}
    agents = [enterer]
    verbal = getattr(event, "verbal_order_by", None)
    if verbal:
        physician = _who(record, verbal)
        enterer["onBehalfOf"] = physician
        agents.append({"type": _role("author"), "who": physician})
    recorded: datetime = event.recorded_at or event.at
    chair = None if record.appointment is None else record.appointment.chair_id
    return validated(
        Provenance,
        {
            "resourceType": "Provenance",
            "id": f"{record.session_id}-provenance-{sequence}",
            "meta": meta(synthetic=record.synthetic),
            "target": [{"reference": t} for t in targets],
            "occurredDateTime": instant(event.at),
            "recorded": instant(recorded),
            "activity": _activity(activity),
            "reason": None if reason is None else [{"text": reason}],
            "location": None if chair is None else reference("Location", chair),
            "agent": agents,
        },
    )


def session_provenances(record: SessionRecord) -> list[JsonObject]:
    """One Provenance per entry of the session that produced served resources."""
    targets = session_targets(record)
    late = {
        entry.sequence: getattr(entry.command, "late_reason", None)
        for entry in record.stream.chart.entries
    }
    found = []
    for sequence, event in zip(
        range(1, len(record.stream.stored_events) + 1), record.stream.stored_events, strict=True
    ):
        if isinstance(event, ev.EntryCorrected):
            corrected = targets.get(event.corrects_sequence, [])
            if corrected:
                found.append(
                    _provenance(
                        record,
                        sequence=sequence,
                        event=event,
                        targets=corrected,
                        reason=f"correction: {event.reason}",
                        activity="UPDATE",
                    )
                )
            continue
        own = targets.get(sequence)
        if not own:
            continue
        reason = late.get(sequence)
        found.append(
            _provenance(
                record,
                sequence=sequence,
                event=event,
                targets=own,
                reason=None if reason is None else f"late entry: {reason}",
                activity="CREATE",
            )
        )
    return found


def entry_provenance(
    entry: ClinicalEntry, target: str, *, synthetic: bool, signer_ids: set[str]
) -> JsonObject:
    """The Provenance of one clinical entry (``target`` the resource it produced)."""
    who = (
        reference("Practitioner", entry.recorded_by)
        if entry.recorded_by in signer_ids
        else {"display": entry.recorded_by}
    )
    return validated(
        Provenance,
        {
            "resourceType": "Provenance",
            "id": f"{entry.id}-provenance",
            "meta": meta(synthetic=synthetic),
            "target": [{"reference": target}],
            "occurredDateTime": entry.on.isoformat(),
            "recorded": instant(entry.recorded_at),
            "activity": _activity("CREATE"),
            "agent": [{"type": _role("enterer"), "who": who}],
        },
    )
