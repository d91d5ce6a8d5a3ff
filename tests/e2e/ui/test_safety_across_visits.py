"""Safety across visits in the browser (issue 16): what a nurse and a physician see when the
record refuses, and that nothing was stored (read back through the API's events list).

One Chromium for the module (Debian's, launched by path; never downloaded), a fresh context per
user, the live server of ``conftest.server``. Worlds are built over the JSON API with bearer
tokens (the service layer's own contract), the screens are driven in the browser:

* the anaphylaxis story: a life-threatening reaction on ocrelizumab dose 1 → the patient page
  says the therapy is contraindicated → booking dose 2 is refused (422 ``therapy-contraindicated``;
  there is no booking screen) → a visit already checked in before the reaction cannot start →
  the dose-2 visit, booked before the reaction, is refused at check-in on the chairside page;
* a check-in for another patient than the appointment's (``appointment-mismatch``);
* a visit with no order cannot start (``order-missing``);
* a nurse's retraction of a physician's positive anti-HBc waits for the physician's co-signature
  on the patient page (docs/clinical/safety-across-visits.md, "Co-signed retraction").

The board's "Check in" button always checks in the appointment's own patient, so a check-in that
names someone else (a stale second tab, a scanner integration) arrives as a posted chairside
form: the tests post that form from the page (``post_check_in``), with the two identifiers a
check-in carries, and read the screen the server answers with.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Appointment
from tests.e2e.ui.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, START, Server

MRN = "urn:oid:2.16.756.5.30.1.1"  # an example issuer namespace; every value here is synthetic
INITIAL = "ocrelizumab-300-initial"
STANDARD = "ocrelizumab-600-standard"


# -- one browser, one context per user ----------------------------------------------------------


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture
def people(browser: Browser, server: Server) -> Iterator[Any]:
    """``people("nurse1")`` -> a signed-in page in a fresh context (closed after the test)."""
    opened: list[BrowserContext] = []

    def sign_in(username: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(10_000)
        opened.append(context)
        page = context.new_page()
        page.goto(server.url + "/login")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Chair board")).to_be_visible()
        return page

    yield sign_in
    for context in opened:
        context.close()


# -- the API, as the test's own hands ------------------------------------------------------------


@pytest.fixture
def api(server: Server) -> Iterator[Any]:
    """``api("nurse1")`` -> the JSON API as that user (clients closed after the test)."""
    made: list[Api] = []

    def as_user(username: str) -> Api:
        made.append(Api(server, username))
        return made[-1]

    yield as_user
    for client in made:
        client.close()


class Api:
    """The JSON API as one user, with a bearer token issued to that user."""

    def __init__(self, server: Server, username: str) -> None:
        accounts = server.centre.accounts
        principal = accounts.login(username, PASSWORD, at=server.clock(), remote_addr="test")
        acting = principal.acting(server.clock(), "test")
        _, raw = accounts.issue_token(acting, principal.user_id, label="ui-test")
        self.user_id = principal.user_id
        self._server = server
        self._client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {raw}"}, timeout=10
        )

    def call(self, method: str, path: str, body: Any = None, *, status: int | None = None) -> Any:
        answer = self._client.request(method, path, json=body)
        if status is not None:
            assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer

    def command(self, session_id: str, body: dict[str, Any], *, status: int = 200) -> Any:
        version = self.events(session_id)["version"]
        command = {"at": self._server.clock().isoformat(), **body}
        return self.call(
            "POST",
            f"/api/sessions/{session_id}/commands",
            {"expected_version": version, "command": command},
            status=status,
        )

    def events(self, session_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/api/sessions/{session_id}/events", status=200)
        found: dict[str, Any] = answer.json()
        return found

    def close(self) -> None:
        self._client.close()

    def event_types(self, session_id: str) -> list[str]:
        return [e["type"] for e in self.events(session_id)["events"]]


def _json(answer: Any) -> Any:
    return answer.json()


def new_patient(server: Server, physician: Api, nurse: Api, mrn: str) -> dict[str, str]:
    """A synthetic patient with a birth date and an MRN on an ocrelizumab course starting today,
    the first-dose screening on file (all negative or normal), and a chair of their own."""
    patient = _json(
        nurse.call(
            "POST",
            "/api/patients",
            {
                "display_name": f"Synthetic Patient {mrn}",
                "date_of_birth": "1980-05-17",
                "identifiers": [{"system": MRN, "value": mrn}],
                "height_cm": 170,
                "weight_kg": 70,
            },
            status=201,
        )
    )
    today = START.date().isoformat()
    order = _json(
        physician.call(
            "POST",
            "/api/orders",
            {"patient_id": patient["id"], "therapy_id": "ocrelizumab", "start_date": today},
            status=201,
        )
    )
    screened = (START.date() - timedelta(days=14)).isoformat()
    entries = [
        ("lab", {"test": "hbsag", "on": screened, "positive": False}),
        ("lab", {"test": "anti_hbc", "on": screened, "positive": False}),
        ("lab", {"test": "serum_immunoglobulins", "on": screened, "abnormal": False}),
        *(("lab", {"test": t, "on": screened, "abnormal": False}) for t in ("alt", "ast", "alp")),
        ("lab", {"test": "bilirubin", "on": screened, "abnormal": False}),
        ("profile", {"vaccination_history_reviewed": True, "on": screened}),
        ("finding", {"name": "active_infection", "on": today, "present": False}),
    ]
    for kind, item in entries:
        nurse.call(
            "POST",
            f"/api/patients/{patient['id']}/clinical-entries",
            {"kind": kind, "item": item},
            status=201,
        )
    chair = server.centre.records.add_chair(system_actor(server.clock()), name=f"Chair {mrn}")
    return {"patient": patient["id"], "order": order["id"], "chair": chair.id, "mrn": mrn}


def book(
    api: Api, world: dict[str, str], protocol_id: str, dose: int, at: datetime, **extra: Any
) -> Any:
    return api.call(
        "POST",
        "/api/appointments",
        {
            "patient_id": world["patient"],
            "chair_id": world["chair"],
            "protocol_id": protocol_id,
            "dose_number": dose,
            "starts_at": at.isoformat(),
            "order_id": world["order"],
            **extra,
        },
    )


def stored_appointment(
    server: Server, world: dict[str, str], name: str, dose: int, at: datetime, *, ordered: bool
) -> str:
    """An appointment written straight to storage: a visit booked twice by mistake, or one
    with no order (the booking API would not make either)."""
    appointment = Appointment(
        id=f"appointment-{name}",
        patient_id=world["patient"],
        chair_id=world["chair"],
        protocol_id=INITIAL,
        dose_number=dose,
        starts_at=at,
        ends_at=at + timedelta(hours=4),
        order_id=world["order"] if ordered else None,
    )
    with server.centre.access.uow_factory() as uow:
        uow.appointments.add(appointment)
        uow.commit()
    return appointment.id


def open_session(nurse: Api, appointment_id: str) -> str:
    opened = nurse.call("POST", "/api/sessions", {"appointment_id": appointment_id}, status=201)
    session_id: str = opened.json()["session_id"]
    return session_id


def check_in_body(
    world: dict[str, str], dose: int, *, patient_id: str | None = None
) -> dict[str, Any]:
    return {
        "command": "CheckIn",
        "patient_id": patient_id or world["patient"],
        "protocol_id": INITIAL,
        "dose_number": dose,
        "identity_check": "identifier",
        "confirmed_identifier": world["mrn"],
    }


def premedicate(nurse: Api, session_id: str) -> None:
    """The assessment and both required premedications, in the protocol's drug, dose and route."""
    for body in (
        {"command": "RecordAssessment", "passed": True},
        {"command": "GivePremedication", "drug": "methylprednisolone", "dose": "100 mg",
         "route": "IV", "for_premedication": "methylprednisolone"},
        {"command": "GivePremedication", "drug": "diphenhydramine", "dose": "25 mg",
         "route": "PO", "for_premedication": "antihistamine (e.g. diphenhydramine)"},
    ):  # fmt: skip
        nurse.command(session_id, body)


# -- what the screen shows -----------------------------------------------------------------------


def post_check_in(page: Page, session_id: str, fields: dict[str, Any]) -> None:
    """Post a check-in form from the chairside page (with the page's CSRF token) and wait for
    the server's answer to replace the page."""
    with page.expect_navigation():
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const token = document.querySelector('input[name="csrf_token"]').value;
                for (const [name, value] of Object.entries({...fields, csrf_token: token})) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = String(value);
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [
                f"/sessions/{session_id}/commands/CheckIn",
                {"expected_version": 0, **{k: v for k, v in fields.items() if k != "command"}},
            ],
        )


def shows_refusal(page: Page, rule: str) -> None:
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_be_visible()
    expect(page.get_by_test_id("rule")).to_have_text(rule)


# -- the scenarios -------------------------------------------------------------------------------


def test_after_anaphylaxis_ocrelizumab_is_never_booked_started_or_checked_in_again(
    server: Server, people: Any, api: Any
) -> None:
    clock = server.clock
    nurse, physician = api("nurse1"), api("physician1")
    world = new_patient(server, physician, nurse, "MRN-0401")
    day_1 = START
    day_15 = START + timedelta(days=14)
    dose_1 = _json(book(nurse, world, INITIAL, 1, day_1))["id"]
    dose_2 = book(nurse, world, INITIAL, 2, day_15 + timedelta(hours=1))  # booked together
    assert dose_2.status_code == 201, dose_2.text
    # The same dose booked twice by mistake, checked in on a second chair before the reaction.
    twice = stored_appointment(server, world, "twice", 1, day_1, ordered=True)
    first, second = open_session(nurse, dose_1), open_session(nurse, twice)
    nurse.command(first, check_in_body(world, 1))
    premedicate(nurse, first)
    clock.advance(timedelta(minutes=15))
    nurse.command(second, check_in_body(world, 1))
    premedicate(nurse, second)
    clock.advance(timedelta(minutes=15))
    nurse.command(first, {"command": "StartInfusion", "rate_ml_per_h": 30})
    clock.advance(timedelta(minutes=10))
    reaction = {
        "command": "RecordReaction",
        "severity": "life-threatening",
        "symptoms": ["dyspnoea", "hypotension"],
    }
    nurse.command(first, reaction)

    # The patient page says so.
    page = people("physician1")
    page.goto(f"{server.url}/patients/{world['patient']}")
    flags = page.get_by_role("region", name="Contraindication flags")
    expect(flags).to_contain_text(f"({INITIAL}) contraindicates this therapy")
    read = _json(physician.call("GET", f"/api/patients/{world['patient']}", status=200))
    assert read["contraindicated_therapy_ids"] == ["ocrelizumab"]

    # Dose 2 cannot be booked again (there is no booking screen: the API, as the board uses).
    before = _json(nurse.call("GET", f"/api/appointments?date={day_15.date()}", status=200))
    moved = book(nurse, world, INITIAL, 2, day_15 + timedelta(days=1))
    assert moved.status_code == 422, moved.text
    assert (moved.json()["error"], moved.json()["rule"]) == (
        "command-refused",
        "therapy-contraindicated",
    )
    assert _json(nurse.call("GET", f"/api/appointments?date={day_15.date()}")) == before

    # The visit checked in before the reaction cannot start: refused on the chairside screen.
    nurse_page = people("nurse1")
    nurse_page.goto(f"{server.url}/sessions/{second}")
    version = nurse.events(second)["version"]
    nurse_page.get_by_role("button", name="Start infusion", exact=True).click()
    shows_refusal(nurse_page, "therapy-contraindicated")
    expect(nurse_page.get_by_test_id("refusal")).to_contain_text(first)
    assert nurse.events(second)["version"] == version
    assert "InfusionStarted" not in nurse.event_types(second)

    # Day 15: dose 2, booked before the reaction, is refused at check-in.
    clock.advance(day_15 - clock())
    session_2 = open_session(api("nurse2"), dose_2.json()["id"])
    chairside = people("nurse2")
    chairside.goto(f"{server.url}/sessions/{session_2}")
    post_check_in(chairside, session_2, check_in_body(world, 2))
    shows_refusal(chairside, "therapy-contraindicated")
    expect(chairside.get_by_test_id("refusal")).to_contain_text("Nothing was recorded")
    stored = nurse.events(session_2)
    assert (stored["version"], stored["events"]) == (0, [])


def test_a_check_in_for_another_patient_is_refused_on_the_screen(
    server: Server, people: Any, api: Any
) -> None:
    nurse, physician = api("nurse1"), api("physician1")
    world = new_patient(server, physician, nurse, "MRN-0402")
    other = new_patient(server, physician, nurse, "MRN-0403")
    appointment = _json(book(nurse, world, INITIAL, 1, START))["id"]
    session_id = open_session(nurse, appointment)
    page = people("nurse1")
    page.goto(f"{server.url}/sessions/{session_id}")
    post_check_in(page, session_id, check_in_body(other, 1))
    shows_refusal(page, "appointment-mismatch")
    expect(page.get_by_test_id("refusal")).to_contain_text(
        f"this session is for appointment {appointment}"
    )
    assert nurse.events(session_id)["version"] == 0
    # The board still shows the appointment's own patient, opened but not checked in.
    page.goto(server.url + "/")
    row = page.locator(f'[data-appointment="{appointment}"]')
    expect(row).to_contain_text("Synthetic Patient MRN-0402")
    expect(row).not_to_contain_text("MRN-0403")
    expect(row.get_by_test_id("status")).to_contain_text("Opened")


def test_a_visit_with_no_order_cannot_start(server: Server, people: Any, api: Any) -> None:
    nurse, physician = api("nurse1"), api("physician1")
    world = new_patient(server, physician, nurse, "MRN-0404")
    unordered = stored_appointment(server, world, "unordered", 1, START, ordered=False)
    session_id = open_session(nurse, unordered)
    nurse.command(session_id, check_in_body(world, 1))
    premedicate(nurse, session_id)
    server.clock.advance(timedelta(minutes=30))
    page = people("nurse1")
    page.goto(f"{server.url}/sessions/{session_id}")
    version = nurse.events(session_id)["version"]
    page.get_by_role("button", name="Start infusion", exact=True).click()
    shows_refusal(page, "order-missing")
    expect(page.get_by_test_id("refusal")).to_contain_text("active physician's order")
    assert nurse.events(session_id)["version"] == version
    assert "InfusionStarted" not in nurse.event_types(session_id)


def test_a_nurse_s_retraction_of_a_physician_s_result_waits_for_the_co_signature(
    server: Server, people: Any, api: Any
) -> None:
    nurse, physician = api("nurse1"), api("physician1")
    world = new_patient(server, physician, nurse, "MRN-0405")
    patient_id = world["patient"]
    lab = _json(
        physician.call(
            "POST",
            f"/api/patients/{patient_id}/clinical-entries",
            {"kind": "lab", "item": {"test": "anti_hbc", "on": START.date().isoformat(),
                                     "positive": True}},
            status=201,
        )
    )  # fmt: skip
    page = people("nurse1")
    page.goto(f"{server.url}/patients/{patient_id}")
    row = page.locator(f'tr[data-entry="{lab["id"]}"]')
    row.get_by_label("Reason for retracting this lab entry (required)").fill(
        "another patient's tube"
    )
    row.get_by_role("button", name="Retract").click()
    expect(page.get_by_test_id("recorded")).to_contain_text("retraction")
    row = page.locator(f'tr[data-entry="{lab["id"]}"]')
    expect(row.get_by_test_id("pending-retraction")).to_contain_text(
        "it still counts until a physician co-signs"
    )
    expect(row.locator("del")).to_have_count(0)
    expect(row.get_by_role("button", name="Co-sign retraction")).to_have_count(0)  # not hers
    (gate,) = [
        g
        for g in _json(nurse.call("GET", f"/api/patients/{patient_id}/courses"))["courses"][0][
            "gates"
        ]
        if g["gate_id"] == "hbv_anti_hbc"
    ]
    assert gate["status"] == "fail"  # still blocked

    doctor = people("physician1")
    doctor.goto(f"{server.url}/patients/{patient_id}")
    doctor.locator(f'tr[data-entry="{lab["id"]}"]').get_by_role(
        "button", name="Co-sign retraction"
    ).click()
    expect(doctor.get_by_test_id("recorded")).to_contain_text("co-signature of the retraction")
    row = doctor.locator(f'tr[data-entry="{lab["id"]}"]')
    expect(row.locator("del")).to_contain_text("anti_hbc")
    expect(row).to_contain_text("retracted")
    entries = {
        e["id"]: e for e in _json(nurse.call("GET", f"/api/patients/{patient_id}/clinical-entries"))
    }
    assert entries[lab["id"]]["retracted"] is True
