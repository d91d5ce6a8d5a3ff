"""``msinfusion db``: create or migrate the database, and say which revision it is at.

The database is ``--url``, else ``MSINFUSION_DATABASE_URL``, else the SQLite file in the user's
data directory (``$XDG_DATA_HOME/msinfusion/msinfusion.db``). Passwords in URLs are never
printed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from msinfusion.entrypoints.common import fail

db_app = typer.Typer(
    name="db", help="Create, migrate and inspect the msinfusion database.", no_args_is_help=True
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        "(default: MSINFUSION_DATABASE_URL, else the SQLite file in the data directory).",
    ),
]


def _shown(url: str) -> str:
    """The URL with its password masked (an unreadable URL is not echoed: it may hold one)."""
    from sqlalchemy import make_url  # noqa: PLC0415  # slow import
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415  # slow import

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the given URL"


@db_app.command("upgrade")
def upgrade_command(url: UrlOption = None) -> None:
    """Migrate the database to the newest schema (creating it if it does not exist)."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415  # slow import

    from msinfusion.adapters.storage import create_engine_for, database_url, upgrade  # noqa: PLC0415  # slow import

    target = database_url(url)
    try:
        reached = upgrade(create_engine_for(target))
    except ArgumentError:
        fail(f"--url: {_shown(target)} is not a database URL")
    except SQLAlchemyError as error:
        fail(f"cannot migrate {_shown(target)}: {type(error).__name__}")
    typer.echo(f"{_shown(target)}: at revision {reached}")


@db_app.command("current")
def current_command(url: UrlOption = None) -> None:
    """Print the database's schema revision and the newest one this version ships."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415  # slow import

    from msinfusion.adapters.storage import (  # noqa: PLC0415  # slow import
        create_engine_for,
        current_revision,
        database_url,
        head_revision,
    )

    target = database_url(url)
    try:
        revision = current_revision(create_engine_for(target))
    except ArgumentError:
        fail(f"--url: {_shown(target)} is not a database URL")
    except SQLAlchemyError as error:
        fail(f"cannot open {_shown(target)}: {type(error).__name__}")
    head = head_revision()
    state = "up to date" if revision == head else "run 'msinfusion db upgrade'"
    typer.echo(
        f"{_shown(target)}: at revision {revision or 'none (empty)'}; newest {head} ({state})"
    )
