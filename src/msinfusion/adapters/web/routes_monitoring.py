"""Monitoring routes: observations from devices over HTTP, open alerts, acknowledging, and the
quarantine of device messages (list, replay). See docs/monitoring.md."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES, error_body
from msinfusion.adapters.web.models import (
    CommandOut,
    Forbid,
    Id,
    IdentifierIn,
    Moment,
    Name,
    Note,
)
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.adapters.web.routes_sessions import command_out
from msinfusion.application.device_records import QuarantinedMessage, QuarantineStatus
from msinfusion.application.monitoring_ports import Receipt

router = APIRouter(prefix="/api", tags=["monitoring"], responses=ERROR_RESPONSES)

Code = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[0-9-]+$")]
Unit = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[ -~]+$")]
Value = Annotated[Decimal, Field(ge=-100_000, le=100_000, max_digits=12, decimal_places=4)]


class ObservationValueIn(Forbid):
    system: Literal["LOINC", "MDC", "http://loinc.org", "urn:iso:std:iso:11073:10101"]
    code: Code
    value: Value
    unit: Unit


class ObservationIn(Forbid):
    """One set of device observations (PCD-01's content as JSON; docs/monitoring.md)."""

    idempotency_key: Id
    patient_id: Id | None = None
    patient_identifiers: Annotated[list[IdentifierIn], Field(max_length=8)] | None = None
    """The patient's identifiers with their issuer (the hospital MRN, ...), matched as PID-3."""
    chair: Name | None = None
    observed_at: Moment
    observations: Annotated[list[ObservationValueIn], Field(min_length=1, max_length=32)]


class ObservationOut(BaseModel):
    outcome: str
    session_id: str | None
    version: int | None
    alert_ids: list[str]


class AcknowledgeIn(Forbid):
    note: Note | None = None


class QuarantinedOut(BaseModel):
    """A quarantined message without its text (the text names the patient)."""

    id: str
    transport: str
    received_at: datetime
    reason_code: str
    reason: str
    sender: str | None
    status: str
    attempts: int
    replayed_at: datetime | None
    session_id: str | None

    @classmethod
    def of(cls, held: QuarantinedMessage) -> QuarantinedOut:
        return cls(
            id=held.id,
            transport=held.transport,
            received_at=held.received_at,
            reason_code=held.reason_code,
            reason=held.reason,
            sender=held.sender,
            status=held.status.value,
            attempts=held.attempts,
            replayed_at=held.replayed_at,
            session_id=held.session_id,
        )


class ReplayOut(BaseModel):
    outcome: str
    quarantine_id: str
    session_id: str | None
    alert_ids: list[str]
    reason_code: str | None
    reason: str | None


def _field_of(receipt: Receipt, body: ObservationIn) -> str | None:
    """The feed names HL7's fields for matching (PID-3, PV1-3): here, this body's own."""
    if receipt.field == "PV1-3":
        return "chair"
    if receipt.field == "PID-3":
        return "patient_identifiers" if body.patient_identifiers else "patient_id"
    return receipt.field


def _quarantined(receipt: Receipt, sent: ObservationIn) -> JSONResponse:
    body = error_body(
        "observation-quarantined",
        receipt.reason or "quarantined",
        _field_of(receipt, sent),
        reason_code=receipt.reason_code,
        quarantine_id=receipt.quarantine_id,
    )
    return JSONResponse(body, status_code=422)


@router.post(
    "/observations",
    status_code=201,
    responses={
        200: {"model": ObservationOut, "description": "a duplicate: recorded before, not again"},
        422: {"description": "observation-quarantined (reason_code, quarantine_id)"},
    },
)
def post_observation(request: Request, actor: ActorDep, body: ObservationIn) -> Any:
    """Record one set of vital signs from a device (or a nurse's device integration): the same
    matching, idempotency (per sender and ``idempotency_key``) and quarantine as PCD-01."""
    document = {**body.model_dump(mode="json", exclude_none=True), "sender": actor.username}
    receipt = web_context(request).centre.monitoring.post_observation(
        actor, json.dumps(document, separators=(",", ":"))
    )
    if not receipt.accepted:
        return _quarantined(receipt, body)
    out = ObservationOut(
        outcome=receipt.outcome,
        session_id=receipt.session_id,
        version=receipt.version,
        alert_ids=list(receipt.alert_ids),
    )
    if receipt.outcome == "duplicate":
        return JSONResponse(out.model_dump(), status_code=200)
    return out


@router.get("/alerts")
def list_alerts(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    """Open alerts of every session in progress, highest priority first (escalation applied
    at the request time)."""
    context = web_context(request)
    return context.centre.alerts.list_open(actor, display_tz=context.settings.zone)


@router.post("/sessions/{session_id}/alerts/{alert_id}/acknowledge")
def acknowledge_alert(
    request: Request,
    actor: ActorDep,
    session_id: PathId,
    alert_id: PathId,
    body: AcknowledgeIn | None = None,
) -> CommandOut:
    """Acknowledge an alert (``AcknowledgeAlert``); 422 ``command-refused`` with rule
    ``alert-unknown`` or ``alert-already-acknowledged``."""
    context = web_context(request)
    outcome = context.centre.alerts.acknowledge(
        actor,
        session_id,
        alert_id,
        note=None if body is None else body.note,
        display_tz=context.settings.zone,
    )
    return command_out(context, outcome)


@router.get("/devices/clock-skew")
def device_clock_skew(request: Request, actor: ActorDep) -> dict[str, dict[str, float | int]]:
    """Per sender: how far its readings' times ran ahead of or behind their receipt, since this
    server started (admin). A monitor far ahead has its readings refused (``clock-future``)."""
    skew = web_context(request).centre.monitoring.clock_skew(actor)
    return {
        sender: {
            "readings": s.readings,
            "ahead": s.ahead,
            "max_ahead_s": s.max_ahead_s,
            "max_behind_s": s.max_behind_s,
            "last_s": s.last_s,
        }
        for sender, s in sorted(skew.items())
    }


@router.get("/quarantine")
def list_quarantine(
    request: Request,
    actor: ActorDep,
    status: Annotated[Literal["held", "replayed"] | None, Query()] = None,
) -> list[QuarantinedOut]:
    """Quarantined device messages (admin), oldest first, without their text."""
    wanted = None if status is None else QuarantineStatus(status)
    found = web_context(request).centre.monitoring.list_quarantine(actor, status=wanted)
    return [QuarantinedOut.of(q) for q in sorted(found, key=lambda q: (q.received_at, q.id))]


@router.post("/quarantine/{quarantine_id}/replay")
def replay_quarantined(request: Request, actor: ActorDep, quarantine_id: PathId) -> ReplayOut:
    """Run a held message through the feed again (admin): ``accepted`` or ``duplicate`` marks
    it replayed; ``quarantined`` keeps it held with the new reason."""
    centre = web_context(request).centre
    receipt = centre.pump_feed.replay(actor, quarantine_id) or centre.monitoring.replay(
        actor, quarantine_id
    )
    return ReplayOut(
        outcome=receipt.outcome,
        quarantine_id=quarantine_id,
        session_id=receipt.session_id,
        alert_ids=list(receipt.alert_ids),
        reason_code=receipt.reason_code,
        reason=receipt.reason,
    )
