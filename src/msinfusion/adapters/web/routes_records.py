"""Patients, chairs, therapy orders and appointments. Routes only call the application layer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import (
    AllergyIn,
    AppointmentIn,
    AppointmentOut,
    ChairIn,
    ChairOut,
    ChairPatch,
    IdentifierIn,
    IsoDate,
    OrderIn,
    OrderOut,
    OrderPatch,
    PatientIn,
    PatientOut,
    PatientPatch,
)
from msinfusion.application.records import Allergy, OrderStatus, PatientIdentifier

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)
PathId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


@router.get("/patients", tags=["patients"])
def list_patients(request: Request, actor: ActorDep) -> list[PatientOut]:
    return [PatientOut.of(p) for p in web_context(request).centre.queries.list_patients(actor)]


@router.post("/patients", status_code=201, tags=["patients"])
def create_patient(request: Request, actor: ActorDep, body: PatientIn) -> PatientOut:
    values = body.model_dump()
    values["contraindicated_therapy_ids"] = tuple(body.contraindicated_therapy_ids)
    values["identifiers"] = _identifiers(body.identifiers)
    values["allergies"] = _allergies(body.allergies)
    return PatientOut.of(web_context(request).centre.records.add_patient(actor, **values))


def _identifiers(given: list[IdentifierIn]) -> tuple[PatientIdentifier, ...]:
    return tuple(PatientIdentifier(system=i.system, value=i.value) for i in given)


def _allergies(given: list[AllergyIn]) -> tuple[Allergy, ...]:
    return tuple(
        Allergy(substance=a.substance, reaction=a.reaction, severity=a.severity, source=a.source)
        for a in given
    )


@router.get("/patients/{patient_id}", tags=["patients"])
def get_patient(request: Request, actor: ActorDep, patient_id: PathId) -> PatientOut:
    """The patient, with ``contraindicated_therapy_ids`` as the record and its stored sessions
    make them (a therapy a reaction discontinued is listed)."""
    patient, contraindicated = web_context(request).centre.queries.get_patient_record(
        actor, patient_id
    )
    return PatientOut.of(patient, contraindicated)


@router.patch("/patients/{patient_id}", tags=["patients"])
def update_patient(
    request: Request, actor: ActorDep, patient_id: PathId, body: PatientPatch
) -> PatientOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("display_name", "") is None:
        del changes["display_name"]
    if "contraindicated_therapy_ids" in changes:
        changes["contraindicated_therapy_ids"] = tuple(changes["contraindicated_therapy_ids"] or ())
    if body.identifiers is not None:
        changes["identifiers"] = _identifiers(body.identifiers)
    if body.allergies is not None:
        changes["allergies"] = _allergies(body.allergies)
    for key in ("identifiers", "allergies"):
        if changes.get(key, ()) is None:
            del changes[key]
    updated = web_context(request).centre.records.update_patient(actor, patient_id, changes)
    return PatientOut.of(updated)


@router.get("/chairs", tags=["chairs"])
def list_chairs(request: Request, actor: ActorDep) -> list[ChairOut]:
    return [ChairOut.of(c) for c in web_context(request).centre.queries.list_chairs(actor)]


@router.post("/chairs", status_code=201, tags=["chairs"])
def create_chair(request: Request, actor: ActorDep, body: ChairIn) -> ChairOut:
    chair = web_context(request).centre.records.add_chair(
        actor, name=body.name, attributes=tuple(body.attributes)
    )
    return ChairOut.of(chair)


@router.patch("/chairs/{chair_id}", tags=["chairs"])
def update_chair(request: Request, actor: ActorDep, chair_id: PathId, body: ChairPatch) -> ChairOut:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "attributes" in changes:
        changes["attributes"] = tuple(changes["attributes"])
    return ChairOut.of(web_context(request).centre.records.update_chair(actor, chair_id, changes))


@router.get("/orders", tags=["orders"])
def list_orders(
    request: Request,
    actor: ActorDep,
    patient_id: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] = None,
) -> list[OrderOut]:
    orders = web_context(request).centre.queries.list_orders(actor, patient_id=patient_id)
    return [OrderOut.of(o) for o in orders]


@router.post("/orders", status_code=201, tags=["orders"])
def create_order(request: Request, actor: ActorDep, body: OrderIn) -> OrderOut:
    order = web_context(request).centre.records.add_order(
        actor,
        patient_id=body.patient_id,
        therapy_id=body.therapy_id,
        start_date=body.start_date,
        options=tuple(sorted(body.options.items())),
        note=body.note,
        premedications=body.premedications,
    )
    return OrderOut.of(order)


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(request: Request, actor: ActorDep, order_id: PathId) -> OrderOut:
    return OrderOut.of(web_context(request).centre.queries.get_order(actor, order_id))


@router.patch("/orders/{order_id}", tags=["orders"])
def update_order(request: Request, actor: ActorDep, order_id: PathId, body: OrderPatch) -> OrderOut:
    records = web_context(request).centre.records
    return OrderOut.of(records.set_order_active(actor, order_id, active=body.active))


class OrderDiscontinuation(BaseModel):
    """``POST /api/orders/{id}/discontinue``: the clinic day treatment stopped, and why."""

    model_config = ConfigDict(extra="forbid")

    discontinued_on: date = Field(description="The clinic day treatment stopped (ISO date)")
    reason: str = Field(min_length=1, max_length=500, description="The physician's reason")


@router.post("/orders/{order_id}/discontinue", tags=["orders"])
def discontinue_order(
    request: Request, actor: ActorDep, order_id: PathId, body: OrderDiscontinuation
) -> OrderOut:
    """Stop a course for good on ``discontinued_on`` (audited ``order.discontinue``): nothing
    more may be booked on it; programme follow-up counts from that day (the worklist and the
    ledger: TOUCH-07 discontinuation questionnaires, alemtuzumab monitoring to 48 months after
    the last infusion)."""
    order = web_context(request).centre.records.change_order_status(
        actor,
        order_id,
        OrderStatus.DISCONTINUED,
        reason=body.reason,
        discontinued_on=body.discontinued_on,
    )
    return OrderOut.of(order)


@router.get("/appointments", tags=["appointments"])
def list_appointments(
    request: Request,
    actor: ActorDep,
    day: Annotated[IsoDate, Query(alias="date", description="The day, on the centre's clock.")],
) -> list[AppointmentOut]:
    context = web_context(request)
    found = context.centre.queries.list_appointments(actor, day, context.settings.zone)
    return [AppointmentOut.of(a) for a in found]


@router.post("/appointments", status_code=201, tags=["appointments"])
def book_appointment(request: Request, actor: ActorDep, body: AppointmentIn) -> AppointmentOut:
    appointment = web_context(request).centre.records.book_appointment(
        actor,
        patient_id=body.patient_id,
        chair_id=body.chair_id,
        protocol_id=body.protocol_id,
        dose_number=body.dose_number,
        starts_at=body.starts_at,
        order_id=body.order_id,
    )
    return AppointmentOut.of(appointment)


@router.get("/appointments/{appointment_id}", tags=["appointments"])
def get_appointment(request: Request, actor: ActorDep, appointment_id: PathId) -> AppointmentOut:
    found = web_context(request).centre.queries.get_appointment(actor, appointment_id)
    return AppointmentOut.of(found)


@router.post("/appointments/{appointment_id}/cancel", tags=["appointments"])
def cancel_appointment(request: Request, actor: ActorDep, appointment_id: PathId) -> AppointmentOut:
    cancelled = web_context(request).centre.records.cancel_appointment(actor, appointment_id)
    return AppointmentOut.of(cancelled)
