"""What every route reaches through ``request.app.state``: the centre, settings, clock, sessions."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from msinfusion.adapters.web.browser_sessions import BrowserSessionStore
from msinfusion.adapters.web.settings import Settings
from msinfusion.application.centre import Centre
from msinfusion.application.ports import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class WebContext:
    centre: Centre
    settings: Settings
    clock: Clock
    browser_sessions: BrowserSessionStore


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.msinfusion
    return context


def client_address(request: Request) -> str | None:
    """The peer address (behind a reverse proxy, run uvicorn with ``--proxy-headers``)."""
    return None if request.client is None else request.client.host
