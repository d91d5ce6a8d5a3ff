"""The order form's premedication choices, the chair's pick-list that offers them first, and
the reminder contact on the registration form, over a TestClient (issue 18)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from msinfusion.application.audit import system_actor
from msinfusion.application.records import PatientIdentifier, Role
from tests.e2e.api.world import (
    COURSE_START,
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    record_course_history,
    run_simulated,
)
from tests.unit.adapters.web.test_ui_routes import sign_in

ANTIHISTAMINE = "antihistamine (e.g. diphenhydramine)"


@pytest.fixture
def world() -> World:
    return build_world()


def _order_form(world: World, token: str, **picks: str) -> object:
    data = {
        "csrf_token": token,
        "patient_id": world.ids["other_patient"],
        "therapy_id": "ocrelizumab",
        "start_date": (NOW.date() + timedelta(days=7)).isoformat(),
        "indication": "relapsing MS",
        **picks,
    }
    return world.client.post("/orders/new", data=data, follow_redirects=False)


def test_the_physician_picks_premedication_from_the_protocol(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    page = world.client.get("/orders/new", params={"patient_id": world.ids["other_patient"]})
    assert 'data-testid="order-premedications"' in page.text
    assert '<option value="cetirizine">cetirizine 10 mg PO</option>' in page.text
    fragment = world.client.get("/orders/new/options", params={"therapy_id": "ocrelizumab"})
    assert 'name="premed_1"' in fragment.text
    refused = _order_form(world, token, premed_1="none")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert f'data-testid="error-field">premedication:{ANTIHISTAMINE}<' in refused.text  # type: ignore[attr-defined]
    made = _order_form(world, token, premed_1="cetirizine", premed_2="none")
    assert made.status_code == 303  # type: ignore[attr-defined]
    order = world.client.get(made.headers["location"])  # type: ignore[attr-defined]
    shown = re.search(r'<dd data-testid="order-premedications">(.*?)</dd>', order.text)
    assert shown
    assert f"{ANTIHISTAMINE}: cetirizine" in shown.group(1)
    assert "not ordered" in shown.group(1)


def test_the_chair_prefills_the_ordered_premedication(world: World) -> None:
    centre, system = world.centre, system_actor(NOW)
    physician, nurse = actor_for(world, Role.PHYSICIAN), actor_for(world, Role.NURSE)
    patient = centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 07",
        height_cm=170,
        weight_kg=70,
        identifiers=(PatientIdentifier(system="urn:test:mrn", value="MRN-70007"),),
        synthetic=True,
    )
    order = centre.records.add_order(
        physician,
        patient_id=patient.id,
        therapy_id="ocrelizumab",
        start_date=COURSE_START,
        premedications={ANTIHISTAMINE: "cetirizine"},
    )
    record_course_history(centre, nurse, patient.id, order.id)
    chair = centre.records.add_chair(system, name="Chair 7")
    appointment = centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=NOW + timedelta(minutes=30),
        order_id=order.id,
    )
    session_id = centre.sessions.open_session(nurse, appointment_id=appointment.id)
    run_simulated(world, session_id, patient.id, until=NOW - timedelta(minutes=105))  # check-in
    sign_in(world, Role.NURSE)
    page = world.client.get(f"/sessions/{session_id}")
    assert page.status_code == 200
    card = page.text[page.text.index(f"Premedication: {ANTIHISTAMINE}") :]
    card = card[: card.index("</form>")]
    assert "Ordered: <strong>cetirizine</strong>" in card
    assert re.search(r'<input name="drug" value="cetirizine"', card)
    assert re.search(r'<input name="dose" value="10 mg"', card)


def test_registration_asks_for_the_reminder_contact_and_names_a_bad_one(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    form = world.client.get("/patients/new")
    assert 'name="reminder_contact"' in form.text
    data = {
        "csrf_token": token,
        "display_name": "Synthetic Contact",
        "date_of_birth": "1985-04-03",
        "reminder_contact": "call me",
    }
    bad = world.client.post("/patients/new", data=data, follow_redirects=False)
    assert bad.status_code == 422
    assert 'data-testid="error-field">reminder_contact<' in bad.text
    assert 'name="reminder_contact" maxlength="254"' in bad.text
    made = world.client.post("/patients/new", data={**data, "reminder_contact": "+41 79 123 45 67"})
    assert made.status_code == 200
    assert '<dd data-testid="reminder-contact">+41 79 123 45 67</dd>' in made.text
