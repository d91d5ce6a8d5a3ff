"""``msinfusion serve``, ``msinfusion demo`` and ``msinfusion users create``.

``serve`` runs the JSON API on the configured database (``MSINFUSION_DATABASE_URL``, else the
SQLite file in the user's data directory), migrated on start. ``demo`` builds a fresh SQLite
database with a synthetic centre and prints the demo users' passwords once. ``users create``
adds a user (the password is prompted for unless given).

Exit codes: 0 success, 2 bad input (unknown role, weak password, taken user name, existing demo
database).
"""

from __future__ import annotations

import gc
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from msinfusion.adapters.web import Settings
    from msinfusion.application.centre import Centre
from msinfusion.entrypoints.common import fail
from msinfusion.errors import MsinfusionError

server_app = typer.Typer(
    help="The msinfusion server: serve the JSON API, or a demo centre.",
    no_args_is_help=True,
    add_completion=False,
)


class RoleChoice(StrEnum):
    """The values of ``application.records.Role``, for ``--role`` without importing the
    application at start-up (a unit test pins that the two agree)."""

    NURSE = "nurse"
    PHYSICIAN = "physician"
    PHARMACIST = "pharmacist"
    SCHEDULER = "scheduler"
    ADMIN = "admin"
    VIEWER = "viewer"
    DEVICE = "device"


users_app = typer.Typer(help="User accounts: create.", no_args_is_help=True, add_completion=False)

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: MSINFUSION_DATABASE_URL, else the SQLite file in the "
        "user's data directory).",
    ),
]


def build_server_centre(settings: Settings) -> Centre:
    """The centre of a server process (the composition root; imported only when serving)."""
    import threading  # noqa: PLC0415

    from msinfusion.bootstrap import build_centre  # noqa: PLC0415  # slow import

    centre = build_centre(settings)
    # Escalations fire on time even when nothing else is recorded (a daemon: ends with us).
    threading.Thread(
        target=centre.escalations.run,
        args=(threading.Event(),),
        kwargs={"now": centre.clock},
        name="alert-escalations",
        daemon=True,
    ).start()
    return centre


def _settings(database_url: str | None = None) -> Settings:
    from msinfusion.adapters.web import Settings  # noqa: PLC0415  # slow import

    try:
        settings = Settings.from_env()
    except ValueError as error:
        fail(str(error))
    return settings if database_url is None else replace(settings, database_url=database_url)


def app_from_env() -> FastAPI:
    """The app on ``MSINFUSION_DATABASE_URL`` (for ``uvicorn --factory`` and process managers);
    on PostgreSQL its live updates reach every other server on the same database."""
    from msinfusion.adapters.web import Settings, create_app  # noqa: PLC0415  # slow import

    settings = Settings.from_env()
    app = create_app(build_server_centre(settings), settings=settings)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Take what startup built (catalog, app, engine, compiled statements) out of the cyclic
    garbage collector's walks, once the server is built and before it serves.

    A full collection walked all of it while every request waited: at 16 HTTP clients two
    pauses of ≈ 0.2 s in 640 commands were the p99 (docs/benchmarks.md, 2026-12-07). What is
    garbage now is collected first; what startup keeps is never freed anyway.
    """
    gc.collect()
    gc.freeze()


def _run(app: FastAPI, host: str, port: int, settings: Settings) -> None:
    """Serve ``app``; ``X-Forwarded-For``/``-Proto`` are believed only from
    ``settings.trusted_proxies`` (``MSINFUSION_TRUSTED_PROXIES``), from nobody by default."""
    import uvicorn  # noqa: PLC0415  # only the server commands need it

    trusted = list(settings.trusted_proxies)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=",".join(trusted) if trusted else None,
        server_header=False,
    )


@server_app.command("serve")
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the JSON API (OpenAPI at /api/openapi.json, docs at /api/docs)."""
    from msinfusion.adapters.web import create_app  # noqa: PLC0415  # slow import

    settings = _settings(database_url)
    _run(create_app(build_server_centre(settings), settings=settings), host, port, settings)


def build_demo_database(path: Path, *, now: datetime) -> tuple[Centre, str]:
    """A fresh SQLite database at ``path`` holding the demo centre; returns it and the report."""
    from msinfusion.adapters.storage.engine import sqlite_url  # noqa: PLC0415
    from msinfusion.application.demo import load_demo  # noqa: PLC0415  # slow import

    if path.exists():
        fail(f"{path} exists; the demo needs a fresh database (choose another --database)")
    centre = build_server_centre(_settings(sqlite_url(path)))
    demo = load_demo(centre, now=now)
    lines = [
        f"Demo database: {path}",
        f"{demo.patients} synthetic patients, {demo.chairs} chairs, "
        f"{demo.appointments} appointments, {demo.sessions} sessions under way.",
        "Demo users (passwords are shown only now):",
        *(f"  {u.username:<16} {u.role.value:<11} {u.password}" for u in demo.users),
    ]
    return centre, "\n".join(lines)


@server_app.command("demo")
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database: Annotated[
        Path | None,
        typer.Option(help="Where to create the demo SQLite file (default: a new temp dir)."),
    ] = None,
) -> None:
    """Serve a demo centre on a fresh SQLite database: synthetic patients, chairs, a day of
    appointments, sessions under way, and one demo user per role."""
    from msinfusion.adapters.web import create_app  # noqa: PLC0415  # slow import

    path = database or Path(tempfile.mkdtemp(prefix="msinfusion-demo-")) / "demo.db"
    centre, report = build_demo_database(path, now=datetime.now(UTC))
    typer.echo(report)
    typer.echo(f"Serving the chair board on http://{host}:{port}/ (API docs: /api/docs)")
    settings = _settings()
    _run(create_app(centre, settings=settings), host, port, settings)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="3-64 of a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[
        RoleChoice, typer.Option(help="nurse, physician, pharmacist, scheduler, admin, viewer")
    ],
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters; prompted for when left out.")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a user (run on the server; recorded in the audit trail as 'system')."""
    from msinfusion.application.audit import system_actor  # noqa: PLC0415  # slow import
    from msinfusion.application.records import Role  # noqa: PLC0415  # slow import

    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    centre = build_server_centre(_settings(database_url))
    try:
        user = centre.accounts.create_user(
            system_actor(datetime.now(UTC)),
            username=username,
            role=Role(role.value),
            password=secret,
            display_name=display_name,
        )
    except MsinfusionError as error:
        fail(error.message)
    typer.echo(f"created {user.role.value} {user.username} ({user.id})")
