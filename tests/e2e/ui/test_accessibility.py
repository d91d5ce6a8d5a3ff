"""axe-core on every page issue 18 added, in Debian's Chromium, each as the role that uses it.

axe-core comes from PyPI: ``axe-playwright-python`` ships ``axe.min.js`` (no npm, no download
at run time); it is injected into each page with Playwright and run with its default rules
(WCAG 2.x A and AA, and best practices). No page may have a serious or critical violation;
every violation found is listed in the failure message. The counts per page are written to
``test-output/accessibility.md``, and every page is screenshot.

``MSINFUSION_UPDATE_DOCS=1`` also writes that table into ``docs/accessibility.md`` (between its
markers) and copies the screenshots into ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from tests.e2e.ui.conftest import (
    PASSWORD,
    PROTOCOL_ID,
    START,
    BrowserFactory,
    Server,
    screenshot,
)
from tests.e2e.ui.test_safety_across_visits import Api

ROOT = Path(__file__).resolve().parents[3]
REPORT = ROOT / "test-output" / "accessibility.md"
DOC = ROOT / "docs" / "accessibility.md"
DOC_SHOTS = ROOT / "docs" / "screenshots"
BEGIN, END = "<!-- axe-results:begin -->", "<!-- axe-results:end -->"
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = frozenset({"critical", "serious"})


def axe_source() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_version() -> str:
    first = axe_source()[:80]
    return first.split("axe v", 1)[1].split()[0] if "axe v" in first else "unknown"


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (rule, impact, the nodes' targets)."""
    page.evaluate(axe_source())
    result: dict[str, Any] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ("
        "{id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})))"
        ".then(vs => ({violations: vs}))"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


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


def _sign_in(context: Any, server: Server, username: str) -> Page:
    assert isinstance(context, BrowserContext)
    page: Page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def _draft_order(server: Server) -> str:
    """A draft order for patient 1 (its page shows the signing form)."""
    physician = server.centre.accounts.login(
        "physician1", PASSWORD, at=server.clock(), remote_addr="test"
    ).acting(server.clock(), "test")
    order = server.centre.records.add_order(
        physician,
        patient_id=server.ids["patient1"],
        therapy_id="ocrelizumab",
        start_date=START.date() + timedelta(days=7),
        draft=True,
    )
    return order.id


def _signed_order(server: Server) -> str:
    with server.centre.access.uow_factory() as uow:
        appointment = uow.appointments.get(server.ids["appointment1"])
    assert appointment.order_id is not None
    return appointment.order_id


def _session_under_way(server: Server) -> str:
    """Patient 2 checked in, assessed and premedicated through the API."""
    nurse = Api(server, "nurse1")
    opened = nurse.call(
        "POST", "/api/sessions", {"appointment_id": server.ids["appointment2"]}, status=201
    )
    session_id: str = opened.json()["session_id"]
    nurse.command(
        session_id,
        {
            "command": "CheckIn",
            "patient_id": server.ids["patient2"],
            "protocol_id": PROTOCOL_ID,
            "dose_number": 3,
            "identity_check": "identifier",
            "confirmed_identifier": "urn:test:mrn|MRN-0002",
        },
    )
    nurse.command(session_id, {"command": "RecordAssessment", "passed": True})
    nurse.close()
    return session_id


def _prepare_a_bag(page: Page, appointment_id: str) -> None:
    """Verify and record the preparation (the queue then shows the check form)."""
    dose = page.locator(f"#dose-{appointment_id}")
    dose.get_by_role("button", name="Verify dose").click()
    dose = page.locator(f"#dose-{appointment_id}")
    dose.get_by_label("Product").fill("Ocrevus 300 mg/10 mL concentrate")
    dose.get_by_label("Lot").fill("H0123")
    dose.get_by_label("Expiry").fill("2027-01-31")
    dose.get_by_role("button", name="Record preparation").click()
    expect(
        page.locator(f"#dose-{appointment_id}").get_by_test_id("preparation-status")
    ).to_have_text("prepared")


def _report(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        f"axe-core {axe_version()} (from the PyPI package `axe-playwright-python`), default rules, "
        "in Debian's Chromium at 1280 x 900.",
        "",
        "| Page | Shown as | Critical | Serious | Moderate | Minor | Rules |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    for key, violations in results.items():
        path, role = key.split(" | ")
        counts = Counter(v["impact"] for v in violations)
        rules = ", ".join(sorted({f"`{v['id']}`" for v in violations})) or "—"
        cells = " | ".join(str(counts.get(i, 0)) for i in IMPACTS)
        lines.append(f"| `{path}` | {role} | {cells} | {rules} |")
    return "\n".join(lines) + "\n"


def _update_docs(table: str, shots: list[Path]) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
    DOC_SHOTS.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        shutil.copyfile(shot, DOC_SHOTS / shot.name)


def test_every_new_page_has_no_serious_or_critical_axe_violation(
    server: Server, new_browser: BrowserFactory
) -> None:
    _users(server)
    draft = _draft_order(server)
    signed = _signed_order(server)
    session_id = _session_under_way(server)
    results: dict[str, list[dict[str, Any]]] = {}
    shots: list[Path] = []

    def check(page: Page, path: str, shown: str, role: str, shot: str, ready: str) -> None:
        """Open ``path`` (empty: stay), wait for its heading ``ready``, run axe, screenshot."""
        if path:
            page.goto(server.url + path)
        expect(page.get_by_role("heading", name=ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        results[f"{shown} | {role}"] = run_axe(page)
        shots.append(screenshot(page, shot))

    patient1, order_new = server.ids["patient1"], "/orders/new?patient_id="
    nurse = _sign_in(new_browser(), server, "nurse1")
    check(nurse, "/patients/new", "/patients/new", "nurse", "patient-new", "Register a patient")
    record, discharge = f"/sessions/{session_id}/record", f"/sessions/{session_id}/discharge"
    check(nurse, record, "/sessions/{id}/record", "nurse", "record", "Infusion record")
    check(nurse, discharge, "/sessions/{id}/discharge", "nurse", "discharge", "Discharge summary")
    physician = _sign_in(new_browser(), server, "physician1")
    new_order = f"{order_new}{patient1}&therapy_id=ocrelizumab"
    check(physician, new_order, "/orders/new", "physician", "order-new", "treatment-plan order")
    check(
        physician,
        f"/orders/{draft}",
        "/orders/{id}",
        "physician, draft",
        "order-draft",
        "order for",
    )
    check(
        physician,
        f"/orders/{signed}",
        "/orders/{id}",
        "physician, signed",
        "order-signed",
        "order for",
    )
    scheduler = _sign_in(new_browser(), server, "scheduler1")
    booking = "/appointments/new"
    unsigned = f"{booking}?order_id={draft}"
    check(scheduler, unsigned, booking, "scheduler, draft order", "booking-unsigned", "Book")
    check(scheduler, f"{booking}?order_id={signed}", booking, "scheduler", "booking", "Book")
    appointment = f"/appointments/{server.ids['appointment3']}"
    check(scheduler, appointment, "/appointments/{id}", "scheduler", "appointment", "Visit of")
    pharmacist = _sign_in(new_browser(), server, "pharmacist1")
    queue = "Pharmacy verification"
    check(pharmacist, "/pharmacy", "/pharmacy", "pharmacist", "pharmacy-queue", queue)
    _prepare_a_bag(pharmacist, server.ids["appointment1"])
    check(pharmacist, "", "/pharmacy", "pharmacist, a bag to check", "pharmacy-check", queue)
    dose = pharmacist.locator(f"#dose-{server.ids['appointment1']}")
    dose.get_by_label("Checked by (user name)").fill("pharmacist2")
    dose.get_by_label("Their password").fill(PASSWORD)
    dose.get_by_role("button", name="Sign the check").click()
    pharmacist.locator(f"#dose-{server.ids['appointment1']}").get_by_role(
        "link", name="Print bag label"
    ).click()
    label = "/pharmacy/preparations/{id}/label"
    check(pharmacist, "", label, "pharmacist", "bag-label", "Synthetic Patient 01")
    check(pharmacist, "/protocols", "/protocols", "pharmacist", "protocols", "Protocols")
    protocol = f"/protocols/{PROTOCOL_ID}"
    check(pharmacist, protocol, "/protocols/{id}", "pharmacist", "protocol", "ocrelizumab")
    admin = _sign_in(new_browser(), server, "admin1")
    check(admin, "/admin/users", "/admin/users", "admin", "admin-users", "Users")
    audit = "/admin/audit?action=session"
    check(admin, audit, "/admin/audit", "admin", "admin-audit", "Audit trail")

    table = _report(results)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(table, encoding="utf-8")
    if os.environ.get("MSINFUSION_UPDATE_DOCS") == "1":
        _update_docs(table, shots)
    blocking = {
        page: [f"{v['impact']} {v['id']} ({v['help']}): {v['targets'][:3]}" for v in found]
        for page, found in results.items()
        if any(v["impact"] in BLOCKING for v in found)
    }
    assert not blocking, f"serious or critical axe violations: {blocking}"
