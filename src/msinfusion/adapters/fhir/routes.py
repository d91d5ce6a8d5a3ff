"""The FHIR R4 REST routes under ``/fhir`` (JSON, ``application/fhir+json``), read-only.

``GET /fhir/metadata`` (public), ``GET /fhir/{type}`` (search-type), ``GET /fhir/{type}/{id}``
(read). The caller is the JSON API's (``adapters.web.auth``: bearer token or browser session)
and every read goes through the application layer with its permissions and audit trail. Any
other method or path answers an OperationOutcome (405 / 404). The routes stay out of
``/api/openapi.json``: the CapabilityStatement describes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request

from msinfusion.adapters.fhir.capability import capability_statement
from msinfusion.adapters.fhir.outcome import FhirError, FhirResponse, FhirRoute, not_found
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resources import ResourceType, resource_types
from msinfusion.adapters.fhir.search import matches, parse_query, searchset
from msinfusion.application.audit import Actor

if TYPE_CHECKING:
    from msinfusion.adapters.web.context import WebContext


def web_context(request: Request) -> WebContext:
    """The web app's context (imported here, not at module level: the web app imports us)."""
    from msinfusion.adapters.web.context import web_context as context_of  # noqa: PLC0415

    return context_of(request)


def current_actor(request: Request) -> Actor:
    """The caller, exactly as the JSON API authenticates it (bearer token or browser session)."""
    from msinfusion.adapters.web.auth import current_actor as actor_of  # noqa: PLC0415

    return actor_of(request)


ActorDep = Annotated[Actor, Depends(current_actor)]

router = APIRouter(prefix="/fhir", route_class=FhirRoute, include_in_schema=False)
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _types(request: Request) -> dict[str, ResourceType]:
    settings = web_context(request).settings
    return resource_types(zone=settings.zone, centre_name=settings.title)


def _resource_type(request: Request, name: str) -> ResourceType:
    found = _types(request).get(name)
    if found is None:
        raise FhirError(404, "not-supported", f"resource type {name!r} is not served here")
    return found


@router.get("/metadata")
def metadata(request: Request) -> FhirResponse:
    context = web_context(request)
    statement = capability_statement(
        _types(request), base=_base(request), at=context.clock(), title=context.settings.title
    )
    return FhirResponse(statement)


@router.get("/{resource_type}")
def search(request: Request, resource_type: str, actor: ActorDep) -> FhirResponse:
    kind = _resource_type(request, resource_type)
    zone = web_context(request).settings.zone
    query = parse_query(request.query_params.multi_items(), kind.params, zone)
    record = Record(web_context(request).centre, actor)
    found = [r for r in kind.fetch(record, query) if matches(query, r)]
    return FhirResponse(searchset(_base(request), kind.name, found, query))


@router.get("/{resource_type}/{resource_id}")
def read(request: Request, resource_type: str, resource_id: str, actor: ActorDep) -> FhirResponse:
    kind = _resource_type(request, resource_type)
    zone = web_context(request).settings.zone
    for name, _ in request.query_params.multi_items():
        if name != "_format":
            raise FhirError(400, "invalid", f"{name}: a read takes no parameters", expression=name)
    query = parse_query([("_id", resource_id)], kind.params, zone)
    record = Record(web_context(request).centre, actor)
    found = [r for r in kind.fetch(record, query) if r["id"] == resource_id]
    if not found:
        raise not_found(kind.name, resource_id)
    return FhirResponse(found[0])


@router.api_route("/{path:path}", methods=OTHER_METHODS)
def not_allowed(path: str) -> FhirResponse:
    raise FhirError(
        405, "not-supported", "this FHIR interface is read-only (GET)", headers={"Allow": "GET"}
    )


@router.get("/{path:path}")
def unknown(path: str) -> FhirResponse:
    raise FhirError(404, "not-supported", f"/fhir/{path} is not an interaction served here")
