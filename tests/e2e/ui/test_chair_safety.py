"""At the chair in the browser (issue 16): two identifiers at check-in, a premedication with the
wrong dose and route that does not count, a start without the steroid authorised by the
physician's verbal order, and that physician co-signing it on their own screen.

Debian's Chromium through ``conftest.new_browser`` (never a downloaded browser); what was stored
is read back through the API's events list of the session.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.ui.conftest import BrowserFactory, Server
from tests.e2e.ui.test_infusion_day import act, press, refused, sign_in, status


def _events(server: Server, session_id: str) -> list[dict[str, Any]]:
    """The stored events, read as a nurse through the service layer (the API's own source)."""
    with server.centre.access.uow_factory() as uow:
        nurse = uow.users.get_by_username("nurse1")
    actor = server.centre.accounts.get_principal(nurse.id).acting(server.clock(), "test")
    return [e.to_json_dict() for e in server.centre.sessions.list_events(actor, session_id)]


def _premedication_form(page: Page, drug: str) -> Any:
    return page.locator('form[data-command="GivePremedication"]').filter(
        has_text=f"Give premedication: {drug}"
    )


def test_identity_premedication_mismatch_and_a_co_signed_verbal_order(
    server: Server, new_browser: BrowserFactory
) -> None:
    page = sign_in(new_browser(), server, "nurse1")
    chair1 = page.locator(f'[data-appointment="{server.ids["appointment1"]}"]')
    # Synthetic Patient 01 was born 1981-01-11: a stated 1981-01-12 is refused, nothing opens.
    chair1.get_by_label("Stated name is Synthetic Patient 01").check()
    chair1.get_by_label("Stated date of birth").fill("1981-01-12")
    chair1.get_by_role("button", name="Check in Synthetic Patient 01 at Chair 1").click()
    expect(page.get_by_text("patient-identification")).to_be_visible()
    expect(page.get_by_text("do not match this appointment's patient")).to_be_visible()
    page.reload()  # the board refreshes live as the visit's session opened; start afresh
    chair1.get_by_label("MRN or wristband scan for Synthetic Patient 01").fill("MRN-0001")
    chair1.get_by_role("button", name="Check in Synthetic Patient 01 at Chair 1").click()
    expect(status(page)).to_contain_text("Checked in")
    session_id = page.url.rsplit("/", 1)[-1]
    act(page, "Record assessment")

    # The steroid given as 10 mg by mouth: not the protocol's 100 mg IV.
    steroid = _premedication_form(page, "methylprednisolone")
    expect(page.get_by_text("Protocol: methylprednisolone 100 mg IV")).to_be_visible()
    steroid.get_by_label("Dose given (number and unit)").fill("10 mg")
    steroid.get_by_label("Route").select_option("PO")
    refused(page, "Give premedication: methylprednisolone", "premedication-mismatch")
    expect(page.get_by_text("does not match the protocol's premedication")).to_be_visible()
    act(page, "Chart what was given, not counting it as the protocol's premedication")
    act(page, "Give premedication: antihistamine (e.g. diphenhydramine)")  # 50 mg IV, the list's

    server.clock.advance(timedelta(minutes=30))
    refused(page, "Start infusion", "premedication-window")
    expect(page.get_by_text("methylprednisolone was not given")).to_be_visible()
    # The nurse may not override; she records the physician's verbal order.
    page.get_by_label("Physician's user name (verbal order)").fill("physician1")
    page.get_by_label("The physician's reason, as given").fill("steroid refused by the patient")
    press(page, page.get_by_role("button", name="Record the verbal order"))
    expect(status(page)).to_contain_text("Infusing")
    expect(page.get_by_test_id("verbal-orders")).to_contain_text("verbal order of physician1")
    expect(page.get_by_role("button", name="Co-sign verbal order", exact=False)).to_have_count(0)

    doctor = sign_in(new_browser(), server, "physician1")
    doctor.goto(f"{server.url}/sessions/{session_id}")
    cosign = doctor.get_by_role("button", name="Co-sign verbal order", exact=False)
    press(doctor, cosign)
    expect(doctor.get_by_test_id("verbal-orders")).to_have_count(0)

    events = _events(server, session_id)
    given = [e for e in events if e["type"] == "PremedicationGiven"]
    assert [(e["drug"], e["dose_mg"], e["route"], e["satisfies"]) for e in given] == [
        ("methylprednisolone", "10", "PO", None),
        ("diphenhydramine", "50", "IV", "antihistamine (e.g. diphenhydramine)"),
    ]
    (started,) = [e for e in events if e["type"] == "InfusionStarted"]
    assert (started["verbal_order_by"], started["user"]) == ("physician1", "nurse1")
    (signed,) = [e for e in events if e["type"] == "VerbalOrderCosigned"]
    assert (signed["entry_sequence"], signed["user"]) == (started["sequence"], "physician1")


def test_the_pharmacist_sees_a_contraindicated_therapy_and_cannot_verify_it(
    server: Server, new_browser: BrowserFactory
) -> None:
    """The pharmacist's screen: a therapy the record contraindicates (a reaction recorded
    elsewhere) is flagged on the day's queue, and verifying it is refused with its rule."""
    from tests.e2e.ui.test_pharmacy_bag import _pharmacist_page, _pharmacists

    _pharmacists(server)
    with server.centre.access.uow_factory() as uow:
        patient = uow.patients.get(server.ids["patient1"])
        uow.patients.update(replace(patient, contraindicated_therapy_ids=("ocrelizumab",)))
        uow.commit()
    pharmacy = _pharmacist_page(new_browser(), server)
    dose = pharmacy.locator(f"#dose-{server.ids['appointment1']}")
    expect(dose.get_by_test_id("contraindicated")).to_contain_text(
        "ocrelizumab is contraindicated for this patient"
    )
    dose.get_by_role("button", name="Verify dose").click()
    expect(pharmacy.get_by_text("therapy-contraindicated")).to_be_visible()
    dose = pharmacy.locator(f"#dose-{server.ids['appointment1']}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("to verify")  # nothing stored
