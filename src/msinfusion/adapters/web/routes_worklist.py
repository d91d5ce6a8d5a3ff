"""The centre worklist and the REMS / TOUCH ledger over JSON and CSV.

``GET /api/worklist`` (``therapy``, ``due_before``, ``owner``; ``format=csv`` for the daily
digest), ``POST /api/worklist/actions`` (assign an item, or resolve it with a documented
reason: ``WorklistUseCases.handle``), ``GET /api/patients/{id}/ledger`` (``since``, ``until``;
``format=csv``). Routes only parse and format: the typed read models come from the service
layer (``Centre.worklist``, ``Centre.ledger``); docs/api.md, "Worklist and ledger".
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import Id, IsoDate, Note
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.application.ledger import LedgerRow, PatientLedger
from msinfusion.application.worklist import (
    AssignWorklistItem,
    ResolveWorklistItem,
    Worklist,
    WorklistCommand,
)
from msinfusion.application.worklist_items import WorklistItem
from msinfusion.application.worklist_records import WorklistAction

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

Format = Literal["json", "csv"]

WORKLIST_COLUMNS = (
    "patient_id",
    "patient_name",
    "therapy_id",
    "order_id",
    "item_id",
    "kind",
    "title",
    "due",
    "status",
    "owner",
    "detail",
    "source",
    "verified",
)
LEDGER_COLUMNS = (
    "programme",
    "rule_id",
    "requirement",
    "order_id",
    "dose_number",
    "due",
    "status",
    "answer",
    "occurred_on",
    "recorded_by",
    "recorded_at",
    "entry_id",
    "source",
    "grade",
    "verified",
)
"""The CSV columns: contracts (the golden files in tests pin them)."""


def item_to_dict(item: WorklistItem, owner_name: str = "") -> dict[str, Any]:
    return {
        "patient_id": item.patient_id,
        "patient_name": item.patient_name,
        "therapy_id": item.therapy_id,
        "order_id": item.order_id,
        "item_id": item.id,
        "kind": item.kind.value,
        "title": item.title,
        "due": item.due.isoformat(),
        "status": item.status.value,
        "owner": item.owner,
        "owner_name": owner_name,
        "detail": item.detail,
        "test": item.test,
        "fillable": item.fillable,
        "missed": item.missed,
        "source": item.source,
        "sources": list(item.sources),
        "verified": item.verified,
    }


def worklist_to_dict(worklist: Worklist) -> dict[str, Any]:
    return {
        "as_of": worklist.as_of.isoformat(),
        "due_before": worklist.due_before.isoformat(),
        "therapy": worklist.therapy_id,
        "owner": worklist.owner,
        "patients": worklist.patients,
        "items": [item_to_dict(i, worklist.name_of(i.owner)) for i in worklist.items],
        "problems": list(worklist.problems),
    }


def _cell(value: object) -> object:
    """A CSV cell: empty for null, ``true``/``false`` for booleans (as the JSON)."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else value


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue()


def worklist_csv(worklist: Worklist) -> str:
    """The daily digest: one line per open item, overdue first."""
    return _csv(WORKLIST_COLUMNS, [item_to_dict(i) for i in worklist.items])


def ledger_row_to_dict(row: LedgerRow) -> dict[str, Any]:
    return {
        "programme": row.programme,
        "rule_id": row.rule_id,
        "requirement": row.requirement,
        "order_id": row.order_id,
        "dose_number": row.dose_number,
        "due": None if row.due is None else row.due.isoformat(),
        "status": row.status.value,
        "answer": row.answer,
        "occurred_on": None if row.occurred_on is None else row.occurred_on.isoformat(),
        "recorded_by": row.recorded_by,
        "recorded_at": None if row.recorded_at is None else row.recorded_at.isoformat(),
        "entry_id": row.entry_id,
        "source": row.source,
        "grade": row.grade,
        "verified": row.verified,
        "answers": None if row.answers is None else dict(row.answers),
    }


def ledger_to_dict(ledger: PatientLedger) -> dict[str, Any]:
    return {
        "patient_id": ledger.patient_id,
        "as_of": ledger.as_of.isoformat(),
        "since": None if ledger.since is None else ledger.since.isoformat(),
        "until": None if ledger.until is None else ledger.until.isoformat(),
        "jurisdiction": ledger.jurisdiction,
        "rows": [ledger_row_to_dict(r) for r in ledger.rows],
        "problems": list(ledger.problems),
    }


def ledger_csv(ledger: PatientLedger) -> str:
    return _csv(LEDGER_COLUMNS, [ledger_row_to_dict(r) for r in ledger.rows])


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _json_or_csv(description: str) -> dict[int | str, dict[str, Any]]:
    """The documented 200 of a route that answers JSON or, with ``format=csv``, CSV."""
    return {
        200: {
            "description": description,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }


@router.get(
    "/worklist",
    tags=["worklist"],
    response_model=None,
    responses=_json_or_csv("The worklist as JSON, or with format=csv the daily digest"),
)
def get_worklist(
    request: Request,
    actor: ActorDep,
    *,
    therapy: Annotated[Id | None, Query(description="A therapy id, e.g. alemtuzumab")] = None,
    due_before: Annotated[
        IsoDate | None, Query(description="Items due on or before (default: 4 weeks ahead)")
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=100, description="A user id; empty: unassigned only")
    ] = None,
    format: Annotated[Format, Query(description="json, or csv: the daily digest")] = "json",
) -> dict[str, Any] | Response:
    """Every active patient's open items: labs and MRIs due or overdue, gates missing for the
    next dose, doses due and not booked, abnormal results not reviewed, re-authorisations."""
    use_cases = web_context(request).centre.worklist
    window = use_cases.window(actor, therapy_id=therapy, due_before=due_before, owner=owner)
    worklist = use_cases.list(actor, window)
    if format == "csv":
        return csv_response(worklist_csv(worklist), f"worklist-{worklist.as_of.isoformat()}.csv")
    # Plain JSON types already: answered as is (FastAPI's generic encoder would walk 10^5 values).
    return JSONResponse(worklist_to_dict(worklist))


class WorklistActionIn(BaseModel):
    """Assign an item to a person, or resolve it with a documented reason."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["assign", "resolve"]
    patient_id: Id
    item_id: Annotated[str, Field(min_length=1, max_length=200)]
    assignee: Id | None = None
    note: Note | None = None
    reason: Note | None = None


def command_of(body: WorklistActionIn) -> WorklistCommand:
    """The typed command of a request body (fields named as the body's)."""
    if body.action == "assign":
        return AssignWorklistItem(
            patient_id=body.patient_id,
            item_id=body.item_id,
            assignee=body.assignee or "",
            note=body.note,
        )
    return ResolveWorklistItem(
        patient_id=body.patient_id, item_id=body.item_id, reason=body.reason or ""
    )


def action_to_dict(action: WorklistAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "patient_id": action.patient_id,
        "item_id": action.item_id,
        "kind": action.kind.value,
        "assignee": action.assignee,
        "reason": action.reason,
        "recorded_at": action.recorded_at.isoformat(),
        "recorded_by": action.recorded_by,
    }


@router.post("/worklist/actions", tags=["worklist"], status_code=201)
def post_worklist_action(
    request: Request, actor: ActorDep, body: WorklistActionIn
) -> dict[str, Any]:
    """Store one decision (audited). An item that is not open today is 404 ``item_id``."""
    action = web_context(request).centre.worklist.handle(actor, command_of(body))
    return action_to_dict(action)


@router.get(
    "/patients/{patient_id}/ledger",
    tags=["worklist"],
    response_model=None,
    responses=_json_or_csv("The REMS / TOUCH ledger as JSON, or with format=csv as CSV"),
)
def get_ledger(
    request: Request,
    actor: ActorDep,
    patient_id: PathId,
    *,
    since: Annotated[IsoDate | None, Query(description="Rows dated on or after")] = None,
    until: Annotated[IsoDate | None, Query(description="Rows dated on or before")] = None,
    format: Annotated[Format, Query(description="json or csv")] = "json",
) -> dict[str, Any] | Response:
    """The patient's REMS / TOUCH ledger: every requirement per dose, with who and when."""
    ledger = web_context(request).centre.ledger.get(actor, patient_id, since=since, until=until)
    if format == "csv":
        return csv_response(ledger_csv(ledger), f"ledger-{patient_id}.csv")
    return ledger_to_dict(ledger)
