"""The HTML routes over a TestClient: sign-in, CSRF on forms, fragments, refusals with their rule,
permissions hidden in the page and refused by the server, overrides asking for a reason."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, PASSWORD, World, build_world, identity_fields


@pytest.fixture
def world() -> World:
    return build_world()


def login_form_token(world: World) -> str:
    """The sign-in form's own CSRF token (its cookie is set by the same GET)."""
    page = world.client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the sign-in form has no CSRF token"
    return found.group(1)


def sign_in(world: World, role: Role) -> str:
    """Sign the TestClient in as ``role``; returns the CSRF token."""
    world.client.cookies.clear()
    answer = world.client.post(
        "/login",
        data={
            "username": f"{role.value}1",
            "password": PASSWORD,
            "next": "/",
            "csrf_token": login_form_token(world),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    token = world.client.cookies.get("msinfusion_csrf")
    assert token
    return token


def page_fields(html: str, command: str) -> dict[str, str]:
    """The hidden fields of the first form for ``command`` on a chairside page."""
    form = re.search(rf'<form[^>]*data-command="{command}".*?</form>', html, flags=re.DOTALL)
    assert form, f"no {command} form on the page"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def version(world: World) -> int:
    answer = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}")
    count: int = answer.json()["version"]
    return count


def post_command(world: World, name: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return world.client.post(
        f"/sessions/{world.ids['session']}/commands/{name}", data=data, **kwargs
    )


def test_pages_need_a_signed_in_user(world: World) -> None:
    for path in ("/", "/patients", "/protocols", f"/sessions/{world.ids['session']}"):
        answer = world.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"
    htmx = world.client.get("/ui/board", headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"] == "/login"


def test_login_sets_the_api_cookies_and_refuses_a_wrong_password(world: World) -> None:
    wrong = world.client.post(
        "/login",
        data={
            "username": "nurse1",
            "password": "wrong password!",
            "csrf_token": login_form_token(world),
        },
    )
    assert wrong.status_code == 401
    assert "msinfusion_session" not in wrong.cookies
    assert 'role="alert"' in wrong.text
    answer = world.client.post(
        "/login",
        data={
            "username": "nurse1",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": login_form_token(world),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"  # never off-site
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("msinfusion_session="))
    assert "HttpOnly" in session
    assert "SameSite=strict" in session
    assert "Secure" in session
    # The same session works for the JSON API.
    assert world.client.get("/api/auth/me").json()["username"] == "nurse1"


def test_a_form_without_the_csrf_token_is_refused_and_stores_nothing(world: World) -> None:
    sign_in(world, Role.NURSE)
    before = version(world)
    data = {"expected_version": str(before), "heart_rate_bpm": "80"}
    refused = post_command(world, "RecordVitals", data)
    assert refused.status_code == 403
    assert "csrf-failed" in refused.text
    wrong = post_command(world, "RecordVitals", {**data, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert version(world) == before
    logout = world.client.post("/logout", data={}, follow_redirects=False)
    assert logout.status_code == 403


def test_csrf_as_header_or_field_records_the_command_at_the_server_clock(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    before = version(world)
    by_field = post_command(
        world,
        "RecordVitals",
        {"csrf_token": token, "expected_version": str(before), "heart_rate_bpm": "80"},
    )
    assert by_field.status_code == 200, by_field.text
    assert "Recorded:" in by_field.text
    by_header = post_command(
        world,
        "RecordVitals",
        {"expected_version": str(before + 1), "spo2_pct": "97"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert by_header.status_code == 200
    assert by_header.text.lstrip().startswith('<div id="chairside"')  # a fragment, not a page
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    last = events.json()["events"][-2:]
    assert [e["user"] for e in last] == ["nurse1", "nurse1"]
    assert {e["at"] for e in last} == {NOW.isoformat()}


def test_board_and_session_fragments_render(world: World) -> None:
    sign_in(world, Role.NURSE)
    board = world.client.get("/ui/board")
    assert board.status_code == 200
    assert 'id="board"' in board.text
    assert "Synthetic Patient 01" in board.text
    assert "▶</span> Infusing" in board.text  # a symbol and words, not colour alone
    assert "40 of 500 mL (8%)" in board.text  # 40 mL/h x 30 min + 80 mL/h x 15 min
    live = world.client.get(f"/ui/sessions/{world.ids['session']}")
    assert live.status_code == 200
    assert "<svg" in live.text
    assert "Plan and actual" in live.text
    assert "Infusion started at 40 mL/h" in live.text


def test_a_refused_command_shows_its_rule_and_stores_nothing(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    before = version(world)
    answer = post_command(
        world,
        "ChangeRate",
        {"csrf_token": token, "expected_version": str(before), "rate_ml_per_h": "500"},
    )
    assert answer.status_code == 422
    assert '<code data-testid="rule">max-rate</code>' in answer.text
    assert "500 mL/h is above the protocol maximum of 200 mL/h" in answer.text
    assert version(world) == before
    malformed = post_command(
        world,
        "RecordReaction",
        {"csrf_token": token, "expected_version": str(before), "severity": "moderate"},
    )
    assert malformed.status_code == 422
    assert "symptoms" in malformed.text


def test_a_stale_form_says_someone_else_acted_first(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    stale = version(world) - 1
    answer = post_command(
        world,
        "RecordVitals",
        {"csrf_token": token, "expected_version": str(stale), "heart_rate_bpm": "80"},
    )
    assert answer.status_code == 409
    assert "Someone else recorded something first" in answer.text


def test_a_viewer_sees_no_actions_and_is_refused_by_the_server(world: World) -> None:
    token = sign_in(world, Role.VIEWER)
    page = world.client.get(f"/sessions/{world.ids['session']}")
    assert page.status_code == 200
    assert "data-command=" not in page.text
    assert "can read this session but not record" in page.text
    board = world.client.get("/")
    assert "Check in" not in board.text
    before = version(world)
    answer = post_command(
        world,
        "RecordVitals",
        {"csrf_token": token, "expected_version": str(before), "heart_rate_bpm": "80"},
    )
    assert answer.status_code == 403
    assert version(world) == before


def test_an_admin_has_no_board_in_the_navigation(world: World) -> None:
    sign_in(world, Role.ADMIN)
    answer = world.client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/protocols"
    protocols = world.client.get("/protocols")
    assert ">Chair board<" not in protocols.text
    assert "ocrelizumab-600-standard" in protocols.text


def _spare_mrn(world: World) -> str:
    """The MRN the nurse types at check-in for the spare appointment's patient."""
    return identity_fields(world, world.ids["other_patient"])["confirmed_identifier"]


def _checked_in_with_premedication(world: World) -> str:
    """Check in the spare appointment from the page and give both premedications now."""
    token = sign_in(world, Role.NURSE)
    spare = world.ids["spare_appointment"]
    answer = world.client.post(
        f"/appointments/{spare}/check-in",
        data={"csrf_token": token, "identifier": _spare_mrn(world)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    path = answer.headers["location"]
    for name, fields in (
        ("RecordAssessment", {"passed": "yes"}),
        ("GivePremedication", {"drug": "methylprednisolone", "dose": "100 mg", "route": "IV"}),
        (
            "GivePremedication",
            {
                "drug": "cetirizine",
                "dose": "10 mg",
                "route": "oral",
                "for_premedication": "antihistamine (e.g. diphenhydramine)",
            },
        ),
    ):
        hidden = page_fields(world.client.get(path).text, name)
        sent = world.client.post(f"{path}/commands/{name}", data={**hidden, **fields})
        assert sent.status_code == 200, sent.text
    return path


def test_an_override_asks_a_physician_for_a_reason(world: World) -> None:
    path = _checked_in_with_premedication(world)
    hidden = page_fields(world.client.get(path).text, "StartInfusion")
    nurse = world.client.post(
        f"{path}/commands/StartInfusion", data={**hidden, "rate_ml_per_h": "40"}
    )
    assert nurse.status_code == 422
    assert '<code data-testid="rule">premedication-window</code>' in nurse.text
    # A nurse cannot override; she may record the physician's verbal order, to be co-signed.
    assert 'class="command override"' not in nurse.text
    assert "by a verbal order you record here" in nurse.text
    assert 'name="verbal_order_by"' in nurse.text
    sign_in(world, Role.PHYSICIAN)
    hidden = page_fields(world.client.get(path).text, "StartInfusion")
    doctor = world.client.post(
        f"{path}/commands/StartInfusion", data={**hidden, "rate_ml_per_h": "40"}
    )
    assert 'name="override_reason"' in doctor.text
    override = page_fields(doctor.text, "StartInfusion")
    assert override["rate_ml_per_h"] == "40"  # the refused command is offered again
    started = world.client.post(
        f"{path}/commands/StartInfusion",
        data={**override, "override_reason": "patient must leave early; steroid given"},
    )
    assert started.status_code == 200, started.text
    assert "OVERRIDE (patient must leave early; steroid given)" in started.text


def test_the_vitals_form_sends_acvpu_and_oxygen_and_a_high_news2_raises_the_band_alert(
    world: World,
) -> None:
    sign_in(world, Role.NURSE)
    path = f"/sessions/{world.ids['session']}"
    page = world.client.get(path).text
    form = re.search(r'<form[^>]*data-command="RecordVitals".*?</form>', page, flags=re.DOTALL)
    assert form
    assert '<option value="A" selected>A: Alert</option>' in form.group(0)
    assert {"C", "V", "P", "U"} <= set(re.findall(r'<option value="([A-Z])"', form.group(0)))
    assert '<input type="checkbox" name="supplemental_oxygen" value="yes">' in form.group(0)
    hidden = page_fields(page, "RecordVitals")
    assert hidden["supplemental_oxygen"] == "no"  # an unticked box means "on air"
    # Standards dossier 2.3 vector I, as the form posts it (box unticked): NEWS2 8, high band.
    vector_i = {
        "respiratory_rate_per_min": "22",
        "spo2_pct": "94",
        "systolic_mmhg": "98",
        "heart_rate_bpm": "112",
        "consciousness": "A",
        "temperature_c": "38.4",
    }
    answer = world.client.post(f"{path}/commands/RecordVitals", data={**hidden, **vector_i})
    assert answer.status_code == 200, answer.text
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    recorded = [e for e in events.json()["events"] if e["type"] == "VitalsRecorded"][-1]
    assert (recorded["consciousness"], recorded["supplemental_oxygen"]) == ("A", False)
    band = [e for e in events.json()["events"] if e.get("rule") == "news2-band"]
    assert [(e["type"], e["priority"]) for e in band] == [("AlertRaised", "high")]
    # Ticked box (the browser sends the hidden "no" then "yes") and voice: both passed through.
    hidden_now = page_fields(world.client.get(path).text, "RecordVitals")
    ticked = {**hidden_now, **vector_i, "consciousness": "V", "supplemental_oxygen": ["no", "yes"]}
    sent = world.client.post(f"{path}/commands/RecordVitals", data=ticked)
    assert sent.status_code == 200, sent.text
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    recorded = [e for e in events.json()["events"] if e["type"] == "VitalsRecorded"][-1]
    assert (recorded["consciousness"], recorded["supplemental_oxygen"]) == ("V", True)


def test_only_demonstration_patients_are_tagged_synthetic(world: World) -> None:
    sign_in(world, Role.NURSE)
    tag = '<span class="tag">synthetic</span>'
    session_page = f"/sessions/{world.ids['session']}"
    assert tag in world.client.get("/").text  # the test world's patients are demo data
    assert tag in world.client.get(session_page).text
    with world.uow_factory() as uow:  # a real record
        for patient_id in (world.ids["patient"], world.ids["other_patient"]):
            uow.patients.update(replace(uow.patients.get(patient_id), synthetic=False))
        uow.commit()
    board = world.client.get("/").text
    assert "Synthetic" in board  # the names are still there...
    assert tag not in board.replace("Patients marked " + tag, "")  # ...never the tag
    assert tag not in world.client.get(session_page).text.replace("Patients marked " + tag, "")
