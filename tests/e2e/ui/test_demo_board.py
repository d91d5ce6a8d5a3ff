"""The demo day (`make run`): the board opens with chairs at every stage, live and synthetic."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings, create_app
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.demo import load_demo
from msinfusion.bootstrap import build_centre, build_unit_of_work_factory
from tests.e2e.ui.conftest import START, ZONE, BrowserFactory, SteppedClock, screenshot, serve


def test_the_demo_day_opens_on_a_live_board(tmp_path: Path, new_browser: BrowserFactory) -> None:
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "demo.db"))
    now = START + timedelta(hours=3)  # 12:00 in Zurich
    centre = build_centre(
        Settings(centre_timezone=ZONE),
        uow_factory=factory,
        hasher=Argon2Hasher.fast(),
        clock=SteppedClock(now),
    )
    demo = load_demo(centre, now=now)
    nurse = next(u for u in demo.users if u.username == "demo-nurse")
    settings = Settings(centre_timezone=ZONE)
    app = create_app(centre, settings=settings)
    with serve(app) as url:
        context = new_browser()
        assert isinstance(context, BrowserContext)
        page = context.new_page()
        page.goto(url + "/login")
        page.get_by_label("User name").fill(nurse.username)
        page.get_by_label("Password").fill(nurse.password)
        page.get_by_role("button", name="Sign in").click()
        board = page.locator("#board")
        expect(board.locator("article")).to_have_count(demo.appointments)
        for stage in ("Discharged", "Infusing", "Booked"):
            expect(board.get_by_text(stage, exact=False).first).to_be_visible()
        expect(board.get_by_text("Reaction recorded: mild")).to_be_visible()
        expect(page.locator("body[data-live=open]")).to_have_count(1)
        screenshot(page, "board-demo")
