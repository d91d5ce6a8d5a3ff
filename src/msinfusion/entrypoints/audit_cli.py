"""``msinfusion audit verify``: check the hash chains of the audit trail and the event store.

Exit 0 with the number of rows checked when both chains hold; exit 1 naming the first broken
row otherwise (``adapters/storage/chain.py``); exit 2 when the database cannot be read. The
database is ``--database``, else ``MSINFUSION_DATABASE_URL``, else the SQLite file in the
user's data directory. Reading only: nothing is migrated or written.
"""

from __future__ import annotations

from typing import Annotated

import typer

from msinfusion.entrypoints.common import fail

EXIT_BROKEN = 1

audit_app = typer.Typer(
    name="audit", help="Tamper evidence: verify the audit trail.", no_args_is_help=True
)


@audit_app.command("verify")
def verify_command(
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="SQLAlchemy URL (default: MSINFUSION_DATABASE_URL, else the SQLite file in "
            "the data directory).",
        ),
    ] = None,
) -> None:
    """Walk the hash chains of audit_log and session_events; name the first broken row."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415  # slow import

    from msinfusion.adapters.storage import create_engine_for, database_url  # noqa: PLC0415
    from msinfusion.adapters.storage.chain import verify_chains  # noqa: PLC0415

    target = database_url(database)
    try:
        engine = create_engine_for(target)
        with engine.connect() as connection:
            report = verify_chains(connection)
        engine.dispose()
    except ArgumentError:
        fail("--database: not a database URL")
    except SQLAlchemyError as error:
        fail(f"cannot read the database: {type(error).__name__}")
    if report.broken is not None:
        typer.echo(f"broken: {report.broken}", err=True)
        typer.echo(
            f"checked {report.audit_rows} audit rows and {report.event_rows} session events "
            "up to the break"
        )
        raise typer.Exit(EXIT_BROKEN)
    typer.echo(
        f"ok: {report.audit_rows} audit rows and {report.event_rows} session events in "
        f"{report.streams} sessions; the chains hold (audit head {report.audit_head})"
    )
