"""The whole day in Debian's Chromium, one role after another, on one server (issue 18).

A nurse at the desk registers a patient; a physician orders ocrelizumab and signs with the
password re-entered; a scheduler books day 1 and day 15 from the order's calendar; a pharmacist
verifies and prepares the bag and a second pharmacist signs the check; the nurse checks the
patient in with two identifiers, scans the bag and runs the infusion to discharge on the
server's stepped clock; the record prints; an admin finds every step in the audit viewer.
Refused on the way, with nothing stored: booking an unsigned order, a second booking of the
same dose, and the wrong bag at the chair.

The screening results a lab interface would send are recorded through the service layer (the
UI has no lab entry form): without them the first dose's gates would stop the start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from tests.e2e.ui.conftest import PASSWORD, START, BrowserFactory, Server, screenshot
from tests.e2e.ui.test_infusion_day import act, due_at, press, refused, status

PATIENT = "Synthetic Whole Day"
MRN = "MRN-4242"
BORN = "1979-04-12"
TODAY = START.date()  # 2026-03-02, 09:00 in Zurich


def _users(server: Server) -> None:
    system = system_actor(START)
    for username, role, name in (
        ("scheduler1", Role.SCHEDULER, "Sam Scheduler"),
        ("pharmacist1", Role.PHARMACIST, "Pia Pharma"),
        ("pharmacist2", Role.PHARMACIST, "Per Second"),
        ("admin1", Role.ADMIN, "Ada Admin"),
    ):
        server.centre.accounts.create_user(
            system, username=username, role=role, password=PASSWORD, display_name=name
        )
    server.centre.records.add_chair(system, name="Chair 4")  # chairs 1-3 are busy all morning


def _sign_in(context: Any, server: Server, username: str, landing: str = "/") -> Page:
    assert isinstance(context, BrowserContext)
    page: Page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{server.url}/login?next={landing}")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def _screening(server: Server, patient_id: str) -> None:
    """The first dose's screening on file (as the lab interface would send it)."""
    with server.centre.access.uow_factory() as uow:
        nurse = uow.users.get_by_username("nurse1")
    actor = server.centre.accounts.get_principal(nurse.id).acting(server.clock(), "lab")
    screened = (TODAY - timedelta(days=10)).isoformat()
    labs: list[dict[str, Any]] = [
        {"test": "hbsag", "on": screened, "positive": False},
        {"test": "anti_hbc", "on": screened, "positive": False},
        {"test": "serum_immunoglobulins", "on": screened, "abnormal": False},
        *(
            {"test": t, "on": screened, "abnormal": False}
            for t in ("alt", "ast", "alp", "bilirubin")
        ),
    ]
    for lab in labs:
        server.centre.clinical.record(actor, patient_id, "lab", lab)
    for kind, fields in (
        ("profile", {"vaccination_history_reviewed": True, "on": screened}),
        ("finding", {"name": "active_infection", "on": TODAY.isoformat(), "present": False}),
    ):
        server.centre.clinical.record(actor, patient_id, kind, fields)


def _register(page: Page) -> str:
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Name (required)").fill(PATIENT)
    page.get_by_label("Date of birth").fill(BORN)
    page.get_by_label("Height (cm)").fill("170")
    page.get_by_label("Weight (kg)").fill("68")
    page.get_by_label("System 1").fill("MRN")
    page.get_by_label("Value 1").fill(MRN)
    screenshot(page, "whole-day-registration")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name=PATIENT)).to_be_visible()
    return page.url.rsplit("/", 1)[1]


def _order(page: Page, server: Server, patient_id: str) -> str:
    page.goto(f"{server.url}/patients/{patient_id}")
    page.get_by_role("link", name="New order for this patient").click()
    page.get_by_label("Therapy").select_option("ocrelizumab")
    page.get_by_label("Start date").fill(TODAY.isoformat())
    page.get_by_label("Indication (required)").fill("relapsing MS")
    expect(page.get_by_test_id("order-check")).to_contain_text("Dose 2 (day 15)")
    page.get_by_role("button", name="Save draft order").click()
    expect(page.get_by_test_id("order-status")).to_contain_text("draft")
    return page.url


def _sign(page: Page) -> None:
    page.get_by_label("Your password (to sign)").fill(PASSWORD)
    page.get_by_role("button", name="Sign order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("signed")
    expect(page.get_by_test_id("signed-by")).to_contain_text("physician1")


def _book_both(context: Any, page: Page, order_url: str) -> tuple[str, Page]:
    """Day 1 at 10:00 and day 15 at 09:00 on Chair 4; returns day 1's appointment id and a
    page opened before day 1 was booked (its booking is refused later)."""
    page.goto(order_url)
    page.get_by_test_id("book-link").click()
    stale: Page = context.new_page()
    stale.goto(page.url)
    expect(stale.get_by_role("heading", name="Book dose 1")).to_be_visible()
    page.get_by_label("Time").fill("10:00")
    page.get_by_label("Chair").select_option(label="Chair 4")
    expect(page.get_by_test_id("chair-time")).to_be_visible()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_test_id("booked")).to_be_visible()
    expect(page.get_by_role("heading", name="Book dose 2")).to_be_visible()
    page.get_by_label("Time").fill("09:00")
    page.get_by_label("Chair").select_option(label="Chair 4")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_test_id("booked")).to_be_visible()
    windows = page.get_by_test_id("dose-windows")
    expect(windows).to_contain_text(f"booked {TODAY.isoformat()} 10:00")
    expect(windows).to_contain_text(f"booked {(TODAY + timedelta(days=14)).isoformat()} 09:00")
    first = windows.locator("tbody tr").first.get_by_role("link", name="reschedule or cancel")
    href = first.get_attribute("href")
    assert href is not None
    assert href.startswith("/appointments/")
    return href.rsplit("/", 1)[1], stale


def _pharmacy(page: Page, appointment_id: str) -> str:
    """Verify, prepare, the second check by pharmacist2; returns the label's bag id."""
    expect(page.get_by_role("heading", name="Pharmacy verification")).to_be_visible()
    dose = page.locator(f"#dose-{appointment_id}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("to verify")
    expect(dose.get_by_test_id("labs")).to_contain_text("hbsag")
    dose.get_by_role("button", name="Verify dose").click()
    dose = page.locator(f"#dose-{appointment_id}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("verified")
    dose.get_by_label("Product").fill("Ocrevus 300 mg/10 mL concentrate")
    dose.get_by_label("Lot").fill("W0426")
    dose.get_by_label("Expiry").fill("2027-06-30")
    dose.get_by_role("button", name="Record preparation").click()
    dose = page.locator(f"#dose-{appointment_id}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("prepared")
    dose.get_by_label("Checked by (user name)").fill("pharmacist2")
    dose.get_by_label("Their password").fill(PASSWORD)
    dose.get_by_role("button", name="Sign the check").click()
    dose = page.locator(f"#dose-{appointment_id}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("checked")
    dose.get_by_role("link", name="Print bag label").click()
    expect(
        page.get_by_test_id("bag-label").get_by_role("img", name="Barcode of bag")
    ).to_be_visible()
    bag_id = page.get_by_test_id("bag-id").inner_text().strip()
    assert bag_id.startswith("prep-")
    return bag_id


def _check_in(page: Page, server: Server, appointment_id: str) -> str:
    """Two identifiers at the board: the MRN, then the stated name and date of birth."""
    page.goto(server.url + "/")
    card = page.locator(f'[data-appointment="{appointment_id}"]')
    expect(card.get_by_test_id("status")).to_contain_text("Booked")
    card.get_by_label(f"MRN or wristband scan for {PATIENT}").fill(MRN)
    card.get_by_label(f"Stated name is {PATIENT}").check()
    card.get_by_label(f"Stated date of birth of {PATIENT}").fill(BORN)
    card.get_by_role("button", name=f"Check in {PATIENT} at Chair 4").click()
    expect(status(page)).to_contain_text("Checked in")
    return page.url.rsplit("/", 1)[-1]


def _infuse(page: Page, server: Server, bag_id: str) -> None:
    """Premedication, the wrong bag refused, the right one, the ladder, observation, discharge."""
    clock = server.clock
    act(page, "Record assessment")
    act(page, "Give premedication: methylprednisolone")
    act(page, "Give premedication: antihistamine (e.g. diphenhydramine)")
    clock.advance(timedelta(minutes=30))
    page.get_by_label("Bag id (scan or type)").fill("prep-0000000000000000")
    refused(page, "Start infusion", "bag-mismatch")
    expect(status(page)).to_contain_text("Checked in")
    page.get_by_label("Bag id (scan or type)").fill(bag_id)
    act(page, "Start infusion")
    expect(status(page)).to_contain_text("Infusing")
    for _ in range(10):
        step = page.get_by_role("button", name="Confirm rate step to", exact=False)
        if step.count() == 0:
            break
        clock.set(due_at(page, "change-rate"))
        press(page, step)
        expect(page.get_by_test_id("flash")).to_be_visible()
    clock.set(due_at(page, "complete-infusion") + timedelta(seconds=1))
    act(page, "Complete infusion")
    expect(status(page)).to_contain_text("Observation")
    clock.set(due_at(page, "discharge"))
    page.get_by_label("Heart rate (/min)").fill("74")
    act(page, "Record vital signs")
    act(page, "Discharge patient")
    expect(status(page)).to_contain_text("Discharged")


def test_the_whole_day_from_registration_to_the_audit_trail(
    server: Server, new_browser: BrowserFactory
) -> None:
    _users(server)
    # 1. register (a nurse at the desk)
    nurse = _sign_in(new_browser(), server, "nurse1")
    patient_id = _register(nurse)
    _screening(server, patient_id)

    # 2. the physician's draft order; the scheduler cannot book it while unsigned
    physician = _sign_in(new_browser(), server, "physician1")
    order_url = _order(physician, server, patient_id)
    order_id = order_url.rsplit("/", 1)[1]
    context = new_browser()
    scheduler = _sign_in(context, server, "scheduler1")
    scheduler.goto(f"{server.url}/appointments/new?order_id={order_id}")
    expect(scheduler.get_by_role("alert")).to_contain_text("only a signed order is booked")
    expect(scheduler.get_by_role("button", name="Book", exact=True)).to_have_count(0)
    _sign(physician)

    # 3. book day 1 and day 15; a second booking of day 1 is refused with its rule
    appointment_id, stale = _book_both(context, scheduler, order_url)
    stale.get_by_label("Time").fill("10:00")
    stale.get_by_label("Chair").select_option(label="Chair 4")
    stale.get_by_role("button", name="Book", exact=True).click()
    expect(stale.get_by_test_id("form-error")).to_contain_text("duplicate")
    with server.centre.access.uow_factory() as uow:
        live = list(uow.appointments.list_for_patient(patient_id))
    assert sorted(a.dose_number for a in live) == [1, 2]

    # 4. pharmacy: verify, prepare, the second check, the label
    pharmacy = _sign_in(new_browser(), server, "pharmacist1", landing="/pharmacy")
    bag_id = _pharmacy(pharmacy, appointment_id)

    # 5-6. at the chair: check in, the wrong bag refused, the infusion run to discharge
    server.clock.set(START + timedelta(minutes=50))
    session_id = _check_in(nurse, server, appointment_id)
    _infuse(nurse, server, bag_id)

    # 7. the printable record
    nurse.goto(f"{server.url}/sessions/{session_id}/record")
    expect(nurse.get_by_role("heading", name="Infusion record")).to_be_visible()
    expect(nurse.get_by_test_id("record-bag")).to_contain_text(bag_id)
    expect(nurse.get_by_test_id("record-bag")).to_contain_text("Per Second (pharmacist2)")
    entries = nurse.get_by_test_id("record-entries")
    for words in ("Infusion started", "Infusion completed", "discharged"):
        expect(entries).to_contain_text(words, ignore_case=True)

    # 8. the admin finds every step in the audit trail
    admin = _sign_in(new_browser(), server, "admin1", landing="/admin/audit")
    admin.goto(f"{server.url}/admin/audit?patient={patient_id}")
    trail = admin.get_by_test_id("audit")
    for action in (
        "patient.create",
        "clinical.lab",
        "order.create",
        "order.sign",
        "appointment.create",
        "pharmacy.verify",
        "session.command.CheckIn",
        "session.command.CompleteInfusion",
        "session.command.Discharge",
        "session.record.read",
    ):
        expect(trail).to_contain_text(action)
    expect(trail).to_contain_text("refused:bag-mismatch")
    expect(trail).to_contain_text("Sam Scheduler")  # users by name, not id
    screenshot(admin, "whole-day-audit")
    # The preparation and its check are the pharmacy's records (not the patient's): by action.
    admin.goto(f"{server.url}/admin/audit?action=pharmacy")
    for action in ("pharmacy.verify", "pharmacy.prepare", "pharmacy.check"):
        expect(trail).to_contain_text(action)
    expect(trail).to_contain_text("Per Second")
    # The refused second booking stored no appointment, but its attempt is on the trail
    # (audited as ``refused:duplicate``: outcomes name the rule, never message text).
    admin.goto(f"{server.url}/admin/audit?action=appointment.create&user=scheduler1")
    rows = trail.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="refused:duplicate")).to_have_count(1)
    admin.get_by_label("Action (e.g. order.sign, or order)").fill("order.sign")
    admin.get_by_label("User name").fill("")
    admin.get_by_role("button", name="Search").click()
    expect(trail.locator("tbody tr")).to_have_count(1)
    expect(trail).to_contain_text("physician1")
