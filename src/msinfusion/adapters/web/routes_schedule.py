"""Scheduling the centre: solve a day, re-plan the rest of a day, the day's Gantt chart (SVG).

A day is an ``msinfusion-day/1`` instance in the body or the stored day (``date`` + site
settings). Solver time limits are capped by ``Settings.schedule_max_time_limit_s``.
Routes only call the application layer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import WebContext, web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import ClinicalDate
from msinfusion.adapters.web.models_planning import (
    ClockTime,
    ReplanIn,
    ScheduleDayIn,
    TimeLimit,
    booked_visits,
    day_settings,
    require_one_source,
    settings_of,
)
from msinfusion.application.scheduling import Replanned, SolverChoice, SolverName
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.report import schedule_to_json

router = APIRouter(prefix="/api/schedule", responses=ERROR_RESPONSES)

SVG_MEDIA_TYPE = "image/svg+xml"


def _choice(context: WebContext, solver: SolverName, time_limit_s: float) -> SolverChoice:
    capped = min(time_limit_s, context.settings.schedule_max_time_limit_s)
    return SolverChoice(
        solver=solver,
        time_limit=timedelta(seconds=capped),
        workers=context.settings.schedule_workers,
    )


@router.post("/day", tags=["scheduling"])
def solve_day(request: Request, actor: ActorDep, body: ScheduleDayIn) -> dict[str, Any]:
    """Every visit's chair, start, end and nurse-held intervals, and the metrics with ``status``
    (``optimal``, ``feasible``, ``infeasible``, ``unknown``). A proposal: nothing is booked."""
    require_one_source(body)
    context = web_context(request)
    choice = _choice(context, body.solver, body.time_limit_s)
    scheduling = context.centre.scheduling
    if body.instance is not None:
        schedule = scheduling.solve_instance(actor, body.instance, choice)
        return {"source": "instance", **schedule_to_json(schedule)}
    settings = day_settings(body, context.settings.zone)
    return {
        "source": "stored",
        **schedule_to_json(scheduling.solve_stored(actor, settings, choice)),
    }


@router.post("/replan", tags=["scheduling"])
def replan(request: Request, actor: ActorDep, body: ReplanIn) -> dict[str, Any]:
    """Re-plan the rest of a day: visits started by ``now`` stay where they are (their chair is
    held until the projected release); every other visit may move, but not into the past."""
    require_one_source(body)
    context = web_context(request)
    choice = _choice(context, body.solver, body.time_limit_s)
    scheduling = context.centre.scheduling
    if body.instance is not None:
        if body.schedule is None:
            raise InvalidSchedulingProblem(
                "an instance needs its current schedule (the visits of a solved day)",
                field="schedule",
            )
        done = scheduling.replan_instance(
            actor,
            body.instance,
            booked_visits(body.schedule),
            now=body.now or actor.at,
            releases=dict(body.releases),
            choice=choice,
        )
        return _replanned("instance", done)
    if body.schedule is not None or body.now is not None:
        field = "schedule" if body.schedule is not None else "now"
        raise InvalidSchedulingProblem(
            f"{field} is for instances; a stored day is re-planned as booked, now", field=field
        )
    settings = day_settings(body, context.settings.zone)
    done = scheduling.replan_stored(actor, settings, dict(body.releases), choice)
    return _replanned("stored", done)


def _replanned(source: str, done: Replanned) -> dict[str, Any]:
    return {
        "source": source,
        "now": done.now.isoformat(),
        "moved": list(done.moved),
        **schedule_to_json(done.schedule),
    }


@router.get(
    "/day.svg",
    tags=["scheduling"],
    response_class=Response,
    responses={
        200: {
            "description": "A Gantt chart of the solved stored day: chairs and nurse load",
            "content": {SVG_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
def day_svg(
    request: Request,
    actor: ActorDep,
    *,
    day: Annotated[ClinicalDate, Query(alias="date")],
    nurses: Annotated[int, Query(ge=1, le=200, description="Nurses on shift all day")],
    opens: Annotated[ClockTime, Query()] = "08:00",
    closes: Annotated[ClockTime, Query()] = "18:00",
    overtime_min: Annotated[int, Query(ge=0, le=720)] = 120,
    nurse_ratio: Annotated[int, Query(ge=1, le=20)] = 4,
    flex_min: Annotated[int, Query(ge=0, le=480)] = 0,
    solver: SolverName = SolverName.CPSAT,
    time_limit_s: Annotated[TimeLimit, Query()] = 5.0,
) -> Response:
    """The stored day solved as ``POST /api/schedule/day`` would, drawn as SVG."""
    context = web_context(request)
    settings = settings_of(
        day,
        context.settings.zone,
        nurses=nurses,
        opens=opens,
        closes=closes,
        overtime_min=overtime_min,
        nurse_ratio=nurse_ratio,
        flex_min=flex_min,
    )
    svg = context.centre.scheduling.gantt_svg(
        actor,
        settings,
        _choice(context, solver, time_limit_s),
    )
    return Response(svg, media_type=SVG_MEDIA_TYPE)
