"""The nurse UI in a real browser: Debian's Chromium driven by Playwright, a real uvicorn server.

The server runs in a background thread on a free loopback port over a fresh SQLite file, with a
seeded synthetic centre and a test clock the tests move forward (every command the UI sends is
stamped with that clock, so an infusion of hours runs in seconds). Chromium is Debian's
``/usr/bin/chromium`` launched by path with a fresh profile; no browser is ever downloaded. If it
is missing the tests FAIL and say how to install it.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings, create_app
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.audit import system_actor
from msinfusion.application.centre import Centre
from msinfusion.application.records import PatientIdentifier, Role
from msinfusion.bootstrap import build_centre, build_unit_of_work_factory
from tests.e2e.api.world import record_course_history

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "sudo apt-get install -y chromium fonts-dejavu-core"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Zurich
ZONE = "Europe/Zurich"
PASSWORD = "correct horse battery"
PROTOCOL_ID = "ocrelizumab-600-standard"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"


class SteppedClock:
    """The server's clock; tests move it forward between steps."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now = self._now + delta

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = max(self._now, moment)


@dataclass
class Server:
    url: str
    clock: SteppedClock
    centre: Centre
    ids: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed(centre: Centre, at: datetime) -> dict[str, str]:
    """Two nurses, a viewer, a physician; three synthetic patients booked on three chairs."""
    system = system_actor(at)
    ids: dict[str, str] = {}
    actors = {}
    for username, role in (
        ("nurse1", Role.NURSE),
        ("nurse2", Role.NURSE),
        ("physician1", Role.PHYSICIAN),
        ("viewer1", Role.VIEWER),
    ):
        user = centre.accounts.create_user(system, username=username, role=role, password=PASSWORD)
        principal = centre.accounts.get_principal(user.id)
        actors[username] = principal.acting(at, "seed")
    for number in (1, 2, 3):
        patient = centre.records.add_patient(
            actors["nurse1"],
            display_name=f"Synthetic Patient {number:02d}",
            date_of_birth=date(1980 + number, number, 10 + number),
            height_cm=Decimal(168 + number),
            weight_kg=Decimal(64 + number),
            identifiers=(PatientIdentifier(system="urn:test:mrn", value=f"MRN-{number:04d}"),),
            synthetic=True,
        )
        chair = centre.records.add_chair(system, name=f"Chair {number}")
        start = (at - timedelta(weeks=24)).date()  # dose 3 due today
        order = centre.records.add_order(
            actors["physician1"],
            patient_id=patient.id,
            therapy_id="ocrelizumab",
            start_date=start,
        )
        record_course_history(
            centre, actors["nurse1"], patient.id, order.id, start=start, today=at.date()
        )
        appointment = centre.records.book_appointment(
            actors["nurse1"],
            patient_id=patient.id,
            chair_id=chair.id,
            protocol_id=PROTOCOL_ID,
            dose_number=3,
            starts_at=at + timedelta(minutes=30 * (number - 1)),
            order_id=order.id,
        )
        ids[f"patient{number}"] = patient.id
        ids[f"appointment{number}"] = appointment.id
    return ids


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "ui.db"))
    clock = SteppedClock(START)
    settings = Settings(
        centre_timezone=ZONE,
        session_idle=timedelta(days=1),
        session_lifetime=timedelta(days=2),
        stream_max=timedelta(seconds=30),
    )
    centre = build_centre(settings, uow_factory=factory, hasher=Argon2Hasher.fast(), clock=clock)
    ids = seed(centre, START)
    app = create_app(centre, settings=settings)
    with serve(app) as url:
        yield Server(url=url, clock=clock, centre=centre, ids=ids)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(
            f"Debian's Chromium is needed at {CHROMIUM} for the UI tests; install it with: "
            f"{INSTALL_HINT}  (never run `playwright install`)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


BrowserFactory = Callable[[], object]


@pytest.fixture
def new_browser(playwright_driver: object, tmp_path: Path) -> Iterator[BrowserFactory]:
    """Start a Chromium with a fresh profile (one per simulated nurse); closed after the test."""
    from playwright.sync_api import BrowserContext, Playwright

    assert isinstance(playwright_driver, Playwright)
    opened: list[BrowserContext] = []
    counter = itertools.count(1)

    def launch() -> BrowserContext:
        context = playwright_driver.chromium.launch_persistent_context(
            tmp_path / f"profile-{next(counter)}",
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            locale="en-GB",
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield launch
    for context in opened:
        context.close()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot into test-output/screenshots/ (gitignored)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
