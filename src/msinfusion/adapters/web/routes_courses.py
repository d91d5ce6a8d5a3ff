"""Treatment courses and risk: an order's dose calendar (JSON or iCalendar), a patient's course
check, the natalizumab PML calculator. Routes only call the application layer."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import IsoDate
from msinfusion.adapters.web.models_planning import CourseCheckIn
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning.course_check import course_check_to_dict
from msinfusion.planning.course_views import calendar_to_dict, pml_to_dict

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

ICS_MEDIA_TYPE = "text/calendar"
_CALENDAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The calendar: JSON (``doses`` with earliest/due/latest) or iCalendar",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            ICS_MEDIA_TYPE: {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "/orders/{order_id}/calendar",
    tags=["courses"],
    response_class=Response,
    responses=_CALENDAR_RESPONSES,
)
def order_calendar(
    request: Request,
    actor: ActorDep,
    order_id: PathId,
    fmt: Annotated[Literal["json", "ics"], Query(alias="format")] = "json",
    as_of: Annotated[
        IsoDate | None, Query(description="Mark doses given/due/overdue as of this day")
    ] = None,
) -> Response:
    """The order's dated dose calendar, with earliest / due / latest windows per dose."""
    courses = web_context(request).centre.courses
    if fmt == "ics":
        text = courses.get_calendar_ics(actor, order_id, as_of=as_of)
        return Response(text, media_type=ICS_MEDIA_TYPE)
    calendar = courses.get_calendar(actor, order_id, as_of=as_of)
    return JSONResponse(calendar_to_dict(calendar))


@router.post("/patients/{patient_id}/course-check", tags=["courses"])
def course_check(
    request: Request, actor: ActorDep, patient_id: PathId, body: CourseCheckIn
) -> dict[str, Any]:
    """Calendar, the gates of the next dose (``blocked``), monitoring flags and risks."""
    check = web_context(request).centre.courses.check(actor, patient_id, body.to_check_file())
    return course_check_to_dict(check)


@router.get("/risk/pml", tags=["risk"])
def pml(
    request: Request,
    actor: ActorDep,
    *,
    months: Annotated[int, Query(ge=0, le=600, description="Months on natalizumab")],
    prior_immunosuppressant: Annotated[bool, Query()],
    jcv_status: Annotated[
        Literal["positive", "negative"] | None,
        Query(description="Default: positive when jcv_index is given"),
    ] = None,
    jcv_index: Annotated[Decimal | None, Query(ge=0, le=100, max_digits=6)] = None,
    assay: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9 ._()-]+$")] = None,
) -> dict[str, Any]:
    """Natalizumab PML risk per 1000 from the dossier's published table, with its source."""
    status = jcv_status
    if status is None and jcv_index is None:
        raise InvalidCourseOrder(
            "give jcv_status (positive or negative) or a jcv_index", field="jcv_status"
        )
    risk = web_context(request).centre.courses.pml(
        actor,
        jcv_positive=None if status is None else status == "positive",
        index=jcv_index,
        prior_immunosuppressant=prior_immunosuppressant,
        months=months,
        assay=assay,
    )
    return pml_to_dict(risk)
