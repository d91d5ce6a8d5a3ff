"""The FastAPI application: JSON API under ``/api``, OpenAPI at ``/api/openapi.json``, pages.

``create_app(centre, settings=...)`` only adapts: the service layer, its storage, clock and
codecs come wired from the composition root (``bootstrap.build_centre``). Every route calls
only that layer (``application.centre.Centre``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from msinfusion.adapters.web import (
    routes_admin,
    routes_clinical,
    routes_courses,
    routes_monitoring,
    routes_records,
    routes_reference,
    routes_schedule,
    routes_sessions,
    routes_stream,
    routes_ui,
)
from msinfusion.adapters.web.browser_sessions import BrowserSessionStore
from msinfusion.adapters.web.context import WebContext
from msinfusion.adapters.web.errors import install_error_handlers
from msinfusion.adapters.web.limits import BodySizeLimit
from msinfusion.adapters.web.settings import Settings
from msinfusion.adapters.web.ui import STATIC_DIR
from msinfusion.application.centre import Centre


def create_app(centre: Centre, *, settings: Settings | None = None) -> FastAPI:
    """The web app over ``centre`` (built by ``bootstrap.build_centre``)."""
    settings = settings or Settings()
    app = FastAPI(
        title=settings.title,
        version="1",
        description="msinfusion JSON API: see docs/api.md. Supports clinicians; the current "
        "label and the prescriber have the last word.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.msinfusion = WebContext(
        centre=centre,
        settings=settings,
        clock=centre.clock,
        browser_sessions=BrowserSessionStore(
            idle=settings.session_idle, lifetime=settings.session_lifetime
        ),
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (
        routes_reference,
        routes_records,
        routes_sessions,
        routes_admin,
        routes_stream,
        routes_clinical,
        routes_courses,
        routes_schedule,
        routes_monitoring,
    ):
        app.include_router(module.router)
    app.include_router(routes_ui.router)  # the HTML pages under /
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
