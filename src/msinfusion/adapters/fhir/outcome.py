"""The one table from errors to FHIR: an ``OperationOutcome`` with the right HTTP status.

Every answer under ``/fhir`` that is not a resource is an OperationOutcome
(https://hl7.org/fhir/R4/operationoutcome.html), issue codes from
https://hl7.org/fhir/R4/valueset-issue-type.html. ``FhirRoute`` catches errors raised anywhere
in a FHIR route — the bearer-token check included — so no JSON error of the ``/api`` shape
leaves this adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fhir.resources.R4B.operationoutcome import OperationOutcome
from starlette.exceptions import HTTPException as StarletteHTTPException

from msinfusion.errors import (
    AccessError,
    AuthenticationFailed,
    InvalidEvent,
    MsinfusionError,
    RecordNotFound,
    SessionNotFound,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    """A FHIR JSON body (``application/fhir+json``, UTF-8)."""

    media_type = FHIR_JSON


class FhirError(Exception):
    """A request the FHIR adapter itself refuses: an unknown or malformed search parameter, an
    unknown resource type or id, a method the interface does not offer."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        expression: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.expression = expression
        self.headers = headers


def bad_parameter(name: str, message: str) -> FhirError:
    """400 naming the search parameter (``issue.expression``) and what is wrong with it."""
    return FhirError(400, "invalid", f"{name}: {message}", expression=name)


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known")


ERROR_TABLE: tuple[tuple[type[MsinfusionError], int, str], ...] = (
    (AuthenticationFailed, 401, "login"),
    (TooManyAttempts, 429, "throttled"),
    (AccessError, 403, "forbidden"),
    (RecordNotFound, 404, "not-found"),
    (SessionNotFound, 404, "not-found"),
    (InvalidEvent, 500, "exception"),
    (MsinfusionError, 400, "invalid"),
)
"""Error class -> (HTTP status, issue code); the first matching row wins."""


def operation_outcome(
    code: str, message: str, *, expression: str | None = None, severity: str = "error"
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression is not None:
        issue["expression"] = [expression]
    outcome = OperationOutcome.model_validate(
        {"resourceType": "OperationOutcome", "issue": [issue]}
    )
    data: dict[str, Any] = outcome.model_dump(mode="json")
    return data


def outcome_response(
    status: int,
    code: str,
    message: str,
    *,
    expression: str | None = None,
    headers: dict[str, str] | None = None,
) -> FhirResponse:
    return FhirResponse(
        operation_outcome(code, message, expression=expression),
        status_code=status,
        headers=headers,
    )


def response_for(error: Exception) -> FhirResponse:
    """The OperationOutcome answer to ``error``."""
    if isinstance(error, FhirError):
        return outcome_response(
            error.status,
            error.code,
            error.message,
            expression=error.expression,
            headers=error.headers,
        )
    if isinstance(error, MsinfusionError):
        status, code = next((s, c) for cls, s, c in ERROR_TABLE if isinstance(error, cls))
        headers: dict[str, str] = {}
        if isinstance(error, AuthenticationFailed):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(error, TooManyAttempts):
            headers["Retry-After"] = str(error.retry_after_s)
        if status >= 500:
            log.error("stored data could not be read: %s", type(error).__name__)
        return outcome_response(
            status, code, error.message, expression=error.field, headers=headers
        )
    if isinstance(error, RequestValidationError):
        first = next(iter(error.errors()), {"loc": ("path",), "msg": "invalid"})
        name = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query"))
        return outcome_response(400, "invalid", f"{name}: {first.get('msg')}", expression=name)
    if isinstance(error, StarletteHTTPException):
        code = {404: "not-found", 405: "not-supported", 413: "too-long"}.get(
            error.status_code, "processing"
        )
        return outcome_response(error.status_code, code, str(error.detail))
    # The type only: a message could carry request data (no PHI in logs).
    log.error("unexpected error %s in the FHIR adapter", type(error).__name__)
    return outcome_response(500, "exception", "an unexpected error occurred")


class FhirRoute(APIRoute):
    """A route whose every error — from its dependencies (authentication) or its body — is
    answered with an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                return response_for(error)

        return handle
