"""``msinfusion course ...`` and ``msinfusion risk ...``: treatment calendars, checks, PML risk.

Exit codes: 0 success, 2 bad input (unknown therapy or option, bad date, unreadable or malformed
file, a dose given before its earliest date), 3 ``course check`` found a mandatory gate that
blocks the next dose (the report is still printed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from msinfusion.entrypoints.common import EXIT_REFUSED, OutputFormat, fail, parse_date
from msinfusion.errors import MsinfusionError

if TYPE_CHECKING:
    from msinfusion.planning.courses import CourseCalendar

course_app = typer.Typer(
    help="Treatment courses: dose calendars (table, JSON, iCalendar) and patient checks.",
    no_args_is_help=True,
    add_completion=False,
)
risk_app = typer.Typer(
    help="Risk calculators: natalizumab PML risk.", no_args_is_help=True, add_completion=False
)
console = Console()


@risk_app.callback()
def risk_main() -> None:
    """Risk calculators from the dossiers' published tables, with their sources."""


class CalendarFormat(StrEnum):
    """``OutputFormat`` plus ``ics``: a calendar is also an iCalendar file (RFC 5545)."""

    table = "table"
    json = "json"
    ics = "ics"


def _parse_options(values: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            fail(f"--option: '{item}' is not KEY=VALUE (e.g. interval=6w)")
        options[key.strip()] = value.strip()
    return options


def _calendar_table(calendar: CourseCalendar) -> Table:
    title = f"{calendar.therapy_id} from {calendar.start.isoformat()}"
    table = Table(title=("OFF-LABEL - " if calendar.off_label else "") + title)
    for column in ("#", "protocol", "dose", "earliest", "due", "latest", "status"):
        table.add_column(column)
    for d in calendar.doses:
        table.add_row(
            str(d.dose_number),
            d.protocol_id,
            d.dose,
            d.earliest.isoformat(),
            d.due.isoformat(),
            d.latest.isoformat(),
            d.status.value,
        )
    return table


@course_app.command("plan")
def plan_command(
    therapy: Annotated[str, typer.Argument(help="therapy id, e.g. ocrelizumab, natalizumab")],
    start: Annotated[str, typer.Option(help="first dose date, ISO (2026-01-05)")],
    option: Annotated[
        list[str] | None, typer.Option("--option", help="KEY=VALUE, repeatable (doses=8)")
    ] = None,
    fmt: Annotated[CalendarFormat, typer.Option("--format", help="table, json or ics")] = (
        CalendarFormat.table
    ),
) -> None:
    """The dated dose calendar of a course, with earliest / due / latest windows."""
    from msinfusion.planning.course_plan import plan_course  # noqa: PLC0415  # slow import
    from msinfusion.planning.course_views import calendar_to_dict  # noqa: PLC0415  # slow import
    from msinfusion.planning.courses import CourseOrder  # noqa: PLC0415  # slow import
    from msinfusion.planning.icalendar import course_to_ics  # noqa: PLC0415  # slow import

    order = CourseOrder.create(
        therapy_id=therapy,
        start=parse_date(start, "--start", example="2026-01-05"),
        options=_parse_options(option or []),
    )
    try:
        calendar = plan_course(order)
    except MsinfusionError as error:
        fail(error.message)
    if fmt is CalendarFormat.json:
        typer.echo(json.dumps(calendar_to_dict(calendar), indent=2))
    elif fmt is CalendarFormat.ics:
        typer.echo(course_to_ics(calendar, stamp=datetime.now(UTC)), nl=False)
    else:
        console.print(_calendar_table(calendar))
        for note in calendar.notes:
            console.print(f"- {note}", soft_wrap=True)


@course_app.command("check")
def check_command(
    patient_file: Annotated[Path, typer.Argument(help="JSON: as_of, order, patient")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = (
        OutputFormat.table
    ),
) -> None:
    """Calendar, gates for the next dose, monitoring flags and risks for one patient."""
    from msinfusion.planning.course_check import check_from_dict, course_check_to_dict  # noqa: PLC0415  # slow import

    try:
        raw = json.loads(patient_file.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read {patient_file}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail(f"{patient_file} is not valid JSON: {error.msg} (line {error.lineno})")
    try:
        check = check_from_dict(raw)
    except MsinfusionError as error:
        fail(error.message)
    view = course_check_to_dict(check)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(view, indent=2))
    else:
        console.print(_calendar_table(check.calendar))
        gates = Table(title="Gates for the next dose")
        for column in ("gate", "status", "blocks", "reason"):
            gates.add_column(column)
        for g in view["gates"]:
            gates.add_row(g["gate_id"], g["status"], "yes" if g["blocks"] else "", g["reason"])
        console.print(gates)
        for kind in ("overdue", "abnormal"):
            for slot in view["flags"][kind]:
                console.print(f"{kind.upper()}: {slot['title']} due {slot['due']}")
    if check.blocked:
        blocked = ", ".join(g["gate_id"] for g in view["gates"] if g["blocks"])
        fail(f"next dose blocked by mandatory gates: {blocked}", EXIT_REFUSED)


def _yes_no(value: str, option: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("yes", "no"):
        fail(f"{option}: '{value}' must be yes or no")
    return lowered == "yes"


@risk_app.command("pml")
def pml_command(
    months: Annotated[int, typer.Option(help="months on natalizumab (0-72)")],
    prior_immunosuppressant: Annotated[str, typer.Option(help="yes or no")],
    jcv_index: Annotated[str | None, typer.Option(help="anti-JCV index (STRATIFY)")] = None,
    jcv_status: Annotated[
        str | None, typer.Option(help="positive or negative (default: positive if an index)")
    ] = None,
    assay: Annotated[str, typer.Option(help="assay of the index")] = "STRATIFY JCV DxSelect",
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = (
        OutputFormat.table
    ),
) -> None:
    """Natalizumab PML risk per 1000 from the dossier's published table, with its source."""
    from msinfusion.planning.course_views import pml_to_dict  # noqa: PLC0415  # slow import
    from msinfusion.planning.risk import pml_risk  # noqa: PLC0415  # slow import

    prior = _yes_no(prior_immunosuppressant, "--prior-immunosuppressant")
    index = None
    if jcv_index is not None:
        try:
            index = Decimal(jcv_index)
        except InvalidOperation:
            fail(f"--jcv-index: '{jcv_index}' is not a number")
        if not index.is_finite():
            fail(f"--jcv-index: '{jcv_index}' is not a finite number")
    status = jcv_status
    if status not in ("positive", "negative", None) or (status is None and index is None):
        fail("--jcv-status: give positive or negative, or an --jcv-index (read by its cut-offs)")
    try:
        risk = pml_risk(
            jcv_positive=None if status is None else status == "positive",
            index=index,
            assay=assay,
            prior_immunosuppressant=prior,
            months=months,
        )
    except MsinfusionError as error:
        fail(error.message)
    view = pml_to_dict(risk)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(view, indent=2))
        return
    shown = "beyond the table" if view["risk_per_1000"] is None else f"~{view['risk_per_1000']}"
    console.print(
        f"PML risk: {shown} per 1000 ({risk.row}, index {risk.index_band}, {risk.months_band})"
    )
    console.print(f"Source: {view['source']}", soft_wrap=True)
    console.print(risk.note, style="dim", soft_wrap=True)
