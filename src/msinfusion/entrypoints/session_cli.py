"""``msinfusion session ...``: replay a JSON command file, simulate a planned infusion.

Exit codes: 0 success, 2 malformed input (unreadable file, bad JSON, unknown command or field,
bad time, unknown protocol for ``simulate``), 3 a command refused by a safety rule (the first
refusal is printed with its rule and reason).
"""

from __future__ import annotations

import json
from datetime import UTC, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from msinfusion.entrypoints.common import EXIT_REFUSED, OutputFormat, fail, parse_time
from msinfusion.errors import CommandRefused, InvalidCommand, MsinfusionError

if TYPE_CHECKING:
    from msinfusion.session.commands import Command
    from msinfusion.session.queries import SessionView
    from msinfusion.session.simulate import ScriptedReaction

session_app = typer.Typer(
    help="Infusion sessions: replay a JSON command file, simulate a planned infusion.",
    no_args_is_help=True,
    add_completion=False,
)


def _display_tz(data: object) -> tzinfo:
    """The offset the file's first command was written in: the centre's clock for display."""
    from msinfusion.clinical_time import read_aware_datetime  # noqa: PLC0415  # slow import

    if isinstance(data, list) and data and isinstance(data[0], dict):
        try:
            zone = read_aware_datetime(data[0].get("at"), "at").tzinfo
        except InvalidCommand:
            return UTC
        if zone is not None:
            return zone
    return UTC


def _read_commands(path: Path) -> tuple[list[Command], tzinfo]:
    from msinfusion.session.interchange import commands_from_json  # noqa: PLC0415  # slow import

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail(f"{path} is not valid JSON: {error.msg} (line {error.lineno})")
    try:
        return commands_from_json(data), _display_tz(data)
    except InvalidCommand as error:
        fail(error.message)


def _refused(index: int, command: Command, error: CommandRefused, fmt: OutputFormat) -> NoReturn:
    name = type(command).__name__
    if fmt is OutputFormat.json:
        refusal = {"index": index, "command": name, "at": command.at.isoformat()}
        refusal |= {"rule": error.rule, "reason": error.reason}
        typer.echo(json.dumps({"refused": refusal}, indent=2))
    where = f"command {index} ({name} at {command.at.isoformat()})"
    fail(f"{where} refused: {error.rule}: {error.reason}", EXIT_REFUSED)


@session_app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="JSON list of session commands.")],
    at: Annotated[
        str | None, typer.Option(help="ISO time to show (default: last command).")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """Replay FILE's commands through the engine and print the state (or the first refusal)."""
    when = None if at is None else parse_time(at, "--at")
    commands, display_tz = _read_commands(file)
    if when is not None and when.tzinfo is not None:
        display_tz = when.tzinfo
    from msinfusion.bootstrap import MEMORY, build_session_service  # noqa: PLC0415

    service = build_session_service(MEMORY)
    session_id = service.create_session()
    for index, command in enumerate(commands, start=1):
        try:
            service.handle(session_id, command, expected_version=service.get_version(session_id))
        except CommandRefused as error:
            _refused(index, command, error, fmt)
        except MsinfusionError as error:
            fail(f"command {index}: {error.message}")
    if when is None and commands:
        when = max(c.at for c in commands)  # entries may come in any order of time
    _print_view(service.get_view(session_id, when, display_tz=display_tz), fmt)


def _parse_reaction(text: str) -> ScriptedReaction:
    from msinfusion.catalog.model import Severity  # noqa: PLC0415  # slow import
    from msinfusion.session.simulate import ScriptedReaction  # noqa: PLC0415  # slow import

    minute, _, severity = text.partition(":")
    try:
        return ScriptedReaction(
            minute=Fraction(minute.strip()), severity=Severity(severity.strip())
        )
    except ValueError:
        fail(f"--reaction must be MINUTE:SEVERITY (e.g. 75:moderate), got {text!r}")


@session_app.command("simulate")
def simulate_command(
    protocol_id: Annotated[str, typer.Argument(help="Protocol id, e.g. ocrelizumab-600-standard.")],
    start: Annotated[str, typer.Option(help="Drug start, ISO 8601 with offset.")],
    reaction: Annotated[
        list[str] | None,
        typer.Option(
            help="MINUTE:SEVERITY after the start (mild|moderate|severe|life-threatening)."
        ),
    ] = None,
    dose_number: Annotated[
        int | None, typer.Option(help="Infusion number on this therapy.")
    ] = None,
    course_day: Annotated[int | None, typer.Option(help="Day of the course (alemtuzumab).")] = None,
    height_cm: Annotated[float | None, typer.Option(help="For BSA-based doses.")] = None,
    weight_kg: Annotated[float | None, typer.Option(help="For BSA-based doses.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """Show how a planned infusion unfolds if the nurse follows every prompt."""
    from msinfusion.catalog.registry import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.session.interchange import command_to_dict  # noqa: PLC0415  # slow import
    from msinfusion.session.queries import view_at  # noqa: PLC0415  # slow import
    from msinfusion.session.simulate import simulate  # noqa: PLC0415  # slow import

    start_at = parse_time(start, "--start")
    reactions = [_parse_reaction(text) for text in reaction or []]
    try:
        protocol = shipped_catalog().get_protocol(protocol_id)
    except MsinfusionError as error:
        fail(error.message)
    try:
        result = simulate(
            protocol,
            start_at,
            reactions,
            dose_number=dose_number,
            course_day=course_day,
            height_cm=None if height_cm is None else Fraction(str(height_cm)),
            weight_kg=None if weight_kg is None else Fraction(str(weight_kg)),
        )
    except CommandRefused as error:
        fail(f"the simulated session was refused: {error.rule}: {error.reason}", EXIT_REFUSED)
    except MsinfusionError as error:
        fail(error.message)
    view = view_at(result.events, protocol, None, display_tz=start_at.tzinfo or UTC)
    extra = {"commands": [command_to_dict(c) for c in result.commands]}
    _print_view(view, fmt, extra)


def _print_view(view: SessionView, fmt: OutputFormat, extra: dict[str, Any] | None = None) -> None:
    data = view.to_json_dict()
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data | (extra or {}), indent=2))
        return
    console = Console()
    summary = Table(title=f"Session at {data['at']}", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    for key in (
        "status",
        "protocol_id",
        "rate_ml_per_h",
        "volume_infused_ml",
        "dose_delivered_mg",
        "remaining_volume_ml",
        "projected_infusion_end",
        "projected_chair_release",
        "therapy_contraindicated",
        "events",
    ):
        summary.add_row(key, str(data[key]))
    console.print(summary)
    if data["due"]:
        due = Table(title="Due next")
        for column in ("action", "at", "detail"):
            due.add_column(column)
        for item in data["due"]:
            due.add_row(item["action"], str(item["at"]), item["detail"])
        console.print(due)
    for warning in data["warnings"]:
        console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    timeline = Table(title="Timeline")
    timeline.add_column("entry")
    for line in data["timeline"]:
        timeline.add_row(line)
    console.print(timeline)
