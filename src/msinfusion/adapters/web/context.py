"""What every route reaches through ``request.app.state``: the centre, settings, clock, sessions."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from msinfusion.adapters.web.settings import Settings
from msinfusion.application.browser_sessions import BrowserSessions
from msinfusion.application.centre import Centre
from msinfusion.application.ports import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class WebContext:
    centre: Centre
    settings: Settings
    clock: Clock
    browser_sessions: BrowserSessions


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.msinfusion
    return context


def client_address(request: Request) -> str | None:
    """The caller's address: the peer, or — when the peer is one of
    ``MSINFUSION_TRUSTED_PROXIES`` — the address it forwarded (``app.py`` installs uvicorn's
    ``ProxyHeadersMiddleware`` with exactly those proxies; nobody else can set it)."""
    return None if request.client is None else request.client.host
