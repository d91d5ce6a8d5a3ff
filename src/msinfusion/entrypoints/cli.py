"""The ``msinfusion`` command line: catalog browsing and validation, infusion plans.

Exit codes: 0 success, 1 a file failed validation, 2 bad input (unknown id, bad time, bad flag).
Output for people is a Rich table; ``--format json`` is the stable view for integrations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from msinfusion.entrypoints.audit_cli import audit_app
from msinfusion.entrypoints.common import EXIT_INVALID_FILE, OutputFormat, fail, parse_time
from msinfusion.entrypoints.course_cli import course_app, risk_app
from msinfusion.entrypoints.db_cli import db_app
from msinfusion.entrypoints.monitoring_cli import mllp_listen, monitors_app
from msinfusion.entrypoints.pharmacology_cli import simulate_command, tdm_command
from msinfusion.entrypoints.pumps_cli import drug_library_command, pumps_app
from msinfusion.entrypoints.schedule_cli import schedule_app
from msinfusion.entrypoints.server_cli import server_app, users_app
from msinfusion.entrypoints.session_cli import session_app
from msinfusion.errors import InvalidTherapyFile, MsinfusionError

app = typer.Typer(
    name="msinfusion",
    help="IV disease-modifying therapy for MS: catalog, infusion plans, infusion sessions. "
    "Supports clinicians; the current label and the prescriber have the last word.",
    no_args_is_help=True,
    add_completion=False,
)
catalog_app = typer.Typer(
    help="The therapy catalog: list, show, validate, schema.", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")
app.add_typer(session_app, name="session")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(course_app, name="course")
app.add_typer(risk_app, name="risk")
app.add_typer(schedule_app, name="schedule")
app.add_typer(users_app, name="users")
app.command("mllp-listen")(mllp_listen)
app.add_typer(monitors_app, name="monitors")
app.add_typer(pumps_app, name="pumps")
catalog_app.command("drug-library")(drug_library_command)
app.registered_commands += server_app.registered_commands  # msinfusion serve, msinfusion demo
app.command("simulate")(simulate_command)
app.command("tdm")(tdm_command)

console = Console()


@catalog_app.command("list")
def catalog_list(
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
) -> None:
    """List every therapy and protocol in the catalog."""
    from msinfusion.catalog import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.entrypoints import render  # noqa: PLC0415  # slow import

    catalog = shipped_catalog()
    if output is OutputFormat.json:
        typer.echo(json.dumps(render.catalog_summary(catalog), indent=2))
        return
    console.print(render.catalog_table(catalog))
    console.print(render.DISCLAIMER, style="dim", soft_wrap=True)


@catalog_app.command("show")
def catalog_show(
    protocol_id: Annotated[
        str, typer.Argument(help="a protocol id, e.g. ocrelizumab-600-standard")
    ],
) -> None:
    """Show one protocol with every number and its source."""
    from msinfusion.catalog import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.entrypoints import render  # noqa: PLC0415  # slow import

    catalog = shipped_catalog()
    try:
        protocol = catalog.get_protocol(protocol_id)
    except MsinfusionError as exc:
        fail(exc.message)
    console.print(render.protocol_panel(protocol, catalog.therapy_of(protocol)))


@catalog_app.command("validate")
def catalog_validate(
    paths: Annotated[list[Path], typer.Argument(help="therapy TOML files to check")],
) -> None:
    """Run the catalog's checks on files a pharmacist is editing."""
    from msinfusion.catalog.loader import load_therapy_file  # noqa: PLC0415  # slow import

    failed = False
    for path in paths:
        try:
            therapy = load_therapy_file(path)
        except InvalidTherapyFile as exc:
            failed = True
            typer.echo(f"invalid {path}", err=True)
            for field, reason in exc.problems:
                typer.echo(f"  {field}: {reason}", err=True)
            continue
        ids = ", ".join(p.id for p in therapy.protocols)
        console.print(f"[green]valid[/] {path}: {therapy.id} ({ids})", highlight=False)
    if failed:
        raise typer.Exit(EXIT_INVALID_FILE)


@catalog_app.command("schema")
def catalog_schema() -> None:
    """Print the JSON Schema of a therapy file, for protocol authors."""
    from msinfusion.catalog.schema import therapy_file_json_schema  # noqa: PLC0415  # slow import

    typer.echo(json.dumps(therapy_file_json_schema(), indent=2))


@app.command("plan")
def plan(
    protocol_id: Annotated[str, typer.Argument(help="a protocol id, e.g. ocrelizumab-300-initial")],
    start: Annotated[str, typer.Option("--start", help="drug start, ISO 8601 with offset")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
    dose_number: Annotated[
        int | None, typer.Option("--dose-number", help="the patient's infusion number")
    ] = None,
    height_cm: Annotated[float | None, typer.Option("--height-cm", help="for mg/m2 doses")] = None,
    weight_kg: Annotated[float | None, typer.Option("--weight-kg", help="for mg/m2 doses")] = None,
    bag_volume_ml: Annotated[
        float | None, typer.Option("--bag-volume-ml", help="volume actually prepared")
    ] = None,
    course_day: Annotated[
        int | None, typer.Option("--course-day", help="day within a course (alemtuzumab)")
    ] = None,
) -> None:
    """Print the exact plan of one infusion: premedications, rate steps, end, observation."""
    from msinfusion.catalog import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.entrypoints import render  # noqa: PLC0415  # slow import
    from msinfusion.planning import plan_infusion  # noqa: PLC0415  # slow import

    start_at = parse_time(start, "--start")
    try:
        protocol = shipped_catalog().get_protocol(protocol_id)
        infusion_plan = plan_infusion(
            protocol,
            start_at,
            dose_number=dose_number,
            height_cm=height_cm,
            weight_kg=weight_kg,
            bag_volume_ml=bag_volume_ml,
            course_day=course_day,
        )
    except MsinfusionError as exc:
        fail(exc.message)
    if output is OutputFormat.json:
        typer.echo(json.dumps(infusion_plan.to_json_dict(), indent=2))
        return
    render.print_plan(console, infusion_plan, protocol)


def main() -> None:
    app(prog_name="msinfusion")


if __name__ == "__main__":  # pragma: no cover
    main()
