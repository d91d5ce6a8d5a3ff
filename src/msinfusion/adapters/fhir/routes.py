"""The FHIR R4 REST routes under ``/fhir`` (JSON, ``application/fhir+json``).

``GET /fhir/metadata`` (public), ``GET /fhir/{type}`` (search-type, with ``_include``),
``GET /fhir/{type}/{id}`` (read), ``GET /fhir/Patient/{id}/$everything``, Bulk Data
``$export`` (system and Patient level, status, files: ``bulk.py``) and ``POST
/fhir/Observation`` (a device's vital signs through the device feed: ``device_input.py``).
The caller is the JSON API's (``adapters.web.auth``: bearer token or browser session) and every
read goes through the application layer with its permissions and audit trail. Any other method
or path answers an OperationOutcome (405 / 404). The routes stay out of
``/api/openapi.json``: the CapabilityStatement describes them.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request, Response

from msinfusion.adapters.fhir.bulk import (
    EXPORT_TTL,
    NDJSON,
    ExportStore,
    export_files,
    exported_types,
    new_job,
    parse_kick_off,
)
from msinfusion.adapters.fhir.bundle import page_of, searchset
from msinfusion.adapters.fhir.capability import capability_statement
from msinfusion.adapters.fhir.device_input import MATCHED_BY, QUARANTINE_REASON, device_document
from msinfusion.adapters.fhir.operations import compartment, included
from msinfusion.adapters.fhir.outcome import (
    FhirError,
    FhirResponse,
    FhirRoute,
    not_found,
    operation_outcome,
)
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resources import ResourceType, resource_types
from msinfusion.adapters.fhir.search import matches, parse_query
from msinfusion.application.audit import Actor, Subject

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
POLL = "$export-poll"
FILES = "$export-file"


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


def _record(request: Request, actor: Actor) -> Record:
    return Record(web_context(request).centre, actor)


def _exports(request: Request) -> ExportStore:
    """This app's export jobs (created with the first export; see ``bulk.py``)."""
    state = request.app.state
    store = getattr(state, "fhir_exports", None)
    if not isinstance(store, ExportStore):
        store = ExportStore()
        state.fhir_exports = store
    return store


def _authorize_export(request: Request, actor: Actor, types: list[str]) -> None:
    """Every permission the exported types need, before any work (a denial is audited)."""
    table = _types(request)
    subject = Subject(verb="fhir.export", resource_type="export")
    actions = dict.fromkeys(a for t in types for a in table[t].actions)
    for action in actions:
        web_context(request).centre.access.authorize(actor, action, subject)


@router.get("/metadata")
def metadata(request: Request) -> FhirResponse:
    context = web_context(request)
    statement = capability_statement(
        _types(request), base=_base(request), at=context.clock(), title=context.settings.title
    )
    return FhirResponse(statement)


# -- Bulk Data ----------------------------------------------------------------------------------


def _kick_off(request: Request, actor: Actor, *, patient_level: bool) -> FhirResponse:
    table = _types(request)
    served = exported_types(table, patient_level=patient_level)
    _authorize_export(request, actor, served)
    zone = web_context(request).settings.zone
    wanted = parse_kick_off(request.query_params.multi_items(), request.headers, served, zone)
    files = export_files(table, _record(request, actor), wanted, zone=zone)
    job = new_job(owner=actor.user_id, request=str(request.url), at=actor.at, files=files)
    _exports(request).add(job, now=actor.at)
    status_url = f"{_base(request)}/{POLL}/{job.job_id}"
    body = operation_outcome(
        "informational",
        f"export accepted: {sum(f.count for f in files)} resources; status at {status_url}",
        severity="information",
    )
    return FhirResponse(body, status_code=202, headers={"Content-Location": status_url})


@router.get("/$export")
def export_system(request: Request, actor: ActorDep) -> FhirResponse:
    return _kick_off(request, actor, patient_level=False)


@router.get("/Patient/$export")
def export_patients(request: Request, actor: ActorDep) -> FhirResponse:
    return _kick_off(request, actor, patient_level=True)


@router.get(f"/{POLL}/{{job_id}}")
def export_status(request: Request, job_id: str, actor: ActorDep) -> FhirResponse:
    _authorize_export(request, actor, exported_types(_types(request), patient_level=False))
    job = _exports(request).get(job_id, actor.user_id, now=actor.at)
    expires = format_datetime(job.transaction_time + EXPORT_TTL, usegmt=True)
    return FhirResponse(job.manifest(f"{_base(request)}/{FILES}"), headers={"Expires": expires})


@router.delete(f"/{POLL}/{{job_id}}")
def export_delete(request: Request, job_id: str, actor: ActorDep) -> FhirResponse:
    _authorize_export(request, actor, exported_types(_types(request), patient_level=False))
    _exports(request).remove(job_id, actor.user_id, now=actor.at)
    body = operation_outcome(
        "informational", f"export job {job_id} deleted", severity="information"
    )
    return FhirResponse(body, status_code=202)


@router.get(f"/{FILES}/{{job_id}}/{{file_name}}")
def export_file(request: Request, job_id: str, file_name: str, actor: ActorDep) -> Response:
    _authorize_export(request, actor, exported_types(_types(request), patient_level=False))
    job = _exports(request).get(job_id, actor.user_id, now=actor.at)
    found = job.file(file_name.removesuffix(".ndjson")) if file_name.endswith(".ndjson") else None
    if found is None:
        raise FhirError(404, "not-found", f"export job {job_id} has no file {file_name}")
    subject = Subject(verb="fhir.export.download", resource_type="export", resource_id=job_id)
    web_context(request).centre.access.note(actor, subject, "ok")
    return Response(found.body, media_type=NDJSON)


# -- device input -------------------------------------------------------------------------------


@router.post("/Observation")
async def post_observation(request: Request, actor: ActorDep) -> FhirResponse:
    """A vital-signs Observation from a device gateway: the PCD-01 device path."""
    body = await request.body()
    document = device_document(body, actor.username)
    receipt = web_context(request).centre.monitoring.post_observation(actor, document)
    if not receipt.accepted:
        outcome = operation_outcome(
            "processing",
            f"quarantined ({receipt.reason_code}): {receipt.reason or 'not recorded'}",
            expression=MATCHED_BY.get(receipt.field or ""),
        )
        outcome["issue"][0]["details"] = {
            "coding": [{"system": QUARANTINE_REASON, "code": receipt.reason_code or "rejected"}],
            "text": f"quarantine {receipt.quarantine_id}",
        }
        return FhirResponse(outcome, status_code=422)
    duplicate = receipt.outcome == "duplicate"
    alerts = f", alerts {', '.join(receipt.alert_ids)}" if receipt.alert_ids else ""
    message = (
        f"{'already recorded' if duplicate else 'recorded'} in session {receipt.session_id}"
        + ("" if receipt.version is None else f" (version {receipt.version})")
        + alerts
    )
    return FhirResponse(
        operation_outcome("informational", message, severity="information"),
        status_code=200 if duplicate else 201,
    )


# -- read and search ----------------------------------------------------------------------------


@router.get("/Patient/{patient_id}/$everything")
def everything(request: Request, patient_id: str, actor: ActorDep) -> FhirResponse:
    zone = web_context(request).settings.zone
    query = parse_query(request.query_params.multi_items(), (), zone)
    found = compartment(_types(request), _record(request, actor), patient_id, zone)
    path = f"Patient/{patient_id}/$everything"
    return FhirResponse(searchset(_base(request), "Patient", found, query, path=path))


@router.get("/{resource_type}")
def search(request: Request, resource_type: str, actor: ActorDep) -> FhirResponse:
    kind = _resource_type(request, resource_type)
    zone = web_context(request).settings.zone
    query = parse_query(
        request.query_params.multi_items(), kind.params, zone, includes=tuple(kind.includes)
    )
    record = _record(request, actor)
    found = [r for r in kind.fetch(record, query) if matches(query, r)]
    extra = included(
        _types(request), kind, record, page=page_of(found, query), query=query, zone=zone
    )
    return FhirResponse(searchset(_base(request), kind.name, found, query, included=extra))


@router.get("/{resource_type}/{resource_id}")
def read(request: Request, resource_type: str, resource_id: str, actor: ActorDep) -> FhirResponse:
    kind = _resource_type(request, resource_type)
    zone = web_context(request).settings.zone
    for name, _ in request.query_params.multi_items():
        if name != "_format":
            raise FhirError(400, "invalid", f"{name}: a read takes no parameters", expression=name)
    query = parse_query([("_id", resource_id)], kind.params, zone)
    found = [r for r in kind.fetch(_record(request, actor), query) if r["id"] == resource_id]
    if not found:
        raise not_found(kind.name, resource_id)
    return FhirResponse(found[0])


@router.api_route("/{path:path}", methods=OTHER_METHODS)
def not_allowed(path: str) -> FhirResponse:
    raise FhirError(
        405,
        "not-supported",
        "this FHIR interface is read-only (GET), except POST /fhir/Observation",
        headers={"Allow": "GET"},
    )


@router.get("/{path:path}")
def unknown(path: str) -> FhirResponse:
    raise FhirError(404, "not-supported", f"/fhir/{path} is not an interaction served here")
