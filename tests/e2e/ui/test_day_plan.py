"""The optimised day plan in a real browser: from the demo board to ``/schedule`` by keyboard."""

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


def test_the_board_leads_to_the_optimised_day_plan(
    tmp_path: Path, new_browser: BrowserFactory
) -> None:
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "plan.db"))
    now = START + timedelta(hours=3)  # 12:00 in Zurich
    centre = build_centre(
        Settings(centre_timezone=ZONE),
        uow_factory=factory,
        hasher=Argon2Hasher.fast(),
        clock=SteppedClock(now),
    )
    demo = load_demo(centre, now=now)
    nurse = next(u for u in demo.users if u.username == "demo-nurse")
    settings = Settings(centre_timezone=ZONE, schedule_max_time_limit_s=2.0)
    app = create_app(centre, settings=settings)
    with serve(app) as url:
        context = new_browser()
        assert isinstance(context, BrowserContext)
        page = context.new_page()
        page.goto(url + "/login")
        page.get_by_label("User name").fill(nurse.username)
        page.get_by_label("Password").fill(nurse.password)
        page.get_by_role("button", name="Sign in").click()
        link = page.get_by_role("link", name="Optimised day plan")
        link.focus()
        page.keyboard.press("Enter")  # reachable without a mouse
        expect(page.get_by_role("heading", name="Optimised day plan")).to_be_visible()
        expect(page.get_by_test_id("proposal")).to_contain_text("nothing is re-booked")
        # The demo day has more patients at once than two nurses can watch: a status in
        # words, a hint, and no chart (nothing is booked).
        expect(page.get_by_test_id("plan-status")).to_contain_text("Infeasible")
        expect(page.get_by_test_id("gantt")).to_have_count(0)
        page.get_by_role("spinbutton", name="Nurses on shift").fill("4")
        page.get_by_role("combobox", name="Solver").select_option("greedy")
        page.get_by_role("button", name="Plan again").click()
        expect(page.get_by_test_id("bound-gap")).to_contain_text("none proven")
        page.get_by_role("combobox", name="Solver").select_option("cpsat")
        page.get_by_role("spinbutton", name="Nurses on shift").press(
            "Enter"
        )  # submits the form by keyboard
        expect(page.get_by_test_id("plan-status")).to_contain_text("cpsat")
        expect(page.get_by_test_id("visits-booked")).to_contain_text(f"of {demo.appointments}")
        rows = page.get_by_test_id("plan-table").locator("tbody tr")
        expect(rows).to_have_count(demo.appointments)
        expect(page.get_by_role("img", name="Gantt chart of the plan")).to_be_visible()
        screenshot(page, "day-plan")
