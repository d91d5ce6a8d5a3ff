"""``msinfusion users create`` and the demo database (``msinfusion demo`` minus the server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.audit import Actor
from msinfusion.application.records import Role
from msinfusion.entrypoints.server_cli import build_demo_database, server_app, users_app

runner = CliRunner()
cli = typer.Typer()  # mounted as the lead mounts it: ``msinfusion users ...``
cli.add_typer(users_app, name="users")
cli.add_typer(server_app, name="server")
NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


def test_users_create_stores_an_argon2_hash_and_audits_it(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "users.db")
    args = ["users", "create", "--username", "alice", "--role", "physician", "--database-url", url]
    result = runner.invoke(cli, [*args, "--password", "a long password!"])
    assert result.exit_code == 0, result.output
    assert "created physician alice" in result.output
    from msinfusion.bootstrap import build_unit_of_work_factory

    with build_unit_of_work_factory(url)() as uow:
        user = uow.users.get_by_username("alice")
        assert user.password_hash.startswith("$argon2id$")
        assert "a long password!" not in user.password_hash
        assert [e.action for e in uow.audit.list()] == ["user.create"]
    again = runner.invoke(cli, [*args, "--password", "another long one"])
    assert again.exit_code == 2
    assert "alice is taken" in again.output


def test_users_create_refuses_a_short_password_and_an_unknown_role(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "users.db")
    short = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--username",
            "bob",
            "--role",
            "nurse",
            "--password",
            "short",
            "--database-url",
            url,
        ],
    )
    assert short.exit_code == 2
    assert "password must be 12 to 256 characters" in short.output
    role = runner.invoke(
        cli, ["users", "create", "--username", "bob", "--role", "surgeon", "--password", "x" * 12]
    )
    assert role.exit_code == 2


def test_users_create_prompts_for_the_password(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "users.db")
    result = runner.invoke(
        cli,
        ["users", "create", "--username", "carol", "--role", "viewer", "--database-url", url],
        input="prompted password\nprompted password\n",
    )
    assert result.exit_code == 0, result.output
    assert "prompted password" not in result.output


def test_the_demo_database_has_a_synthetic_centre_and_working_users(tmp_path: Path) -> None:
    centre, report = build_demo_database(tmp_path / "demo.db", now=NOW)
    assert "10 synthetic patients, 6 chairs, 10 appointments" in report
    lines = [line.split() for line in report.splitlines() if line.startswith("  demo-")]
    assert {role for _, role, _ in lines} == {r.value for r in Role}
    username, _, password = lines[0]
    principal = centre.accounts.login(username, password, at=NOW, remote_addr="test")
    nurse = Actor(user_id=principal.user_id, username=username, role=principal.role, at=NOW)
    patients = centre.queries.list_patients(nurse)
    assert all(p.synthetic and p.display_name.startswith("Synthetic Patient") for p in patients)
    board = centre.queries.get_board(nurse, NOW.date(), UTC)
    statuses = {row.session.status for row in board if row.session is not None}
    assert {"infusing", "discharged"} <= statuses
    assert any(row.session is None for row in board)  # still to come


def test_the_demo_refuses_an_existing_database(tmp_path: Path) -> None:
    existing = tmp_path / "demo.db"
    existing.write_bytes(b"")
    with pytest.raises(typer.Exit):
        build_demo_database(existing, now=NOW)


def test_the_server_app_lists_serve_and_demo() -> None:
    result = runner.invoke(server_app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "demo" in result.output


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 8, 0, 55, tzinfo=UTC),  # 4 h before is yesterday (seen at 00:55 UTC)
        datetime(2026, 12, 8, 0, 5, tzinfo=UTC),
        datetime(2026, 12, 8, 3, 30, tzinfo=UTC),
        datetime(2026, 12, 7, 23, 50, tzinfo=UTC),  # the last visits tomorrow
    ],
)
def test_the_demo_builds_at_any_hour(tmp_path: Path, now: datetime) -> None:
    # Every demo order starts today, so no visit may be booked before today's midnight; the
    # first visit is 4 h before now or at midnight, whichever is later.
    centre, report = build_demo_database(tmp_path / "demo.db", now=now)
    assert "10 synthetic patients, 6 chairs, 10 appointments" in report
    nurse = Actor(user_id="demo", username="demo-nurse", role=Role.NURSE, at=now)
    board = centre.queries.get_board(nurse, now.date(), UTC)
    starts = [row.appointment.starts_at for row in board if row.appointment is not None]
    assert min(starts) == max(
        datetime(now.year, now.month, now.day, tzinfo=UTC),
        (now - timedelta(hours=4)).replace(minute=(now.minute // 15) * 15),
    )
    assert any(row.session is not None for row in board)  # under way at now
