"""The pharmacy queue, its forms and the bag label; the printable infusion record and discharge
summary (HTML and PDF), over a TestClient signed in as each role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Appointment, Role
from tests.e2e.api.world import NOW, PASSWORD, PROTOCOL_ID, World, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in
from tests.unit.application.test_pharmacy import visit_ready_to_start


@pytest.fixture
def world() -> World:
    built = build_world()
    built.centre.accounts.create_user(
        system_actor(NOW),
        username="pharmacist2",
        role=Role.PHARMACIST,
        password=PASSWORD,
        display_name="Second Pharmacist",
    )
    return built


def today_appointment(world: World) -> str:
    with world.uow_factory() as uow:
        order_id = uow.appointments.get(world.ids["spare_appointment"]).order_id
        appointment = Appointment(
            id="appointment-today",
            patient_id=world.ids["other_patient"],
            chair_id=world.ids["chair"],
            protocol_id=PROTOCOL_ID,
            dose_number=3,
            starts_at=NOW,
            ends_at=NOW + timedelta(hours=5),
            order_id=order_id,
        )
        uow.appointments.add(appointment)
        uow.commit()
    return appointment.id


def dose_section(html: str, appointment_id: str) -> str:
    found = re.search(rf'<section[^>]*id="dose-{appointment_id}".*?</section>', html, re.DOTALL)
    assert found, f"no queue entry for {appointment_id}"
    return found.group(0)


def current_bag(world: World, appointment_id: str) -> str:
    with world.uow_factory() as uow:
        rows = uow.preparations.list_for_appointment(appointment_id)
    return rows[-1].id


def test_the_pharmacist_verifies_prepares_and_a_second_pharmacist_checks(world: World) -> None:
    appointment_id = today_appointment(world)
    token = sign_in(world, Role.PHARMACIST)
    page = world.client.get("/pharmacy")
    assert page.status_code == 200
    section = dose_section(page.text, appointment_id)
    assert "Synthetic Patient 02" in section
    assert "version" in section
    assert "Gates today" in section
    assert "hbsag" in section
    assert 'data-status="to verify"' in section
    verified = world.client.post(
        f"/pharmacy/appointments/{appointment_id}/verify",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert verified.status_code == 303
    assert verified.headers["location"].endswith(f"#dose-{appointment_id}")
    bag = current_bag(world, appointment_id)
    form = {
        "csrf_token": token,
        "product": "Ocrevus 300 mg/10 mL",
        "lot": "H0123",
        "expiry": "2020-01-01",
        "prepared_volume_ml": "500",
        "diluent": "sodium chloride 0.9%",
    }
    expired = world.client.post(
        f"/pharmacy/preparations/{bag}/prepare?appointment={appointment_id}", data=form
    )
    assert expired.status_code == 422
    assert "expired" in expired.text
    assert 'aria-invalid="true"' in expired.text
    form["expiry"] = "2027-01-31"
    prepared = world.client.post(
        f"/pharmacy/preparations/{bag}/prepare?appointment={appointment_id}",
        data=form,
        follow_redirects=False,
    )
    assert prepared.status_code == 303
    check = f"/pharmacy/preparations/{bag}/check?appointment={appointment_id}"
    wrong = world.client.post(
        check,
        data={
            "csrf_token": token,
            "checker_username": "pharmacist2",
            "checker_password": "not it at all",
        },
    )
    assert wrong.status_code == 401
    same = world.client.post(
        check,
        data={
            "csrf_token": token,
            "checker_username": "pharmacist1",
            "checker_password": PASSWORD,
        },
    )
    assert same.status_code == 422
    assert "another person" in same.text
    checked = world.client.post(
        check,
        data={
            "csrf_token": token,
            "checker_username": "pharmacist2",
            "checker_password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert checked.status_code == 303
    section = dose_section(world.client.get("/pharmacy").text, appointment_id)
    assert 'data-status="checked"' in section
    assert "Second Pharmacist (pharmacist2)" in section  # names, not ids
    assert world.user_ids[Role.PHARMACIST] not in section
    label = world.client.get(f"/pharmacy/preparations/{bag}/label")
    assert label.status_code == 200
    assert f'aria-label="Barcode of bag {bag}"' in label.text
    assert f'data-testid="bag-id">{bag}<' in label.text
    assert "H0123" in label.text
    assert "2027-01-31" in label.text


def test_a_nurse_reads_the_queue_but_cannot_verify(world: World) -> None:
    appointment_id = today_appointment(world)
    token = sign_in(world, Role.NURSE)
    page = world.client.get("/pharmacy")
    assert page.status_code == 200
    assert 'data-form="verify"' not in page.text
    refused = world.client.post(
        f"/pharmacy/appointments/{appointment_id}/verify", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    with world.uow_factory() as uow:
        assert uow.preparations.list_for_appointment(appointment_id) == []
    forged = world.client.post(f"/pharmacy/appointments/{appointment_id}/verify", data={})
    assert forged.status_code == 403


def test_the_chairside_start_form_asks_for_the_bag_id(world: World) -> None:
    session_id = visit_ready_to_start(world, today_appointment(world))
    sign_in(world, Role.NURSE)
    page = world.client.get(f"/sessions/{session_id}")
    assert page.status_code == 200
    form = re.search(r'<form[^>]*data-command="StartInfusion".*?</form>', page.text, re.DOTALL)
    assert form
    assert 'name="bag_id"' in form.group(0)
    assert "Bag id (scan or type)" in form.group(0)


def test_the_record_shows_both_times_of_a_late_entry_and_names_the_signer(world: World) -> None:
    session_id = world.ids["session"]
    happened = NOW - timedelta(minutes=50)
    version = world.service.get_version(session_id)
    late = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={
            "expected_version": version,
            "command": {
                "command": "RecordVitals",
                "at": happened.isoformat(),
                "heart_rate_bpm": 77,
                "late_reason": "charted after the emergency in chair 2",
            },
        },
    )
    assert late.status_code == 200, late.text
    sign_in(world, Role.NURSE)
    page = world.client.get(f"/sessions/{session_id}/record")
    assert page.status_code == 200
    rows = re.findall(r"<tr data-sequence=\"\d+\" class=\"late\">.*?</tr>", page.text, re.DOTALL)
    assert len(rows) == 1
    assert happened.strftime("%H:%M:%S") in rows[0]  # when it happened
    assert NOW.strftime("%H:%M:%S") in rows[0]  # when it was charted
    assert "nurse1" in rows[0]
    assert world.user_ids[Role.NURSE] not in page.text
    assert "Rates and volumes" in page.text
    assert "Vital signs" in page.text
    assert "Medications" in page.text
    assert "methylprednisolone" in page.text


def test_the_record_and_the_discharge_summary_print_as_pdf(world: World) -> None:
    session_id = world.ids["session"]
    with world.uow_factory() as uow:
        seeded = uow.appointments.get(world.ids["appointment"])
        uow.appointments.add(
            Appointment(
                id="appointment-next",
                patient_id=seeded.patient_id,
                chair_id=seeded.chair_id,
                protocol_id=PROTOCOL_ID,
                dose_number=4,
                starts_at=NOW + timedelta(weeks=24),
                ends_at=NOW + timedelta(weeks=24, hours=4),
                order_id=seeded.order_id,
            )
        )
        uow.commit()
    sign_in(world, Role.PHYSICIAN)
    summary = world.client.get(f"/sessions/{session_id}/discharge")
    assert summary.status_code == 200
    next_day = (NOW + timedelta(weeks=24)).date().isoformat()
    assert re.search(rf'data-testid="next-appointment"><strong>{next_day}', summary.text)
    for kind in ("record", "discharge"):
        pdf = world.client.get(f"/sessions/{session_id}/{kind}?format=pdf")
        assert pdf.status_code == 200, pdf.text[:300]
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert "attachment" in pdf.headers["content-disposition"]


def test_the_record_needs_a_signed_in_clinical_reader(world: World) -> None:
    path = f"/sessions/{world.ids['session']}/record"
    answer = world.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"
    sign_in(world, Role.ADMIN)
    assert world.client.get(path).status_code == 403
