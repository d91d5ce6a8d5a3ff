"""The one table from the error tree to HTTP, and the one JSON error shape.

Every error response is ``{"error": code, "message": text, "field": name-or-null}``; a refused
clinical command adds ``"rule"``, a version conflict ``"expected"`` and ``"actual"``. The first
row whose class matches (most specific first) decides status and code.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from msinfusion.errors import (
    AccessError,
    AuthenticationFailed,
    CatalogError,
    CommandRefused,
    ConcurrencyError,
    CsrfFailed,
    DoseTooEarly,
    DuplicateRecord,
    GateBlocked,
    IneligibleProtocol,
    InvalidCommand,
    InvalidCourseOrder,
    InvalidEvent,
    MissingMeasurement,
    MsinfusionError,
    PasswordChangeRequired,
    PermissionDenied,
    PharmacologyError,
    PlanningError,
    ProtocolNotFound,
    RecordNotFound,
    SchedulingError,
    SessionError,
    SessionNotFound,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

ERROR_TABLE: tuple[tuple[type[MsinfusionError], int, str], ...] = (
    (CommandRefused, 422, "command-refused"),
    (InvalidCommand, 422, "invalid-input"),
    (ConcurrencyError, 409, "version-conflict"),
    (SessionNotFound, 404, "not-found"),
    (InvalidEvent, 500, "stored-event-unreadable"),
    (SessionError, 422, "invalid-input"),
    (RecordNotFound, 404, "not-found"),
    (DuplicateRecord, 409, "duplicate"),
    (ProtocolNotFound, 404, "not-found"),
    (CatalogError, 422, "invalid-input"),
    (InvalidCourseOrder, 422, "invalid-input"),
    (GateBlocked, 422, "gate-blocked"),
    (DoseTooEarly, 422, "dose-too-early"),
    (IneligibleProtocol, 422, "ineligible-protocol"),
    (MissingMeasurement, 422, "missing-measurement"),
    (PlanningError, 422, "planning-failed"),
    (SchedulingError, 422, "invalid-input"),
    (PharmacologyError, 422, "invalid-input"),
    (AuthenticationFailed, 401, "unauthenticated"),
    (CsrfFailed, 403, "csrf-failed"),
    (PermissionDenied, 403, "forbidden"),
    (PasswordChangeRequired, 403, "password-change-required"),
    (TooManyAttempts, 429, "too-many-attempts"),
    (AccessError, 403, "forbidden"),
    (MsinfusionError, 400, "bad-request"),
)
"""Error class → (HTTP status, stable code). Documented in docs/api.md."""

HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
}


class ErrorBody(BaseModel):
    """The one error shape (OpenAPI); extra keys: ``rule``, ``expected``, ``actual``,
    ``gate_ids`` and ``stage`` (gate-blocked), ``earliest`` (dose-too-early)."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code}
    for status, code in (
        (400, "bad request"),
        (401, "not signed in, or a bad token"),
        (403, "the role may not do this, or the CSRF token is missing"),
        (404, "no such record"),
        (409, "a version conflict or a duplicate"),
        (413, "the body is too large"),
        (422, "invalid input or a refused clinical command"),
        (429, "too many login attempts"),
    )
}


def error_body(code: str, message: str, field: str | None, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field, **extra}


def classify(error: MsinfusionError) -> tuple[int, str]:
    for cls, status, code in ERROR_TABLE:
        if isinstance(error, cls):
            return status, code
    return 400, "bad-request"  # pragma: no cover  # MsinfusionError is the last row


def error_response(error: MsinfusionError) -> JSONResponse:
    status, code = classify(error)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, CommandRefused):
        extra = {"rule": error.rule, "message": error.reason}
    elif isinstance(error, GateBlocked):
        extra = {"gate_ids": list(error.gate_ids), "stage": error.stage}
    elif isinstance(error, DoseTooEarly):
        extra = {"earliest": error.earliest, "rule": error.rule}
    elif isinstance(error, ConcurrencyError):
        extra = {"expected": error.expected, "actual": error.actual}
    elif isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after_s)
    elif isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    body = error_body(code, error.message, error.field) | extra
    if status >= 500:
        log.error("stored data could not be read: %s", type(error).__name__)
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method served on the request's path (one route per method in FastAPI)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MsinfusionError)
    async def _domain(request: Request, error: MsinfusionError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        # An unknown key is named first: it is what the client most likely got wrong.
        errors = sorted(error.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
        field = _field_of(tuple(first.get("loc", ("body",))))
        message = f"{field}: {first.get('msg', 'invalid')}"
        return JSONResponse(error_body("invalid-input", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, "error")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return JSONResponse(
            error_body(code, str(error.detail), "body" if error.status_code == 413 else None),
            status_code=error.status_code,
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The type only: a message or traceback could carry request data (no PHI in logs).
        log.error(
            "unexpected error %s on %s %s", type(error).__name__, request.method, request.url.path
        )
        return JSONResponse(
            error_body("internal", "an unexpected error occurred", None), status_code=500
        )
