"""The FastAPI application: JSON API under ``/api``, OpenAPI at ``/api/openapi.json``, pages.

``create_app(centre, settings=...)`` only adapts: the service layer, its storage, clock and
codecs come wired from the composition root (``bootstrap.build_centre``). Every route calls
only that layer (``application.centre.Centre``). The app's lifespan runs the pump order
dispatcher when a pump gateway is set (docs/pumps.md): orders go out off the request path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from msinfusion.adapters.fhir import router as fhir_router
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
    routes_tdm,
    routes_ui,
    routes_worklist,
)
from msinfusion.adapters.web.context import WebContext
from msinfusion.adapters.web.errors import install_error_handlers
from msinfusion.adapters.web.headers import DOCS_ASSETS, SecurityHeaders, docs_page
from msinfusion.adapters.web.limits import BodySizeLimit
from msinfusion.adapters.web.settings import Settings
from msinfusion.adapters.web.text_guard import ValidUnicode
from msinfusion.adapters.web.ui import STATIC_DIR, workflow_routes, worklist_routes
from msinfusion.application.centre import Centre


def create_app(centre: Centre, *, settings: Settings | None = None) -> FastAPI:
    """The web app over ``centre`` (built by ``bootstrap.build_centre``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        dispatcher = centre.pump_dispatcher
        sending = centre.pump_orders.has_gateway and not dispatcher.running
        if sending:
            dispatcher.start()
            dispatcher.wake()  # what an earlier run left queued
        try:
            yield
        finally:
            if sending:
                dispatcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=settings.title,
        version="1",
        description="msinfusion JSON API: see docs/api.md. Supports clinicians; the current "
        "label and the prescriber have the last word.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.msinfusion = WebContext(
        centre=centre,
        settings=settings,
        clock=centre.clock,
        browser_sessions=centre.browser_sessions,
    )
    install_error_handlers(app)
    app.add_middleware(ValidUnicode)  # inside the size limit: it reads bounded bodies only
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies:
        # The outermost layer: every other one sees the forwarded client (and scheme).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    if settings.api_docs:
        _add_api_docs(app, settings.title)
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
        routes_worklist,
        routes_tdm,
    ):
        app.include_router(module.router)
    app.include_router(fhir_router)  # FHIR R4 under /fhir (docs/fhir.md)
    app.include_router(workflow_routes.router)  # registration, orders, booking, admin pages
    app.include_router(worklist_routes.router)  # the worklist and ledger pages
    app.include_router(routes_ui.router)  # the HTML pages under /
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_api_docs(app: FastAPI, title: str) -> None:
    """``/api/docs``: Swagger UI from the ``swagger-ui-bundle`` package, served from here."""
    # Imported only when the docs are on; the package ships no type information.
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # noqa: PLC0415

    page = docs_page(title)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
