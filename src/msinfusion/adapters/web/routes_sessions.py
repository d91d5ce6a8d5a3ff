"""Infusion sessions: open, send commands (optimistic concurrency), read the view and events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import WebContext, web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import (
    CommandIn,
    CommandOut,
    EventsOut,
    Moment,
    SessionIn,
    SessionOpened,
    SessionOut,
)
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.adapters.web.session_commands import body_of, typed_command
from msinfusion.application.sessions import CommandOutcome

router = APIRouter(prefix="/api/sessions", tags=["sessions"], responses=ERROR_RESPONSES)


@router.post("", status_code=201)
def open_session(request: Request, actor: ActorDep, body: SessionIn | None = None) -> SessionOpened:
    sessions = web_context(request).centre.sessions
    appointment_id = None if body is None else body.appointment_id
    session_id = sessions.open_session(actor, appointment_id=appointment_id)
    return SessionOpened(session_id=session_id, version=0)


@router.post("/{session_id}/commands")
def send_command(
    request: Request, actor: ActorDep, session_id: PathId, body: CommandIn
) -> CommandOut:
    """Decide and store one command. 409 when ``expected_version`` is stale; 422 with ``rule``
    when a safety rule refuses it. A 2xx means the events are durably stored; ``version`` and
    each event's ``sequence`` are the committed ones."""
    context = web_context(request)
    outcome = context.centre.sessions.handle(
        actor,
        session_id,
        typed_command(actor, body_of(body.command)),
        expected_version=body.expected_version,
        display_tz=context.settings.zone,
    )
    return command_out(context, outcome)


def command_out(context: WebContext, outcome: CommandOutcome) -> CommandOut:
    """The reply to a stored command: its committed version and events, with both times."""
    late_after = context.centre.sessions.streams.policy.late_after
    return CommandOut(
        session_id=outcome.session_id,
        version=outcome.version,
        events=[event.to_json_dict(late_after=late_after) for event in outcome.events],
    )


@router.get("/{session_id}")
def get_session(
    request: Request,
    actor: ActorDep,
    session_id: PathId,
    at: Annotated[Moment | None, Query(description="ISO 8601 with offset; default now")] = None,
) -> SessionOut:
    context = web_context(request)
    read = context.centre.sessions.get(actor, session_id, at=at, display_tz=context.settings.zone)
    return SessionOut(session_id=session_id, version=read.version, view=read.view.to_json_dict())


@router.get("/{session_id}/events")
def list_events(request: Request, actor: ActorDep, session_id: PathId) -> EventsOut:
    sessions = web_context(request).centre.sessions
    events = sessions.list_events(actor, session_id)
    late_after = sessions.streams.policy.late_after
    return EventsOut(
        session_id=session_id,
        version=len(events),
        events=[e.to_json_dict(late_after=late_after) for e in events],
    )
