"""``msinfusion mllp-listen`` and ``msinfusion monitors simulate``: the bedside-monitor feed.

``mllp-listen`` accepts IHE PCD-01 over MLLP on the configured database and answers every
message with an ACK (AA accepted, AE/AR quarantined with the reason). Live notices (alerts on
the board) reach browsers only through a web server in the same process: give ``--api-port``
to serve the JSON API and ``GET /api/stream`` next to the listener.

``monitors simulate`` plays synthetic, seeded vital-sign streams (with an optional infusion
reaction from ``--reaction-at`` minutes) from N simulated monitors to a listener.

Exit codes: 0 success, 2 bad input.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from msinfusion.entrypoints.common import fail, parse_time

mllp_app = typer.Typer(
    help="The MLLP listener for bedside monitors (IHE PCD-01).",
    no_args_is_help=True,
    add_completion=False,
)
monitors_app = typer.Typer(
    help="Simulated bedside monitors (synthetic data, for demos and load tests).",
    no_args_is_help=True,
    add_completion=False,
)


@mllp_app.callback()
def _mllp_group() -> None:
    """The MLLP listener for bedside monitors (IHE PCD-01)."""


@monitors_app.callback()
def _monitors_group() -> None:
    """Simulated bedside monitors (synthetic data, for demos and load tests)."""


MLLP_PORT = 2575
"""The port IANA registered for HL7 over MLLP."""

HostOption = Annotated[str, typer.Option(help="Address to listen on / send to.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="MLLP port.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and runs at real speed from there."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def _run_in_this_thread_if_free(
    main: Callable[[], Coroutine[Any, Any, None]],
    elsewhere: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
) -> None:
    """``asyncio.run`` here (so Ctrl-C stops the listener), or on a thread of its own when this
    thread already runs an event loop (the CLI invoked in-process, e.g. by a test runner)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    elsewhere(main)


@mllp_app.command("mllp-listen")
def mllp_listen(
    host: HostOption = "127.0.0.1",
    port: PortOption = MLLP_PORT,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="SQLAlchemy URL (default: MSINFUSION_DATABASE_URL, else the SQLite file in "
            "the user's data directory).",
        ),
    ] = None,
    api_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Also serve the JSON API (and its live stream)."),
    ] = None,
) -> None:
    """Accept PCD-01 vital signs over MLLP and answer each message with an ACK."""
    from msinfusion.adapters.hl7.mllp import (  # noqa: PLC0415
        bound_port,
        run_coroutine,
        start_mllp_server,
    )
    from msinfusion.adapters.web import create_app  # noqa: PLC0415
    from msinfusion.entrypoints.server_cli import _settings, build_server_centre  # noqa: PLC0415

    settings = _settings(database)
    centre = build_server_centre(settings)

    async def main() -> None:
        server = await start_mllp_server(centre.monitoring, host=host, port=port, clock=_now)
        typer.echo(f"MLLP listening on {host}:{bound_port(server)}")
        async with server:
            if api_port is None:
                await server.serve_forever()
                return
            import uvicorn  # noqa: PLC0415

            app = create_app(centre, settings=settings)
            config = uvicorn.Config(app, host=host, port=api_port, server_header=False)
            typer.echo(f"API on http://{host}:{api_port}/api/docs")
            await uvicorn.Server(config).serve()

    try:
        _run_in_this_thread_if_free(main, run_coroutine)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    except KeyboardInterrupt:
        return


@monitors_app.command("simulate")
def simulate(
    chairs: Annotated[int, typer.Option(min=1, max=500, help="Number of monitors.")] = 4,
    interval: Annotated[
        float, typer.Option(min=0.05, max=3600, help="Seconds between readings.")
    ] = 1.0,
    count: Annotated[int, typer.Option(min=1, max=100_000, help="Readings per monitor.")] = 60,
    host: HostOption = "127.0.0.1",
    port: PortOption = MLLP_PORT,
    reaction_at: Annotated[
        float | None,
        typer.Option(
            "--reaction-at",
            min=0,
            help="Minute at which every monitor starts an infusion-reaction pattern.",
        ),
    ] = None,
    chair_prefix: Annotated[
        str, typer.Option(help="Beds (PV1-3) are '<prefix><n>', matching chair names.")
    ] = "Chair ",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic streams.")] = 1,
    start: Annotated[
        str | None,
        typer.Option(
            help="The monitors' clock at the first reading (ISO 8601 with offset; default: "
            "now). Readings more than the centre's tolerance ahead of the listener's clock are "
            "refused (clock-future)."
        ),
    ] = None,
) -> None:
    """Play synthetic vital signs from N monitors to an MLLP listener; print the ACK codes and
    the round-trip latency."""
    from msinfusion.adapters.hl7.mllp import run_coroutine  # noqa: PLC0415
    from msinfusion.adapters.hl7.simulator import Monitor, simulate_monitors  # noqa: PLC0415

    monitors = [Monitor(bed=f"{chair_prefix}{n}", serial=f"{n:016d}") for n in range(1, chairs + 1)]
    clock = None if start is None else _clock_from(parse_time(start, "--start"))
    try:
        report = run_coroutine(
            lambda: simulate_monitors(
                monitors,
                host=host,
                port=port,
                interval_s=interval,
                count=count,
                reaction_at_min=reaction_at,
                seed=seed,
                clock=clock,
            )
        )
    except (OSError, TimeoutError) as error:
        fail(f"cannot reach the MLLP listener at {host}:{port}: {error}")
    codes = ", ".join(f"{code} {n}" for code, n in sorted(report.answers.items()))
    typer.echo(f"sent {report.sent} messages from {chairs} monitors; answers: {codes}")
    if report.latencies_s:
        ordered = sorted(report.latencies_s)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        typer.echo(
            f"round trip: median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms"
        )
