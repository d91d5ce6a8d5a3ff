"""The FastAPI application factory: JSON API under ``/api``, OpenAPI at ``/api/openapi.json``.

``create_app`` takes a unit-of-work factory (``msinfusion.bootstrap`` gives SQLite or
PostgreSQL; tests give the in-memory fake) and builds the service layer over it. Every route
calls only that layer (``application.centre.Centre``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from msinfusion.adapters.hl7.codec import Pcd01Codec
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
from msinfusion.adapters.web.context import Clock, WebContext
from msinfusion.adapters.web.errors import install_error_handlers
from msinfusion.adapters.web.limits import BodySizeLimit
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.adapters.web.settings import Settings
from msinfusion.adapters.web.ui import STATIC_DIR
from msinfusion.application.accounts import PasswordHasher
from msinfusion.application.audit import UnitOfWorkFactory
from msinfusion.application.centre import Centre, build_centre
from msinfusion.application.session_service import SessionService


def system_clock() -> datetime:
    return datetime.now(UTC)


def create_app(
    uow_factory: UnitOfWorkFactory,
    *,
    settings: Settings | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock = system_clock,
    centre: Centre | None = None,
) -> FastAPI:
    """The web app over ``uow_factory``; pass ``centre`` to share one service layer (the demo)."""
    settings = settings or Settings()
    if centre is None:
        centre = build_centre(
            uow_factory,
            hasher=hasher or Argon2Hasher(),
            session_service=SessionService(unit_of_work=uow_factory),
            centre_tz=settings.zone,
        )
    app = FastAPI(
        title=settings.title,
        version="1",
        description="msinfusion JSON API: see docs/api.md. Supports clinicians; the current "
        "label and the prescriber have the last word.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    centre.monitoring.add_codec(Pcd01Codec())  # to replay quarantined HL7 messages (issue 6)
    app.state.msinfusion = WebContext(
        centre=centre,
        settings=settings,
        clock=clock,
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
    app.include_router(routes_ui.router)  # the HTML pages under / (issue 10)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
