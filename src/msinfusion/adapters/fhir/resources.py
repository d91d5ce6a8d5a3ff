"""The resource types this server serves: how each is read from the record and searched.

One table (``resource_types``) drives the routes and the CapabilityStatement, so the statement
lists exactly what is implemented. Each type fetches its candidates from the record — narrowed
by ``_id`` or ``patient`` when given, so a search for one patient reads only that patient's
sessions — and the search parameters then filter the built resources.
"""

from __future__ import annotations

from datetime import tzinfo

from msinfusion.adapters.fhir import search as s
from msinfusion.adapters.fhir.administrative import (
    CENTRE_LOCATION_ID,
    centre_location,
    chair_location,
    patient_resource,
    practitioner_resource,
)
from msinfusion.adapters.fhir.clinical_types import clinical_types, lab_resources
from msinfusion.adapters.fhir.common import JsonObject
from msinfusion.adapters.fhir.medication_administration import administration_resources
from msinfusion.adapters.fhir.medication_request import (
    medication_request_resource,
    protocol_doses,
)
from msinfusion.adapters.fhir.observation import KINDS as OBSERVATION_KINDS
from msinfusion.adapters.fhir.observation import observation_resources
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resource_kind import (
    Fetch,
    Include,
    ResourceType,
    found,
    id_param,
    patient_hint,
    patient_params,
    sessions_for,
    status_param,
)
from msinfusion.application.permissions import Action
from msinfusion.application.records import Patient, TherapyOrder
from msinfusion.catalog.model import Therapy
from msinfusion.errors import CatalogError

__all__ = ["ResourceType", "resource_types"]

ADMINISTRATION_KINDS = ("segment", "premedication", "rescue")


# -- Patient, Practitioner, Location ----------------------------------------------------------


def _fetch_patients(record: Record, query: s.Query) -> list[JsonObject]:
    ids = query.values_of("_id")
    if ids is None:
        return [patient_resource(p) for p in record.patients()]
    return [patient_resource(p) for p in found(record.patient, sorted(ids))]


def _fetch_practitioners(record: Record, query: s.Query) -> list[JsonObject]:
    return [practitioner_resource(u) for u in record.signers()]


def _location_fetcher(title: str) -> Fetch:
    def fetch(record: Record, query: s.Query) -> list[JsonObject]:
        return [centre_location(title), *(chair_location(c) for c in record.chairs())]

    return fetch


# -- MedicationRequest ------------------------------------------------------------------------


def _therapy(record: Record, therapy_id: str) -> Therapy | None:
    try:
        return record.therapy(therapy_id)
    except CatalogError:
        return None


def _request_of(record: Record, order: TherapyOrder, patient: Patient | None) -> JsonObject:
    therapy = _therapy(record, order.therapy_id)
    protocols = []
    if therapy is not None:
        for protocol_id, doses in protocol_doses(record.calendar(order.id), therapy):
            try:
                protocols.append((record.protocol(protocol_id), doses))
            except CatalogError:
                continue
    return medication_request_resource(order, patient, therapy, protocols)


def _fetch_requests(record: Record, query: s.Query) -> list[JsonObject]:
    ids = query.values_of("_id")
    patient_id = patient_hint(query)
    if ids is not None:
        orders = list(found(record.order, sorted(ids)))
    else:
        orders = record.orders(patient_id=patient_id)
    patients = {p.id: p for p in found(record.patient, sorted({o.patient_id for o in orders}))}
    return [_request_of(record, o, patients.get(o.patient_id)) for o in orders]


# -- session resources: MedicationAdministration, Observation ---------------------------------


def _fetch_administrations(record: Record, query: s.Query) -> list[JsonObject]:
    found = []
    for session in sessions_for(record, query, ADMINISTRATION_KINDS):
        therapy = None
        if session.stream.protocol is not None:
            therapy = _therapy(record, session.stream.protocol.therapy_id)
        found.extend(administration_resources(session, therapy))
    return found


def _fetch_observations(record: Record, query: s.Query) -> list[JsonObject]:
    vitals = [
        o
        for session in sessions_for(record, query, OBSERVATION_KINDS)
        for o in observation_resources(session)
    ]
    return [*vitals, *lab_resources(record, query, OBSERVATION_KINDS)]


# -- the table --------------------------------------------------------------------------------


def resource_types(*, zone: tzinfo, centre_name: str) -> dict[str, ResourceType]:
    base = "http://hl7.org/fhir/StructureDefinition/"
    types = (
        ResourceType(
            name="Patient",
            profile=base + "Patient",
            fetch=_fetch_patients,
            documentation="The centre's patients; demo patients carry the HTEST tag.",
            actions=(Action.READ_PATIENT,),
            patient_param="_id",
            params=(
                id_param(),
                s.SearchParam(
                    name="identifier",
                    type="token",
                    documentation="An identifier: system|value.",
                    values=s.identifiers,
                ),
                s.SearchParam(
                    name="birthdate",
                    type="date",
                    documentation="The date of birth.",
                    values=s.day_of("birthDate", zone),
                ),
                s.SearchParam(
                    name="gender",
                    type="token",
                    documentation="The recorded sex.",
                    values=s.token_field("gender"),
                ),
            ),
        ),
        ResourceType(
            name="Practitioner",
            profile=base + "Practitioner",
            fetch=_fetch_practitioners,
            documentation="Users who sign the record (nurses, physicians); no secrets.",
            actions=(Action.READ_SESSION,),
            params=(
                id_param(),
                s.SearchParam(
                    name="identifier",
                    type="token",
                    documentation="The user name: urn:msinfusion:username|name.",
                    values=s.identifiers,
                ),
            ),
        ),
        ResourceType(
            name="Location",
            profile=base + "Location",
            fetch=_location_fetcher(centre_name),
            documentation=f"The centre (Location/{CENTRE_LOCATION_ID}) and its chairs.",
            actions=(Action.READ_CHAIRS,),
            params=(id_param(),),
        ),
        ResourceType(
            name="MedicationRequest",
            profile=base + "MedicationRequest",
            fetch=_fetch_requests,
            documentation="Therapy orders; the protocols' rate steps as dosageInstruction.",
            actions=(Action.READ_ORDER, Action.READ_COURSE),
            patient_param="patient",
            params=(id_param(), *patient_params("subject"), status_param()),
        ),
        ResourceType(
            name="MedicationAdministration",
            profile=base + "MedicationAdministration",
            fetch=_fetch_administrations,
            documentation=(
                "One per infusion session; its rate segments, premedications and rescue "
                "medications as administrations partOf it."
            ),
            actions=(Action.READ_SESSION,),
            patient_param="patient",
            includes={
                "MedicationAdministration:request": Include(
                    field="request", target="MedicationRequest"
                ),
                "MedicationAdministration:patient": Include(field="subject", target="Patient"),
                "MedicationAdministration:subject": Include(field="subject", target="Patient"),
            },
            params=(
                id_param(),
                *patient_params("subject"),
                status_param(),
                s.SearchParam(
                    name="effective-time",
                    type="date",
                    documentation="When it was given (an instant or the infusion's period).",
                    values=lambda r: s.point_or_period(r, "effective"),
                ),
                s.SearchParam(
                    name="request",
                    type="reference",
                    documentation="The order (MedicationRequest) it was given under.",
                    values=s.reference_to("request"),
                ),
            ),
        ),
        ResourceType(
            name="Observation",
            profile=base + "Observation",
            fetch=_fetch_observations,
            documentation=(
                "Vital signs (FHIR vital-signs profiles), NEWS2 totals and lab results of the "
                "clinical record."
            ),
            actions=(Action.READ_SESSION, Action.READ_COURSE),
            patient_param="patient",
            params=(
                id_param(),
                *patient_params("subject"),
                s.SearchParam(
                    name="code",
                    type="token",
                    documentation=(
                        "A LOINC, MDC or SNOMED CT code, e.g. http://loinc.org|8867-4, or a "
                        "lab test (urn:msinfusion:lab-test|alt)."
                    ),
                    values=s.codings("code"),
                ),
                s.SearchParam(
                    name="category",
                    type="token",
                    documentation="vital-signs, survey or laboratory.",
                    values=s.codings("category"),
                ),
                s.SearchParam(
                    name="date",
                    type="date",
                    documentation="When it was measured (a lab result: its day).",
                    values=lambda r: s.point_or_period(r, "effective", zone),
                ),
            ),
        ),
    )
    return {t.name: t for t in (*types, *clinical_types(zone))}
