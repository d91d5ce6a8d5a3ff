"""The worklist page and the patient's REMS / TOUCH ledger page.

``GET /worklist`` lists the centre's open items (``Centre.worklist``) with filters for
therapy, due window and owner, and ``?format=csv`` for the daily digest. From a row a nurse
records the result that closes a lab item (``POST /worklist/record``: the existing
clinical-entry use case, ``ClinicalRecords.record``), assigns the item (``/worklist/assign``)
or closes it with a documented reason (``/worklist/resolve``: ``WorklistUseCases.handle``).
Every post carries the CSRF token and answers with a redirect back to the list (PRG); a
refused one shows the message above the list, nothing stored.

``GET /patients/{id}/ledger`` is the ledger's print view; ``?format=pdf`` is the same as a PDF
(WeasyPrint, ``ui/pdf.py``), ``?format=csv`` the export; ``since``/``until`` choose a period.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.routes_worklist import csv_response, ledger_csv, worklist_csv
from msinfusion.adapters.web.ui import templates
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, require_csrf, to_login
from msinfusion.adapters.web.ui.clinical_forms import item_from_form
from msinfusion.adapters.web.ui.pdf import PdfUnavailable, render_pdf
from msinfusion.application.permissions import Action
from msinfusion.application.worklist import AssignWorklistItem, ResolveWorklistItem
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import InvalidCourseOrder, MsinfusionError

router = APIRouter(include_in_schema=False)

FILTERS = ("therapy", "due_before", "owner")
PAGE_ITEMS = 200
"""Rows per page (overdue first): a centre's whole list is the digest (CSV) or the API."""


def _start(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        raise InvalidCourseOrder("start must be a whole number", field="start") from None


def _day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidCourseOrder(f"{field} must be a date (YYYY-MM-DD)", field=field) from None


def _owner(raw: str | None, viewer: Viewer) -> str | None:
    """``mine``: the viewer's items; ``unassigned``: nobody's; anything else: everyone's."""
    if raw == "mine":
        return viewer.actor.user_id
    return "" if raw == "unassigned" else None


def _error(request: Request, viewer: Viewer, error: MsinfusionError) -> HTMLResponse:
    status, code = classify(error)
    return render(request, "error.html", viewer, status_code=status, code=code, error=error)


def _page(
    request: Request, viewer: Viewer, params: dict[str, str], *, refusal: str | None = None
) -> Response:
    centre = web_context(request).centre
    try:
        start = _start(params.get("start"))
        window = centre.worklist.window(
            viewer.actor,
            therapy_id=params.get("therapy") or None,
            due_before=_day(params.get("due_before"), "due_before"),
            owner=_owner(params.get("owner"), viewer),
        )
        worklist = centre.worklist.list(viewer.actor, window)
    except MsinfusionError as error:
        return _error(request, viewer, error)
    if params.get("format") == "csv":
        return csv_response(worklist_csv(worklist), f"worklist-{worklist.as_of.isoformat()}.csv")
    query = urlencode({k: v for k, v in params.items() if k in FILTERS and v})
    return render(
        request,
        "worklist.html",
        viewer,
        status_code=422 if refusal else 200,
        worklist=worklist,
        shown=worklist.items[start : start + PAGE_ITEMS],
        start=start,
        page_items=PAGE_ITEMS,
        filters=params,
        query=query,
        therapies=sorted(t.id for t in shipped_catalog()),
        may_record=viewer.may(Action.RECORD_CLINICAL),
        may_manage=viewer.may(Action.MANAGE_WORKLIST),
        refusal=refusal,
        done=params.get("done"),
    )


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _page(request, viewer, dict(request.query_params))


async def _posted(request: Request, viewer: Viewer) -> dict[str, str]:
    form = await request.form()
    fields = {key: str(form.getlist(key)[-1]) for key in form}
    require_csrf(request, viewer, fields)
    return fields


def _back(fields: dict[str, str], done: str) -> RedirectResponse:
    query = {k: fields[k] for k in FILTERS if fields.get(k)}
    return RedirectResponse(f"/worklist?{urlencode({**query, 'done': done})}", status_code=303)


@router.post("/worklist/{step}", response_class=HTMLResponse)
async def worklist_step(request: Request, step: str) -> Response:
    """``record`` a lab result, ``assign`` an item or ``resolve`` it with a reason."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    try:
        fields = await _posted(request, viewer)
    except MsinfusionError as error:
        return _error(request, viewer, error)
    centre = web_context(request).centre
    patient_id, item_id = fields.get("patient_id", ""), fields.get("item_id", "")
    try:
        if step == "record":
            item = item_from_form("lab", fields)
            centre.clinical.record(viewer.actor, patient_id, "lab", item)
        elif step == "assign":
            assignee = fields.get("assignee", "")
            centre.worklist.handle(
                viewer.actor,
                AssignWorklistItem(patient_id=patient_id, item_id=item_id, assignee=assignee),
            )
        elif step == "resolve":
            reason = fields.get("reason", "")
            centre.worklist.handle(
                viewer.actor,
                ResolveWorklistItem(patient_id=patient_id, item_id=item_id, reason=reason),
            )
        else:
            return _error(
                request, viewer, InvalidCourseOrder(f"no worklist step {step!r}", field="step")
            )
    except MsinfusionError as error:
        status, _ = classify(error)
        if status in (401, 403):
            return _error(request, viewer, error)
        params = {k: fields[k] for k in FILTERS if fields.get(k)}
        return _page(request, viewer, params, refusal=error.message)
    return _back(fields, step)


@router.get("/patients/{patient_id}/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, patient_id: str) -> Response:
    """The ledger's print view; ``format=pdf`` the PDF evidence report, ``format=csv``."""
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    params = request.query_params
    centre = web_context(request).centre
    try:
        since = _day(params.get("since"), "since")
        until = _day(params.get("until"), "until")
        patient = centre.queries.get_patient(viewer.actor, patient_id)
        ledger = centre.ledger.get(viewer.actor, patient_id, since=since, until=until)
    except MsinfusionError as error:
        return _error(request, viewer, error)
    kind = params.get("format")
    if kind == "csv":
        return csv_response(ledger_csv(ledger), f"ledger-{patient_id}.csv")
    query = urlencode({k: v for k, v in (("since", since), ("until", until)) if v})
    context: dict[str, Any] = {
        "patient": patient,
        "ledger": ledger,
        "query": query,
        "standalone": kind == "pdf",
    }
    page = render(request, "ledger.html", viewer, **context)
    if kind != "pdf":
        return page
    try:
        pdf = render_pdf(bytes(page.body).decode("utf-8"))
    except PdfUnavailable:
        message = "PDF is not available on this server: use the print view (Print, or Save as PDF)."
        return HTMLResponse(
            templates.get_template("_pdf_unavailable.html").render(
                message=message, href=f"/patients/{patient_id}/ledger"
            ),
            status_code=503,
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="ledger-{patient_id}.pdf"'},
    )
