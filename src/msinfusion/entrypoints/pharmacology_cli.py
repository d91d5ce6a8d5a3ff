"""``msinfusion simulate`` and ``msinfusion tdm``: PK/PD simulation and natalizumab TDM.

The pharmacology core (numpy/scipy) is imported inside the commands so that the rest of the
CLI starts fast. Exit codes: 0 success, 2 bad input (unknown therapy, unreadable file, bad
interval). Progress of population runs goes to stderr, so ``--format json|csv`` stdout is clean.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from msinfusion.entrypoints.common import OutputFormat, fail, parse_time
from msinfusion.errors import MsinfusionError

if TYPE_CHECKING:
    from msinfusion.catalog.model import Interval
    from msinfusion.pharmacology.report import SimulationReport
    from msinfusion.pharmacology.tdm import TdmResult

pharmacology_app = typer.Typer(
    help="PK/PD simulation of infused MS therapies and natalizumab TDM.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
_DAYS_PER_YEAR = 365.25


class SimulateFormat(StrEnum):
    """common.OutputFormat (table, json) plus csv and parquet, which only ``simulate`` writes."""

    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


def parse_interval(text: str) -> Interval:
    match = re.fullmatch(r"\s*(\d+)\s*([dwm])\s*", text.lower())
    if match is None or int(match.group(1)) <= 0:
        fail(f"--interval: '{text}' is not a positive interval like 28d, 6w or 6m")
    from msinfusion.catalog.model import Interval, IntervalUnit  # noqa: PLC0415  # slow import

    units = {"d": IntervalUnit.DAY, "w": IntervalUnit.WEEK, "m": IntervalUnit.MONTH}
    return Interval(value=int(match.group(1)), unit=units[match.group(2)])


def _read_json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"{option}: cannot read {path}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail(f"{option}: {path} is not valid JSON: {error.msg} (line {error.lineno})")


@pharmacology_app.command("simulate")
def simulate_command(
    therapy: Annotated[
        str, typer.Argument(help="ocrelizumab, ublituximab, rituximab, natalizumab or alemtuzumab")
    ],
    regimen: Annotated[
        Path | None,
        typer.Option(
            help="JSON of planned infusions and/or recorded sessions (default: catalog regimen)"
        ),
    ] = None,
    interval: Annotated[
        str | None, typer.Option(help="maintenance interval, e.g. 6w, 28d, 6m")
    ] = None,
    weight: Annotated[float | None, typer.Option(help="body weight in kg")] = None,
    ada: Annotated[
        bool, typer.Option(help="persistent anti-drug antibodies (natalizumab)")
    ] = False,
    patients: Annotated[int, typer.Option(help="virtual patients (0: typical only)")] = 0,
    years: Annotated[float, typer.Option(help="simulated years")] = 2.0,
    seed: Annotated[int, typer.Option(help="random seed of the population")] = 0,
    start: Annotated[
        str | None, typer.Option(help="day 0 of the catalog regimen, ISO 8601")
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="ug/mL for time-below-threshold")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a .png or .svg plot")] = None,
    fmt: Annotated[
        SimulateFormat, typer.Option("--format", help="table, json, csv or parquet")
    ] = SimulateFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", help="file for --format parquet (binary)")
    ] = None,
) -> None:
    """Simulate concentrations and effects for a typical patient or a virtual population."""
    if fmt is SimulateFormat.parquet and output is None:
        fail("--format parquet needs --output FILE.parquet (it is a binary file)")
    from msinfusion.catalog.registry import shipped_catalog  # noqa: PLC0415 - lazy: keeps CLI start-up fast
    from msinfusion.pharmacology.inputs import schedule_from_document  # noqa: PLC0415 - lazy: keeps CLI start-up fast
    from msinfusion.pharmacology.regimen import standard_regimen  # noqa: PLC0415 - lazy: keeps CLI start-up fast

    if patients < 0 or years <= 0 or (weight is not None and weight <= 0):
        fail("--patients must be >= 0, --years and --weight > 0")
    every = None if interval is None else parse_interval(interval)
    end_day = years * _DAYS_PER_YEAR
    try:
        catalog = shipped_catalog()
        if regimen is not None:
            schedule = schedule_from_document(_read_json(regimen, "--regimen"), catalog)
        else:
            origin = parse_time(start, "--start") if start else _today_0900()
            end = origin + timedelta(days=end_day)
            schedule = standard_regimen(
                therapy, catalog=catalog, origin=origin, end=end, interval=every
            )
        report = _run(therapy, schedule, end_day, weight, ada, patients, seed, threshold)
        if plot is not None:
            from msinfusion.pharmacology.plot import save_plot  # noqa: PLC0415 - lazy: keeps CLI start-up fast

            save_plot(report, plot)
    except MsinfusionError as error:
        fail(error.message)
    if fmt is SimulateFormat.parquet:
        assert output is not None  # checked above
        write_parquet(report, output)
        typer.echo(f"wrote {output}")
        return
    _print_report(report, fmt)


def _today_0900() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=9, minute=0, second=0, microsecond=0)


def _run(
    therapy: str,
    schedule: Any,
    end_day: float,
    weight: float | None,
    ada: bool,
    patients: int,
    seed: int,
    threshold: float | None,
) -> SimulationReport:
    from rich.progress import Progress  # noqa: PLC0415 - lazy: keeps CLI start-up fast

    from msinfusion.pharmacology.report import simulate  # noqa: PLC0415 - lazy: keeps CLI start-up fast

    if patients == 0:
        return simulate(
            therapy,
            schedule,
            end_day=end_day,
            weight_kg=weight,
            ada=ada,
            threshold_ug_per_ml=threshold,
        )
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(f"{patients} virtual patients", total=patients)
        return simulate(
            therapy,
            schedule,
            end_day=end_day,
            weight_kg=weight,
            ada=ada,
            n_patients=patients,
            seed=seed,
            threshold_ug_per_ml=threshold,
            progress=lambda done: bar.update(task, completed=done),
        )


def write_parquet(report: SimulationReport, path: Path) -> None:
    """The CSV time course as a Parquet table (float64 columns), via pyarrow."""
    import pyarrow as pa  # noqa: PLC0415 - lazy: only Parquet output needs it
    import pyarrow.parquet as pq  # noqa: PLC0415

    header, columns = report.time_course_columns()
    table = pa.table(
        {
            name: pa.array(values, type=pa.float64())
            for name, values in zip(header, columns, strict=True)
        }
    )
    pq.write_table(table, path)


def _print_report(report: SimulationReport, fmt: SimulateFormat) -> None:
    if fmt is SimulateFormat.json:
        typer.echo(json.dumps(report.to_json_dict(), indent=2))
        return
    if fmt is SimulateFormat.csv:
        typer.echo(report.to_csv(), nl=False)
        return
    data = report.to_json_dict()
    table = Table(title=f"{data['therapy']} ({data['model']})")
    for column in ("start", "Cmax ug/mL", "trough ug/mL", "AUC ug*day/mL"):
        table.add_column(column, justify="right")
    for row in data["summary"]["intervals"]:
        table.add_row(
            row["start"][:16],
            *(
                _cell(row[key])
                for key in ("cmax_ug_per_ml", "trough_ug_per_ml", "auc_ug_day_per_ml")
            ),
        )
    console.print(table)
    console.print(f"terminal half-life (typical): {data['summary']['terminal_half_life_day']} day")
    subsets = data["summary"].get("lymphocyte_subsets")
    if subsets is not None:
        console.print(_subset_table(subsets))
    if data["placeholders"]:
        console.print("placeholders: " + ", ".join(data["placeholders"]), style="yellow")
    for note in data["notes"]:
        console.print(note, style="dim")


def _subset_table(subsets: dict[str, Any]) -> Table:
    """Lymphocyte subsets (alemtuzumab): per subset and course, nadir and months to LLN."""
    lln = subsets["lln_pct_of_baseline"]
    table = Table(title=f"lymphocyte subsets, % of baseline (LLN {lln:g} %, placeholder)")
    for column in ("subset", "course start", "nadir %", "nadir day", "months to LLN"):
        table.add_column(column, justify="right")
    for name in ("B", "CD4", "CD8"):
        entry = subsets[name]
        for course in entry["courses"]:
            table.add_row(
                entry["label"],
                course["start"][:10],
                _cell(course["nadir_pct_of_baseline"]),
                _cell(course["nadir_day_after_start"]),
                _cell(course["months_to_lln"]) if course["months_to_lln"] else "not reached",
            )
    return table


def _short(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.3g}"


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        if value["median"] is None:
            return "not reached" if value.get("not_reached_fraction") else "-"
        p5, p95 = (_short(value[k]) for k in ("p5", "p95"))
        return f"{value['median']:.3g} ({p5}-{p95})"
    return "-" if value is None else f"{value:.4g}"


@pharmacology_app.command("tdm")
def tdm_command(
    therapy: Annotated[str, typer.Argument(help="natalizumab (the only TDM model)")],
    history: Annotated[Path, typer.Option(help="JSON dosing history (infusions and/or sessions)")],
    levels: Annotated[Path, typer.Option(help="CSV with header time,conc_ug_per_ml")],
    target: Annotated[float, typer.Option(help="trough target in ug/mL")] = 10.0,
    weight: Annotated[float | None, typer.Option(help="body weight in kg")] = None,
    ada: Annotated[bool, typer.Option(help="persistent anti-drug antibodies")] = False,
    samples: Annotated[int, typer.Option(help="posterior samples for the band")] = 200,
    seed: Annotated[int, typer.Option(help="random seed of the posterior samples")] = 0,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
) -> None:
    """MAP individual parameters from measured levels and the longest interval above target."""
    from msinfusion.catalog.registry import shipped_catalog  # noqa: PLC0415 - lazy: keeps CLI start-up fast
    from msinfusion.pharmacology.inputs import levels_from_csv, schedule_from_document  # noqa: PLC0415 - lazy: keeps CLI start-up fast
    from msinfusion.pharmacology.tdm import run_tdm  # noqa: PLC0415 - lazy: keeps CLI start-up fast

    if therapy.lower() != "natalizumab":
        fail(f"TDM is available for natalizumab only, not '{therapy}'")
    if target <= 0 or samples < 10:
        fail("--target must be > 0 and --samples >= 10")
    try:
        catalog = shipped_catalog()
        schedule = schedule_from_document(_read_json(history, "--history"), catalog)
        text = levels.read_text(encoding="utf-8")
        result = run_tdm(
            schedule,
            levels_from_csv(text, schedule),
            catalog.get_protocol("natalizumab-300"),
            target_ug_per_ml=target,
            weight_kg=weight,
            ada=ada,
            samples=samples,
            seed=seed,
        )
    except OSError as error:
        fail(f"--levels: cannot read {levels}: {error.strerror}")
    except MsinfusionError as error:
        fail(error.message)
    _print_tdm(result, fmt)


def tdm_to_json(result: TdmResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "message": result.message,
        "target_ug_per_ml": result.target_ug_per_ml,
        "eta_map": result.eta_map,
        "eta_sd": result.eta_sd,
        "parameters_map": result.parameters_map,
        "predicted_levels_ug_per_ml": list(result.predicted_levels),
        "recommended_interval_week": result.recommended_interval_week,
        "interval_band_week": {
            "p95_above_target": result.interval_95pct_week,
            "p50_above_target": result.interval_50pct_week,
        },
        "forecasts": [
            {
                "interval_week": f.interval_week,
                "map_trough_ug_per_ml": f.map_trough_ug_per_ml,
                "trough_p5_ug_per_ml": f.trough_p5_ug_per_ml,
                "trough_p95_ug_per_ml": f.trough_p95_ug_per_ml,
                "probability_above_target": f.probability_above_target,
            }
            for f in result.forecasts
        ],
    }


def _print_tdm(result: TdmResult, fmt: OutputFormat) -> None:
    data = tdm_to_json(result)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"natalizumab TDM ({result.status}), target {result.target_ug_per_ml}")
    for column in ("interval", "MAP trough", "p5-p95", "P(above)"):
        table.add_column(column, justify="right")
    for f in result.forecasts:
        table.add_row(
            f"{f.interval_week} w",
            f"{f.map_trough_ug_per_ml:.3g}",
            f"{f.trough_p5_ug_per_ml:.3g}-{f.trough_p95_ug_per_ml:.3g}",
            f"{f.probability_above_target:.0%}",
        )
    console.print(table)
    console.print(
        f"recommended: {data['recommended_interval_week']} w "
        f"(>=95 % sure: {result.interval_95pct_week} w, "
        f">=50 %: {result.interval_50pct_week} w)"
    )
