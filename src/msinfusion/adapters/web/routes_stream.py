"""``GET /api/stream``: live-update notices as server-sent events (``text/event-stream``).

The stream closes after ``Settings.stream_max`` (or ``limit`` notices); browsers' EventSource
reconnects by itself and resumes with ``Last-Event-ID``.

Each notice is ``id: <sequence>``, ``event: <kind>``, ``data: <json>``; a client that reconnects
with ``Last-Event-ID`` first gets what it missed. A comment line every ``HEARTBEAT_S`` keeps
proxies from closing an idle stream. Notices hold ids only: the browser re-reads the view.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.application.live import LiveUpdates, Notice
from msinfusion.application.permissions import Action, require

router = APIRouter(prefix="/api", tags=["live"], responses=ERROR_RESPONSES)

HEARTBEAT_S = 15.0


def format_notice(notice: Notice) -> str:
    payload = json.dumps(notice.to_json_dict(), separators=(",", ":"))
    return f"id: {notice.sequence}\nevent: {notice.kind}\ndata: {payload}\n\n"


async def notices(
    live: LiveUpdates,
    request: Request,
    *,
    after: int,
    limit: int | None,
    max_s: float,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_s
    queue: asyncio.Queue[Notice] = asyncio.Queue()

    def deliver(notice: Notice) -> None:  # called from the publishing worker thread
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, notice)

    token = live.subscribe(deliver)
    sent = 0
    try:
        yield "retry: 2000\n\n"
        for missed in live.since(after):
            yield format_notice(missed)
            sent += 1
        while (limit is None or sent < limit) and loop.time() < deadline:
            wait = min(heartbeat_s, max(deadline - loop.time(), 0.0))
            try:
                notice = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": heartbeat\n\n"
                continue
            if notice.sequence > after:
                yield format_notice(notice)
                sent += 1
    finally:
        live.unsubscribe(token)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "notice stream"}},
)
async def stream(
    request: Request,
    actor: ActorDep,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="close after N notices")
    ] = None,
) -> StreamingResponse:
    """Server-sent events for the board and open screens (needs ``read_board``)."""
    require(actor.role, Action.READ_BOARD)
    context = web_context(request)
    return StreamingResponse(
        notices(
            context.centre.live,
            request,
            after=last_event_id or 0,
            limit=limit,
            max_s=context.settings.stream_max.total_seconds(),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
