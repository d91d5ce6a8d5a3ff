"""The resource types beyond the first six: AllergyIntolerance, AdverseEvent, CarePlan,
Schedule, Slot, Appointment and Provenance, plus the lab results served as Observations.

Each fetches its candidates through ``Record`` (the application's audited reads), narrowed by
``_id`` or ``patient`` when given; the search parameters then filter the built resources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo

from msinfusion.adapters.fhir import search as s
from msinfusion.adapters.fhir.adverse_event import adverse_event_resources
from msinfusion.adapters.fhir.allergy_intolerance import (
    allergy_resources,
    contraindication_resource,
)
from msinfusion.adapters.fhir.care_plan import care_plan_resource
from msinfusion.adapters.fhir.common import JsonObject
from msinfusion.adapters.fhir.lab import lab_entries, lab_observations
from msinfusion.adapters.fhir.medication_administration import infusion_status
from msinfusion.adapters.fhir.provenance import entry_provenance, session_provenances
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resource_kind import (
    ResourceType,
    found,
    id_param,
    patient_hint,
    patient_params,
    session_of,
    sessions_for,
    status_param,
)
from msinfusion.adapters.fhir.scheduling import (
    appointment_resource,
    schedule_resource,
    slot_resource,
)
from msinfusion.application.permissions import Action
from msinfusion.application.records import Patient

BASE = "http://hl7.org/fhir/StructureDefinition/"


def _patients_for(
    record: Record, query: s.Query, ids: Iterable[str] | None = None
) -> list[Patient]:
    """The patients a query names (``patient``/``subject``), else every patient."""
    hint = patient_hint(query)
    wanted = query.required_values("patient") if hint is None else {hint}
    if wanted is None and ids is not None:
        wanted = set(ids)
    if wanted is None:
        return record.patients()
    return list(found(record.patient, sorted(wanted)))


def _synthetic(record: Record) -> dict[str, bool]:
    return {p.id: p.synthetic for p in record.patients()}


# -- lab results (Observation) ------------------------------------------------------------------


def lab_resources(record: Record, query: s.Query, session_kinds: Iterable[str]) -> list[JsonObject]:
    """Lab results as Observations; an ``_id`` search that names only session-derived ids
    reads no clinical record."""
    ids = query.values_of("_id")
    kinds = tuple(session_kinds)
    if ids is not None and all(session_of(i, kinds) != i for i in ids):
        return []
    signer_ids = {u.user_id for u in record.signers()}
    result = []
    for patient in _patients_for(record, query):
        entries = record.clinical_entries(patient.id)
        result.extend(lab_observations(entries, synthetic=patient.synthetic, signer_ids=signer_ids))
    return result


# -- AllergyIntolerance -------------------------------------------------------------------------


def _fetch_allergies(record: Record, query: s.Query) -> list[JsonObject]:
    ids = query.values_of("_id")
    owners = (
        None
        if ids is None
        else {i.split("-allergy-")[0].split("-contraindication-")[0] for i in ids}
    )
    result: list[JsonObject] = []
    for patient in _patients_for(record, query, owners):
        result.extend(allergy_resources(patient))
        for item in record.contraindications(patient.id):
            therapy = record.therapy_or_none(item.therapy_id)
            result.append(contraindication_resource(item, therapy, synthetic=patient.synthetic))
    return result


# -- AdverseEvent, Provenance -------------------------------------------------------------------


def _fetch_adverse_events(record: Record, query: s.Query) -> list[JsonObject]:
    return [
        a
        for session in sessions_for(record, query, ("reaction",))
        for a in adverse_event_resources(session)
    ]


def _fetch_provenance(record: Record, query: s.Query) -> list[JsonObject]:
    ids = query.values_of("_id")
    wanted = query.required_values("patient")
    result: list[JsonObject] = []
    if wanted is not None:
        sessions = [x for p in sorted(wanted) for x in record.sessions(patient_id=p)]
    else:
        sessions = sessions_for(record, query, ("provenance",))
    for session in sessions:
        result.extend(session_provenances(session))
    if ids is not None and all(session_of(i, ("provenance",)) != i for i in ids):
        return result
    signer_ids = {u.user_id for u in record.signers()}
    patients = record.patients() if wanted is None else list(found(record.patient, sorted(wanted)))
    for patient in patients:
        for entry in lab_entries(record.clinical_entries(patient.id)):
            result.append(
                entry_provenance(
                    entry,
                    f"Observation/{entry.id}",
                    synthetic=patient.synthetic,
                    signer_ids=signer_ids,
                )
            )
    return result


def _instant_of(field: str, zone: tzinfo) -> Callable[[JsonObject], list[s.Interval]]:
    """A date parameter reading one ``dateTime`` element."""

    def read(resource: JsonObject) -> list[s.Interval]:
        value = resource.get(field)
        return [] if value is None else s.point_or_period({"atDateTime": value}, "at", zone)

    return read


def _targets(resource: JsonObject) -> list[str]:
    return [t["reference"] for t in resource.get("target", []) if "reference" in t]


# -- Schedule, Slot, Appointment, CarePlan ------------------------------------------------------


def _fetch_schedules(record: Record, query: s.Query) -> list[JsonObject]:
    return [schedule_resource(c) for c in record.chairs()]


def _started_sessions(record: Record, patient_id: str | None) -> set[str]:
    return {
        x.session_id
        for x in record.sessions(patient_id=patient_id)
        if infusion_status(x) not in (None, "not-done")
    }


def _fetch_slots(record: Record, query: s.Query) -> list[JsonObject]:
    synthetic = _synthetic(record)
    return [
        slot_resource(a, synthetic=synthetic.get(a.patient_id, False))
        for a in record.appointments()
    ]


def _fetch_appointments(record: Record, query: s.Query) -> list[JsonObject]:
    patient_id = patient_hint(query)
    started = _started_sessions(record, patient_id)
    synthetic = _synthetic(record)
    return [
        appointment_resource(
            a,
            synthetic=synthetic.get(a.patient_id, False),
            session_started=a.session_id in started,
        )
        for a in record.appointments(patient_id=patient_id)
    ]


def _fetch_care_plans(record: Record, query: s.Query) -> list[JsonObject]:
    ids = query.values_of("_id")
    orders = (
        list(found(record.order, sorted(ids)))
        if ids is not None
        else record.orders(patient_id=patient_hint(query))
    )
    synthetic = _synthetic(record)
    return [
        care_plan_resource(
            record.course(o),
            record.therapy_or_none(o.therapy_id),
            synthetic=synthetic.get(o.patient_id, False),
        )
        for o in orders
    ]


def _participants(kind: str | None) -> s.SearchParam:
    def read(resource: JsonObject) -> list[str]:
        return [
            p["actor"]["reference"]
            for p in resource.get("participant", [])
            if "reference" in p.get("actor", {})
            and (kind is None or p["actor"]["reference"].startswith(kind + "/"))
        ]

    if kind is None:
        return s.SearchParam(
            name="actor", type="reference", documentation="Any participant.", values=read
        )
    return s.SearchParam(
        name="patient", type="reference", documentation="The patient.", values=read
    )


def clinical_types(zone: tzinfo) -> tuple[ResourceType, ...]:
    return (
        ResourceType(
            name="AllergyIntolerance",
            profile=BASE + "AllergyIntolerance",
            fetch=_fetch_allergies,
            documentation=(
                "The patient's allergy list, and each therapy a reaction (or the record) made "
                "contraindicated."
            ),
            actions=(Action.READ_PATIENT, Action.READ_SESSION),
            patient_param="patient",
            params=(
                id_param(),
                s.SearchParam(
                    name="patient",
                    type="reference",
                    documentation="The patient.",
                    values=s.reference_to("patient"),
                ),
                s.SearchParam(
                    name="category",
                    type="token",
                    documentation="medication (a contraindicated therapy).",
                    values=lambda r: [(None, c) for c in r.get("category", [])],
                ),
            ),
        ),
        ResourceType(
            name="AdverseEvent",
            profile=BASE + "AdverseEvent",
            fetch=_fetch_adverse_events,
            documentation=(
                "Infusion-related reactions: severity, CTCAE grade (CTC AE IG extension), "
                "symptoms and what was done."
            ),
            actions=(Action.READ_SESSION,),
            patient_param="patient",
            params=(
                id_param(),
                *patient_params("subject"),
                s.SearchParam(
                    name="date",
                    type="date",
                    documentation="The onset.",
                    values=_instant_of("date", zone),
                ),
                s.SearchParam(
                    name="severity",
                    type="token",
                    documentation="mild, moderate or severe.",
                    values=s.codings("severity"),
                ),
            ),
        ),
        ResourceType(
            name="CarePlan",
            profile=BASE + "CarePlan",
            fetch=_fetch_care_plans,
            documentation="One per therapy order: its dose calendar, gates and monitoring.",
            actions=(Action.READ_ORDER, Action.READ_COURSE),
            patient_param="patient",
            params=(id_param(), *patient_params("subject"), status_param()),
        ),
        ResourceType(
            name="Schedule",
            profile=BASE + "Schedule",
            fetch=_fetch_schedules,
            documentation="One per chair (actor: the chair's Location).",
            actions=(Action.READ_CHAIRS,),
            params=(
                id_param(),
                s.SearchParam(
                    name="actor",
                    type="reference",
                    documentation="The chair (Location).",
                    values=s.reference_to("actor"),
                ),
            ),
        ),
        ResourceType(
            name="Slot",
            profile=BASE + "Slot",
            fetch=_fetch_slots,
            documentation="The chair time each appointment holds (busy; free once cancelled).",
            actions=(Action.READ_APPOINTMENT, Action.READ_PATIENT),
            params=(
                id_param(),
                s.SearchParam(
                    name="schedule",
                    type="reference",
                    documentation="The chair's Schedule.",
                    values=s.reference_to("schedule"),
                ),
                status_param(),
                s.SearchParam(
                    name="start",
                    type="date",
                    documentation="The slot's start.",
                    values=lambda r: [(s.parse_instant(r["start"]), s.parse_instant(r["end"]))],
                ),
            ),
        ),
        ResourceType(
            name="Appointment",
            profile=BASE + "Appointment",
            fetch=_fetch_appointments,
            documentation="Chair bookings: patient, chair, times, the order they are based on.",
            actions=(Action.READ_APPOINTMENT, Action.READ_PATIENT, Action.READ_SESSION),
            patient_param="patient",
            params=(
                id_param(),
                _participants("Patient"),
                _participants(None),
                status_param(),
                s.SearchParam(
                    name="date",
                    type="date",
                    documentation="The booked time.",
                    values=lambda r: [(s.parse_instant(r["start"]), s.parse_instant(r["end"]))],
                ),
            ),
        ),
        ResourceType(
            name="Provenance",
            profile=BASE + "Provenance",
            fetch=_fetch_provenance,
            documentation=(
                "Who recorded each entry, when it happened and when it was recorded (late "
                "entries keep both), on whose behalf."
            ),
            actions=(Action.READ_SESSION, Action.READ_COURSE),
            patient_param="patient",
            params=(
                id_param(),
                s.SearchParam(
                    name="target",
                    type="reference",
                    documentation="The resource it is about.",
                    values=_targets,
                ),
                s.SearchParam(
                    name="patient",
                    type="reference",
                    documentation="The patient whose record it is about.",
                    values=lambda r: [],
                    matched_by_fetch=True,
                ),
                s.SearchParam(
                    name="recorded",
                    type="date",
                    documentation="When the entry was recorded.",
                    values=_instant_of("recorded", zone),
                ),
            ),
        ),
    )
