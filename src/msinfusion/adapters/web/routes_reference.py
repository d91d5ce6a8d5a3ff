"""Health, the catalog, infusion plans and the day's board."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import HealthOut, IsoDate, Moment
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.catalog.model import Severity

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


@router.get("/health", tags=["health"])
def health(request: Request) -> HealthOut:
    """Liveness and a database round trip; needs no sign-in and shows no data."""
    with web_context(request).centre.access.uow_factory() as uow:
        uow.chairs.list()
    return HealthOut(status="ok", database="ok")


@router.get("/catalog", tags=["catalog"])
def list_catalog(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    return web_context(request).centre.catalog.list_protocols(actor)


@router.get("/catalog/{protocol_id}", tags=["catalog"])
def get_protocol(request: Request, actor: ActorDep, protocol_id: PathId) -> dict[str, Any]:
    return web_context(request).centre.catalog.get_protocol(actor, protocol_id)


@router.get("/catalog/{protocol_id}/plan", tags=["catalog"])
def plan(
    request: Request,
    actor: ActorDep,
    protocol_id: PathId,
    *,
    start: Annotated[Moment, Query(description="Drug start, ISO 8601 with offset")],
    dose_number: Annotated[int | None, Query(ge=1, le=1000)] = None,
    height_cm: Annotated[Decimal | None, Query(ge=30, le=260, max_digits=6)] = None,
    weight_kg: Annotated[Decimal | None, Query(ge=1, le=400, max_digits=6)] = None,
    bag_volume_ml: Annotated[Decimal | None, Query(gt=0, le=5000, max_digits=7)] = None,
    course_day: Annotated[int | None, Query(ge=1, le=366)] = None,
    worst_prior_reaction: Severity | None = None,
) -> dict[str, Any]:
    """The exact infusion plan of a protocol from a drug start time."""
    found = web_context(request).centre.catalog.plan(
        actor,
        protocol_id,
        start_at=start,
        dose_number=dose_number,
        height_cm=height_cm,
        weight_kg=weight_kg,
        bag_volume_ml=bag_volume_ml,
        course_day=course_day,
        worst_prior_reaction=worst_prior_reaction,
    )
    return found.to_json_dict()


@router.get("/board", tags=["board"])
def board(
    request: Request,
    actor: ActorDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="Default: today")] = None,
) -> list[dict[str, Any]]:
    """The day's appointments with their live session (status, rate, volume, chair release)."""
    context = web_context(request)
    zone = context.settings.zone
    wanted = day or actor.at.astimezone(zone).date()
    return [row.to_json_dict(zone) for row in context.centre.queries.get_board(actor, wanted, zone)]
