"""``msinfusion db upgrade|current`` and the composition root, on a temporary SQLite file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from sqlalchemy import inspect
from typer.testing import CliRunner

from msinfusion.adapters.storage import create_engine_for
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.fakes import InMemoryUnitOfWork
from msinfusion.bootstrap import build_session_service, build_unit_of_work_factory
from msinfusion.entrypoints.db_cli import db_app
from msinfusion.session import commands as cmd
from tests.unit.session.helpers import at

runner = CliRunner()


def test_upgrade_then_current(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "cli.db")
    before = runner.invoke(db_app, ["current", "--url", url])
    assert before.exit_code == 0
    assert "none (empty)" in before.output
    assert "run 'msinfusion db upgrade'" in before.output
    done = runner.invoke(db_app, ["upgrade", "--url", url])
    assert done.exit_code == 0, done.output
    assert "at revision 0017" in done.output
    after = runner.invoke(db_app, ["current", "--url", url])
    assert "at revision 0017; newest 0017 (up to date)" in after.output
    engine = create_engine_for(url)
    assert "session_events" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_bad_url_fails_with_one_line_and_hides_the_password() -> None:
    result = runner.invoke(db_app, ["current", "--url", "nonsense"])
    assert result.exit_code == 2
    assert "is not a database URL" in result.output
    secret = "postgresql+psycopg://u:s3cret@127.0.0.1:1/x?connect_timeout=1"
    failed = runner.invoke(db_app, ["current", "--url", secret])
    assert failed.exit_code == 2
    assert "cannot open" in failed.output
    assert "s3cret" not in failed.output


def test_bootstrap_memory_and_sql_services_persist_as_expected(tmp_path: Path) -> None:
    assert isinstance(build_unit_of_work_factory("memory")(), InMemoryUnitOfWork)
    url = sqlite_url(tmp_path / "boot.db")
    service = build_session_service(url)
    session = service.create_session()
    service.handle(
        session,
        cmd.CheckIn(
            at=at(-10),
            user="nurse-a",
            patient_id="p-1",
            protocol_id="natalizumab-300",
            dose_number=1,
            weight_kg=Fraction(70),
        ),
    )
    reopened = build_session_service(url)
    assert reopened.list_events(session) == service.list_events(session)
    assert reopened.get_view(session).status == "checked-in"
