"""Printable records of a session: ``/sessions/{id}/record`` (the infusion record) and
``/sessions/{id}/discharge`` (the discharge summary with the next appointment).

Each is an HTML print view (the page, with a print style sheet); ``?format=pdf`` gives the same
content as a PDF made by WeasyPrint (``ui/pdf.py``), attached for download. Where WeasyPrint
cannot run the PDF answer is a 503 page that says so; the HTML view still prints.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.ui import templates
from msinfusion.adapters.web.ui.access import Viewer, current_viewer, render, to_login
from msinfusion.adapters.web.ui.pdf import PdfUnavailable, render_pdf
from msinfusion.adapters.web.ui.pharmacy_routes import services
from msinfusion.application.infusion_record import InfusionRecord
from msinfusion.errors import MsinfusionError

router = APIRouter(include_in_schema=False)

DOCUMENTS = {"record": "record.html", "discharge": "discharge.html"}


def _read(request: Request, viewer: Viewer, session_id: str) -> InfusionRecord:
    zone = web_context(request).settings.zone
    return services(request).records.get_record(viewer.actor, session_id, display_tz=zone)


def _document(request: Request, viewer: Viewer, kind: str, session_id: str) -> Response:
    try:
        record = _read(request, viewer, session_id)
    except MsinfusionError as error:
        status, code = classify(error)
        return render(request, "error.html", viewer, status_code=status, code=code, error=error)
    context: dict[str, Any] = {"r": record, "kind": kind, "page": "", "standalone": False}
    if request.query_params.get("format") != "pdf":
        return render(request, DOCUMENTS[kind], viewer, **context)
    page = render(request, DOCUMENTS[kind], viewer, **{**context, "standalone": True})
    try:
        pdf = render_pdf(bytes(page.body).decode("utf-8"))
    except PdfUnavailable:
        message = "PDF is not available on this server: use the print view (Print, or Save as PDF)."
        return HTMLResponse(
            templates.get_template("_pdf_unavailable.html").render(
                message=message, href=f"/sessions/{session_id}/{kind}"
            ),
            status_code=503,
        )
    filename = f"{kind}-{session_id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/sessions/{session_id}/record", response_class=HTMLResponse)
def infusion_record(request: Request, session_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _document(request, viewer, "record", session_id)


@router.get("/sessions/{session_id}/discharge", response_class=HTMLResponse)
def discharge_summary(request: Request, session_id: str) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return to_login(request)
    return _document(request, viewer, "discharge", session_id)
