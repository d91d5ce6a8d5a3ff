"""Two server processes on one PostgreSQL database: a nurse's action on one reaches a browser
on the other without reload (live updates relayed with LISTEN/NOTIFY)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.live_relay import libpq_url
from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.bootstrap import build_centre
from tests.e2e.ui.conftest import PASSWORD, BrowserFactory, _free_port, screenshot, seed
from tests.pg_cluster import Cluster, postgres_cluster  # noqa: F401  (a fixture)

START_TIMEOUT_S = 30.0
LOG_DIR: list[Path] = []


@pytest.fixture
def shared_database(postgres_cluster: Cluster) -> str:  # noqa: F811
    name = f"two_servers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(postgres_cluster.url()), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_cluster.url(name)


@pytest.fixture
def two_servers(shared_database: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    engine = create_engine_for(shared_database)
    upgrade(engine)  # the shared database, migrated once
    factory = sql_unit_of_work_factory(engine)
    centre = build_centre(Settings(), uow_factory=factory, hasher=Argon2Hasher.fast())
    ids = seed(centre, datetime.now(UTC).replace(second=0, microsecond=0))
    processes = []
    urls = []
    logs = []
    LOG_DIR[:] = [tmp_path]
    for name in ("a", "b"):
        port = _free_port()
        env = dict(
            os.environ,
            MSINFUSION_DATABASE_URL=shared_database,
            MSINFUSION_COOKIE_SECURE="0",
            MSINFUSION_TIMEZONE="UTC",
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable, "-m", "uvicorn", "--factory",
            "msinfusion.entrypoints.server_cli:app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
        ]  # fmt: skip
        log = (tmp_path / f"server-{name}.log").open("wb")
        logs.append(log)
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until_up(url)
        yield urls[0], urls[1], ids
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        for log in logs:
            log.close()
        engine.dispose()


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"server {url} did not start")


def sign_in(context: object, url: str, username: str) -> Page:
    assert isinstance(context, BrowserContext)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Chair board")).to_be_visible()
    return page


def test_a_check_in_on_one_server_appears_on_a_board_served_by_the_other(
    two_servers: tuple[str, str, dict[str, str]], new_browser: BrowserFactory
) -> None:
    server_a, server_b, ids = two_servers
    acting = sign_in(new_browser(), server_a, "nurse1")
    watching = sign_in(new_browser(), server_b, "nurse2")
    expect(watching.locator("body[data-live=open]")).to_have_count(1)
    watching.evaluate("window.__sameDocument = true")
    chair = watching.locator(f'[data-appointment="{ids["appointment2"]}"]')
    expect(chair.get_by_test_id("status")).to_contain_text("Booked")

    acting.get_by_label("MRN or wristband scan for Synthetic Patient 02").fill("MRN-0002")

    acting.get_by_role("button", name="Check in Synthetic Patient 02 at Chair 2").click()
    expect(acting.get_by_test_id("session-status")).to_contain_text("Checked in")

    # Server B never saw the request: only PostgreSQL NOTIFY can have told it.
    try:
        expect(chair.get_by_test_id("status")).to_contain_text("Checked in", timeout=20_000)
    except AssertionError as error:
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(LOG_DIR[0].glob("server-*.log"))
        )
        raise AssertionError(f"{error}\nserver logs:\n{logs}") from None
    assert watching.evaluate("window.__sameDocument") is True
    screenshot(watching, "board-live-second-server")
