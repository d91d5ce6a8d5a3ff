"""Apply the optimised day plan to the day's bookings (``POST /schedule/apply``) and show what
changed, before → after, by patient and chair name.

The plan page (``/schedule``) posts each proposed move with the booking as the planner saw it;
``SchedulingUseCases.apply_plan`` refuses the whole plan when any booking changed meanwhile or
its visit has begun, or when the moved day fails the scheduling core's independent check.
Nothing is re-solved here: what the scheduler saw is what is applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.page_forms import error_page, posted_fields, refusal
from msinfusion.application.plan_apply import PlannedMove
from msinfusion.application.schedule_day import DaySettings
from msinfusion.errors import InvalidCommand, MsinfusionError

router = APIRouter(include_in_schema=False)
MAX_MOVES = 500


def _moment(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(
            f"{field}: {text[:40]!r} is not a date and time", field=field
        ) from None
    if moment.tzinfo is None:
        raise InvalidCommand(f"{field}: the time has no offset", field=field)
    return moment


def read_moves(values: list[str]) -> list[PlannedMove]:
    """Each ``move`` value: ``appointment|chair before|start before|chair|start``.

    >>> [m.chair_id for m in read_moves(["a1|c1|2026-03-02T09:00+00:00|c2|2026-03-02T10:00+00:00"])]
    ['c2']
    """
    if len(values) > MAX_MOVES:
        raise InvalidCommand(f"moves: at most {MAX_MOVES} moves at once", field="moves")
    moves = []
    for index, value in enumerate(values):
        field = f"moves[{index}]"
        parts = value.split("|")
        if len(parts) != 5 or not all(parts):  # the five parts above
            raise InvalidCommand(f"{field}: not a move of the plan", field=field)
        appointment_id, chair_before, before, chair_id, start = parts
        moves.append(
            PlannedMove(
                appointment_id=appointment_id,
                chair_before=chair_before,
                starts_before=_moment(before, field),
                chair_id=chair_id,
                starts_at=_moment(start, field),
            )
        )
    return moves


def _names(request: Request, viewer: Viewer, day: Any) -> tuple[dict[str, str], dict[str, str]]:
    centre, zone = web_context(request).centre, web_context(request).settings.zone
    board = centre.queries.get_board(viewer.actor, day, zone)
    patients = {row.appointment.id: row.patient.display_name for row in board}
    chairs = {c.id: c.name for c in centre.queries.list_chairs(viewer.actor)}
    return patients, chairs


@router.post("/schedule/apply", response_class=HTMLResponse)
async def apply_plan(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    context = web_context(request)
    settings = context.settings
    on = viewer.actor.at.astimezone(settings.zone).date()
    try:
        await posted_fields(request, viewer)  # the CSRF check
        form = await request.form()  # parsed once, cached by Starlette
        moves = read_moves([str(v) for v in form.getlist("move")])
    except MsinfusionError as error:
        return error_page(request, viewer, error)
    day_settings = DaySettings(
        day=on,
        zone=settings.zone,
        nurses=settings.nurses_on_duty,
        opens=settings.opens,
        closes=settings.closes,
    )
    applied: tuple[Any, ...] = ()
    form_error = None
    try:
        applied = context.centre.scheduling.apply_plan(viewer.actor, day_settings, moves)
    except MsinfusionError as error:
        shown = refusal("apply", error)
        if shown.status in (401, 403):
            return error_page(request, viewer, error)
        form_error = shown
    patients, chairs = _names(request, viewer, on)
    return render(
        request,
        "schedule_applied.html",
        viewer,
        status_code=200 if form_error is None else form_error.status,
        day=on,
        applied=applied,
        patients=patients,
        chairs=chairs,
        form_error=form_error,
    )
