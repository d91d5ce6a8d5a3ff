"""A bedside monitor's alert, end to end in Debian's Chromium: the simulator's PCD-01 reading
(systolic 88 mmHg) arrives over MLLP, raises an alert, the alert shows on the chairside screen
with its rule and values, the nurse acknowledges it there with a note, and the chair board
shows who acknowledged it and when."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, send_frames_sync
from msinfusion.adapters.hl7.simulator import Monitor, Reading, pcd01_message
from tests.e2e.ui.conftest import ZONE, BrowserFactory, Server, screenshot
from tests.e2e.ui.test_infusion_day import press, sign_in, status

LOW_SYSTOLIC = Reading(
    heart_rate_bpm=72,
    spo2_pct=97,
    systolic_mmhg=88,  # NEWS2: 3 points for a systolic of 90 mmHg or less
    diastolic_mmhg=50,
    respiratory_rate_per_min=16,
    temperature_c=Decimal("36.8"),
)


def test_a_simulated_reading_alerts_at_the_chair_and_the_board_shows_the_acknowledgement(
    server: Server, new_browser: BrowserFactory
) -> None:
    page = sign_in(new_browser(), server, "nurse1")
    page.get_by_label("MRN or wristband scan for Synthetic Patient 01").fill("MRN-0001")
    page.get_by_role("button", name="Check in Synthetic Patient 01 at Chair 1").click()
    expect(status(page)).to_contain_text("Checked in")
    assert page.url.rsplit("/", 1)[-1].startswith("session-")

    server.clock.advance(timedelta(minutes=5))
    monitor = Monitor(bed="Chair 1", patient_id=server.ids["patient1"], serial="00A0370098007A80")
    message = pcd01_message(monitor, LOW_SYSTOLIC, control_id="SIM-1", at=server.clock())
    with BackgroundMllpServer(server.centre.monitoring, clock=server.clock) as listener:
        (ack,) = send_frames_sync("127.0.0.1", listener.port, [message])
    assert ack.split("\r")[1] == "MSA|AA|SIM-1|"

    page.reload()
    alert = page.get_by_test_id("chairside-alert").filter(has_text="systolic_mmhg 88")
    expect(alert).to_have_count(1)
    expect(alert.get_by_test_id("alert-rule")).to_have_text("news2-parameter-3")
    expect(alert).to_have_attribute("data-priority", "medium")
    alert_id = alert.get_attribute("data-alert-id")
    screenshot(page, "chairside-device-alert")

    server.clock.advance(timedelta(minutes=2))
    acknowledged_at = server.clock().astimezone(ZoneInfo(ZONE))
    alert.get_by_label("Note (optional)").fill("re-measured: 104/62")
    press(page, alert.get_by_role("button", name="Acknowledge"))
    expect(
        page.locator(f'[data-testid="chairside-alert"][data-alert-id="{alert_id}"]')
    ).to_have_count(0)

    page.goto(server.url + "/")
    done = page.locator(f'[data-testid="acknowledged-alert"][data-alert-id="{alert_id}"]')
    expect(done).to_contain_text("Acknowledged by nurse1 at " + acknowledged_at.strftime("%H:%M"))
    screenshot(page, "board-alert-acknowledged")
