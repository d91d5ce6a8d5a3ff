"""``msinfusion pumps ...`` and ``msinfusion catalog drug-library``: the smart-pump interface.

- ``pumps listen``: the IHE IPEC PCD-10 listener (pump events in over MLLP, ACK^R42 out) on the
  configured database; it also sends the queued PCD-03 orders to ``--gateway`` every
  ``--retry-every`` seconds (the outbox's retry after a lost connection).
- ``pumps associate``: register a pump's serial number for a chair (biomed, by serial); nurses
  scan pumps at the chair on the chairside page.
- ``pumps simulate``: simulated pumps and their gateway: PCD-03 orders in on ``--port``, PCD-10
  events out to ``--events-host``/``--events-port``, on a clock sped up ``--speed`` times.
- ``catalog drug-library``: the catalog as a pump drug library, JSON or CSV (docs/pumps.md).

Exit codes: 0 success, 1 unverified values refused, 2 bad input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer

from msinfusion.entrypoints.common import EXIT_INVALID_FILE, fail

pumps_app = typer.Typer(
    help="Smart pumps: PCD-10 listener, associations, simulator (IHE PIV / IPEC).",
    no_args_is_help=True,
    add_completion=False,
)

PCD10_PORT = 2576
"""Default port of the PCD-10 listener (the monitors' listener has 2575)."""
GATEWAY_PORT = 2577
"""Default port of the simulated pump gateway (PCD-03 orders)."""

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: MSINFUSION_DATABASE_URL, else the SQLite file in the "
        "user's data directory).",
    ),
]


class LibraryFormat(StrEnum):
    json = "json"
    csv = "csv"


def _now() -> datetime:
    return datetime.now(UTC)


def sped_up_clock(start: datetime, speed: float) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and runs ``speed`` times faster than real time."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - origin) * speed)


def drug_library_command(
    output: Annotated[
        LibraryFormat, typer.Option("--format", help="json (one entry per protocol) or csv")
    ] = LibraryFormat.json,
    refuse_unverified: Annotated[
        bool,
        typer.Option(
            "--refuse-unverified", help="Exit 1 instead of exporting unverified limits flagged."
        ),
    ] = False,
) -> None:
    """Export every protocol as smart-pump drug-library entries (DERS), limits cited."""
    from msinfusion.adapters.pumps.drug_library_files import library_csv  # noqa: PLC0415
    from msinfusion.catalog import shipped_catalog  # noqa: PLC0415  # slow import
    from msinfusion.catalog.drug_library import build_library  # noqa: PLC0415
    from msinfusion.errors import CatalogError  # noqa: PLC0415

    try:
        library = build_library(shipped_catalog(), refuse_unverified=refuse_unverified)
    except CatalogError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(EXIT_INVALID_FILE) from None
    if output is LibraryFormat.csv:
        typer.echo(library_csv(library), nl=False)
    else:
        typer.echo(json.dumps(library.to_json_dict(), indent=2))


@pumps_app.command("listen")
def listen(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="PCD-10 MLLP port.")] = PCD10_PORT,
    gateway: Annotated[
        str | None,
        typer.Option(
            help="host:port of the pump gateway for PCD-03 orders (MSINFUSION_PUMP_GATEWAY)."
        ),
    ] = None,
    retry_every: Annotated[
        float, typer.Option(min=0.5, max=3600, help="Seconds between sends of queued orders.")
    ] = 10.0,
    database: Database = None,
) -> None:
    """Accept PCD-10 pump events and RRG^O16 order answers over MLLP; send queued PCD-03
    orders to the gateway (under their leases: safe beside the web server's sender)."""
    from dataclasses import replace  # noqa: PLC0415

    from msinfusion.adapters.pumps.link import MllpEndpoint, feed_answerer  # noqa: PLC0415
    from msinfusion.entrypoints.server_cli import _settings, build_server_centre  # noqa: PLC0415

    settings = _settings(database)
    if gateway is not None:
        settings = replace(settings, pump_gateway=gateway)
    centre = build_server_centre(settings)
    dispatcher = centre.pump_dispatcher
    dispatcher.every_s = retry_every
    answer = feed_answerer(centre.pump_feed.ingest, centre.clock, orders=centre.pump_orders)
    try:
        with MllpEndpoint(answer, host=host, port=port) as endpoint, dispatcher:
            typer.echo(f"PCD-10 listening on {host}:{endpoint.port}")
            dispatcher.wake()  # what is queued now, then every --retry-every seconds
            endpoint.serve_forever()
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    except KeyboardInterrupt:
        return


@pumps_app.command("associate")
def associate(
    pump_id: Annotated[str, typer.Argument(help="the pump's serial number (OBX-18)")],
    chair: Annotated[str, typer.Argument(help="the chair's name, e.g. 'Chair 3'")],
    database: Database = None,
) -> None:
    """Register pump PUMP_ID (by serial number) for CHAIR."""
    from msinfusion.application.audit import system_actor  # noqa: PLC0415
    from msinfusion.bootstrap import build_centre  # noqa: PLC0415  # slow import
    from msinfusion.entrypoints.server_cli import _settings  # noqa: PLC0415
    from msinfusion.errors import MsinfusionError  # noqa: PLC0415

    centre = build_centre(_settings(database))
    actor = system_actor(centre.clock(), source="cli")
    with centre.access.uow_factory() as uow:
        found = [c for c in uow.chairs.list() if c.name.casefold() == chair.casefold()]
    if not found:
        fail(f"no chair named {chair!r}")
    try:
        centre.pump_orders.associate(actor, pump_id, found[0].id, method="serial")
    except MsinfusionError as error:
        fail(error.message)
    typer.echo(f"pump {pump_id} serves {found[0].name}")


@pumps_app.command("simulate")
def simulate(
    pumps: Annotated[
        str, typer.Option(help="Comma-separated serial numbers of the simulated pumps.")
    ] = "PUMP-1",
    host: Annotated[str, typer.Option(help="Address of the order port.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Order (PCD-03) MLLP port; 0: any free port.")
    ] = GATEWAY_PORT,
    events_host: Annotated[str, typer.Option(help="The PCD-10 listener's address.")] = "127.0.0.1",
    events_port: Annotated[
        int, typer.Option(min=1, max=65535, help="The PCD-10 listener's port.")
    ] = PCD10_PORT,
    speed: Annotated[float, typer.Option(min=1, max=3600, help="Clock speed-up factor.")] = 1.0,
    library: Annotated[
        Path | None,
        typer.Option(help="Drug-library JSON (catalog drug-library); default: the catalog's."),
    ] = None,
    auto_confirm: Annotated[
        bool, typer.Option(help="Confirm each accepted order at the pump, as a nurse would.")
    ] = True,
    manual_rate: Annotated[
        list[str],
        typer.Option(
            help="MIN:RATE — at minute MIN (simulated) set RATE mL/h by hand at the pump."
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    occlusion_at: Annotated[
        float | None, typer.Option(min=0, help="Minute (simulated) of a downstream occlusion.")
    ] = None,
    duration: Annotated[
        float, typer.Option(min=0.1, help="Simulated minutes to run before exiting.")
    ] = 600.0,
) -> None:
    """Simulated pumps: accept PCD-03, run at the ordered rates, send PCD-10 (synthetic)."""
    from msinfusion.adapters.pumps.link import MllpEndpoint  # noqa: PLC0415
    from msinfusion.adapters.pumps.simulator import PumpSimulator, mllp_sender  # noqa: PLC0415

    if library is None:
        from msinfusion.catalog import shipped_catalog  # noqa: PLC0415
        from msinfusion.catalog.drug_library import build_library  # noqa: PLC0415

        document = build_library(shipped_catalog()).to_json_dict()
    else:
        try:
            document = json.loads(library.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            fail(f"--library: cannot read {library}: {error}")
    scripted = [_manual(item) for item in manual_rate]
    ids = tuple(p.strip() for p in pumps.split(",") if p.strip())
    start = _now()
    clock = sped_up_clock(start, speed)
    simulator = PumpSimulator(
        pump_ids=ids,
        library_max_rate=PumpSimulator.library_from_json(document),
        clock=clock,
        send=mllp_sender(events_host, events_port),
        auto_confirm=auto_confirm,
    )
    try:
        with MllpEndpoint(simulator.answer_order, host=host, port=port) as endpoint:
            typer.echo(f"pump gateway (PCD-03) on {host}:{endpoint.port}; pumps {', '.join(ids)}")
            _run(simulator, clock, start, ids, scripted, occlusion_at, duration, speed)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    except KeyboardInterrupt:
        return
    typer.echo(
        f"orders received {len(simulator.orders_received)}, events sent "
        f"{len(simulator.events_sent)}, unsent {len(simulator.unsent)}"
    )


def _manual(item: str) -> tuple[float, Fraction]:
    minute, _, rate = item.partition(":")
    try:
        return float(minute), Fraction(rate)
    except (ValueError, ZeroDivisionError):
        fail(f"--manual-rate: expected MIN:RATE, got {item!r}")


def _run(
    simulator: object,
    clock: Callable[[], datetime],
    start: datetime,
    ids: tuple[str, ...],
    scripted: list[tuple[float, Fraction]],
    occlusion_at: float | None,
    duration: float,
    speed: float,
) -> None:
    from msinfusion.adapters.pumps.simulator import PumpSimulator  # noqa: PLC0415

    assert isinstance(simulator, PumpSimulator)
    pending = sorted(scripted)
    occlusion = occlusion_at
    while True:
        minute = (clock() - start).total_seconds() / 60
        simulator.advance()
        simulator.flush()
        while pending and pending[0][0] <= minute:
            simulator.set_rate_at_pump(ids[0], pending.pop(0)[1])
        if occlusion is not None and occlusion <= minute:
            simulator.occlude(ids[0])
            occlusion = None
        if minute >= duration:
            return
        time.sleep(min(0.25, 15 / speed))
