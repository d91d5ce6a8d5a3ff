"""The chairside pump panel in Debian's Chromium, with a simulated pump and gateway behind it.

Pump PUMP-1 serves Chair 1. The nurse confirms the start on the chairside: the web server's
background dispatcher sends the RGV^O15, the panel shows the order sent (waiting for the nurse
at the pump); the nurse confirms at the (simulated) pump, whose gateway answers RRG^O16 AA:
the panel shows it confirmed at the pump, without a reload. The next rate step is rejected at
the pump: the gateway's RRG^O16 AE brings its reason (PIV 9023) onto the panel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from msinfusion.adapters.pumps.link import MllpEndpoint, MllpPumpGateway, feed_answerer
from msinfusion.adapters.pumps.simulator import PumpSimulator, mllp_sender
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings, create_app
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.audit import system_actor
from msinfusion.bootstrap import build_centre, build_unit_of_work_factory
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.drug_library import build_library
from tests.e2e.ui.conftest import (
    START,
    ZONE,
    BrowserFactory,
    Server,
    SteppedClock,
    screenshot,
    seed,
    serve,
)
from tests.e2e.ui.test_infusion_day import act, due_at, sign_in, status

PUMP = "PUMP-1"
PANEL_WAIT_MS = 15_000
"""The panel looks again every 3 s while an order waits for the pump (``_pump_panel.html``)."""


@pytest.fixture
def pump_server(tmp_path: Path) -> Iterator[tuple[Server, PumpSimulator]]:
    factory = build_unit_of_work_factory(sqlite_url(tmp_path / "pumps-ui.db"))
    clock = SteppedClock(START)
    settings = Settings(
        centre_timezone=ZONE,
        session_idle=timedelta(days=1),
        session_lifetime=timedelta(days=2),
        stream_max=timedelta(seconds=30),
    )
    centre = build_centre(settings, uow_factory=factory, hasher=Argon2Hasher.fast(), clock=clock)
    ids = seed(centre, START)
    with factory() as uow:
        chair = next(c for c in uow.chairs.list() if c.name == "Chair 1")
    centre.pump_orders.associate(system_actor(START), PUMP, chair.id, method="serial")
    library = PumpSimulator.library_from_json(build_library(shipped_catalog()).to_json_dict())
    with ExitStack() as stack:
        listener = stack.enter_context(
            MllpEndpoint(feed_answerer(centre.pump_feed.ingest, clock, orders=centre.pump_orders))
        )
        simulator = PumpSimulator(
            pump_ids=(PUMP,),
            library_max_rate=library,
            clock=clock,
            send=mllp_sender("127.0.0.1", listener.port),
        )
        gateway = stack.enter_context(MllpEndpoint(simulator.answer_order))
        centre.pump_orders.use_gateway(MllpPumpGateway("127.0.0.1", gateway.port, timeout_s=5))
        centre.pump_dispatcher.every_s = 1.0
        url = stack.enter_context(serve(create_app(centre, settings=settings)))  # lifespan: sender
        yield Server(url=url, clock=clock, centre=centre, ids=ids), simulator


def test_the_pump_panel_follows_an_order_from_sent_to_confirmed_and_shows_a_rejection(
    pump_server: tuple[Server, PumpSimulator], new_browser: BrowserFactory
) -> None:
    server, simulator = pump_server
    page = sign_in(new_browser(), server, "nurse1")
    chair1 = page.locator(f'[data-appointment="{server.ids["appointment1"]}"]')
    chair1.get_by_label("Stated name is Synthetic Patient 01").check()
    chair1.get_by_label("Stated date of birth").fill("1981-01-11")
    page.get_by_role("button", name="Check in Synthetic Patient 01 at Chair 1").click()
    expect(status(page)).to_contain_text("Checked in")
    expect(page.get_by_test_id("pump-id")).to_have_text(PUMP)
    act(page, "Record assessment")
    act(page, "Give premedication: methylprednisolone")
    act(page, "Give premedication: antihistamine (e.g. diphenhydramine)")
    server.clock.advance(timedelta(minutes=30))
    act(page, "Start infusion")
    expect(status(page)).to_contain_text("Infusing")

    # The order goes out in the background: the panel shows it sent, waiting at the pump.
    order = page.get_by_test_id("pump-order").first
    expect(order).to_have_attribute("data-status", "sent", timeout=PANEL_WAIT_MS)
    expect(order).to_contain_text("New bag 40 mL/h")
    expect(order).to_contain_text("waiting for confirmation at the pump")
    assert simulator.pump(PUMP).pending is not None
    screenshot(page, "chairside-pump-sent")

    # The nurse confirms at the pump; the gateway's RRG^O16 AA confirms it on the panel.
    simulator.confirm(PUMP)
    expect(order).to_have_attribute("data-status", "confirmed", timeout=PANEL_WAIT_MS)
    expect(order).to_contain_text("confirmed at the pump")
    expect(page.get_by_test_id("pump-watch")).to_have_count(0)  # nothing left to wait for
    screenshot(page, "chairside-pump-confirmed")

    # The first ladder step, rejected by the nurse at the pump: the reason is on the panel.
    # (The pump's start report is a new version of the session: the screen is read again.)
    page.reload()
    expect(page.get_by_test_id("pump-order").first).to_have_attribute("data-status", "confirmed")
    server.clock.set(due_at(page, "change-rate"))
    act(page, "Confirm rate step to 80 mL/h")
    step = page.get_by_test_id("pump-order").first
    expect(step).to_contain_text("Rate 80 mL/h")
    expect(step).to_have_attribute("data-status", "sent", timeout=PANEL_WAIT_MS)
    simulator.reject(PUMP)
    expect(step).to_have_attribute("data-status", "rejected", timeout=PANEL_WAIT_MS)
    expect(step).to_contain_text("rejected: 9023: Program rejected by the user")
    expect(page.get_by_test_id("pump-order")).to_have_count(2)
    screenshot(page, "chairside-pump-rejected")
