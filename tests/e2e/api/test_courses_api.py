"""Course calendars, course checks and the PML calculator over HTTP, with hand-checked values.

Calendar dates are the doctest of ``plan_course`` (ocrelizumab from 2026-01-05: dose 2 on day
15, dose 3 due 6 months after infusion 1, earliest 5 months after infusion 2 — dossier Q1/Q3)
and must equal ``msinfusion course plan``. PML numbers are cells of table A, dossier N 1.4.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from msinfusion.application.records import Role
from msinfusion.entrypoints.course_cli import course_app
from msinfusion.planning.course_check import check_from_dict, course_check_to_dict
from tests.e2e.api.world import World

CHECK_FILE: dict[str, Any] = {
    "as_of": "2026-07-01",
    "order": {
        "therapy_id": "ocrelizumab",
        "start": "2026-01-05",
        "options": {},
        "given": [{"dose_number": 1, "on": "2026-01-05"}, {"dose_number": 2, "on": "2026-01-19"}],
    },
    "patient": {
        "can_become_pregnant": False,
        "prior_immunosuppressant": False,
        "vaccination_history_reviewed": True,
        "labs": [{"test": "hbsag", "on": "2025-12-01", "positive": False}],
        "findings": [{"name": "active_infection", "on": "2026-07-01", "present": False}],
        "overrides": [
            {
                "gate_id": "hbv_anti_hbc",
                "physician_id": "dr-7",
                "justification": "hepatology reviewed",
                "on": "2026-07-01",
            }
        ],
    },
}


def _post_order(world: World, therapy_id: str, start: str, **options: str) -> Any:
    return world.request(
        Role.PHYSICIAN,
        "POST",
        "/api/orders",
        json={
            "patient_id": world.ids["patient"],
            "therapy_id": therapy_id,
            "start_date": start,
            "options": options,
        },
    )


def _order(world: World, therapy_id: str, start: str, **options: str) -> str:
    response = _post_order(world, therapy_id, start, **options)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


def test_an_order_calendar_has_the_label_dates_and_matches_the_cli(world: World) -> None:
    order_id = _order(world, "ocrelizumab", "2026-01-05")
    response = world.request(Role.SCHEDULER, "GET", f"/api/orders/{order_id}/calendar")
    assert response.status_code == 200
    doses = response.json()["doses"]
    assert [(d["dose_number"], d["protocol_id"], d["due"]) for d in doses[:3]] == [
        (1, "ocrelizumab-300-initial", "2026-01-05"),
        (2, "ocrelizumab-300-initial", "2026-01-19"),
        (3, "ocrelizumab-600-standard", "2026-07-05"),
    ]
    assert doses[2]["earliest"] == "2026-06-19"
    cli = CliRunner().invoke(
        course_app, ["plan", "ocrelizumab", "--start", "2026-01-05", "--format", "json"]
    )
    assert cli.exit_code == 0
    assert response.json() == json.loads(cli.stdout)


def test_options_of_the_order_shape_the_calendar(memory_world: World) -> None:
    # Refused at the order itself, which is never stored: extended interval is off-label (N7).
    refused = _post_order(memory_world, "natalizumab", "2026-01-05", interval="6w")
    assert refused.status_code == 422
    assert refused.json()["field"] == "option:acknowledge_off_label"
    every_6_weeks = _order(
        memory_world, "natalizumab", "2026-01-05", interval="6w", acknowledge_off_label="yes"
    )
    response = memory_world.request(Role.NURSE, "GET", f"/api/orders/{every_6_weeks}/calendar")
    assert response.json()["off_label"] is True
    dues = [d["due"] for d in response.json()["doses"][:3]]
    assert dues == ["2026-01-05", "2026-02-16", "2026-03-30"]  # 42 days apart


def test_as_of_marks_a_dose_not_given_after_its_window_overdue(memory_world: World) -> None:
    order_id = _order(memory_world, "ocrelizumab", "2026-01-05")
    response = memory_world.request(
        Role.NURSE, "GET", f"/api/orders/{order_id}/calendar?as_of=2026-03-02"
    )
    first = response.json()["doses"][0]
    assert (first["status"], response.json()["as_of"]) == ("overdue", "2026-03-02")


def test_the_calendar_as_icalendar(memory_world: World) -> None:
    order_id = _order(memory_world, "ocrelizumab", "2026-01-05")
    response = memory_world.request(
        Role.NURSE, "GET", f"/api/orders/{order_id}/calendar?format=ics"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART;VALUE=DATE:20260119\r\n" in text
    assert "DTSTAMP:20260302T104500Z\r\n" in text  # the request time, not a clock in the core


def test_calendar_errors_name_the_field(memory_world: World) -> None:
    order_id = memory_world.ids["order"]
    bad = memory_world.request(Role.NURSE, "GET", f"/api/orders/{order_id}/calendar?format=pdf")
    assert (bad.status_code, bad.json()["field"]) == (422, "format")
    missing = memory_world.request(Role.NURSE, "GET", "/api/orders/order-nope/calendar")
    assert missing.status_code == 404
    refused = _post_order(memory_world, "natalizumab", "2026-01-05", interval="5w")
    assert refused.status_code == 422  # an unknown option value is refused at the order
    assert refused.json()["error"] == "invalid-input"
    assert refused.json()["field"] == "option:interval"


def test_a_course_check_body_gives_what_the_cli_gives(world: World) -> None:
    patient_id = world.ids["patient"]
    response = world.request(
        Role.PHARMACIST, "POST", f"/api/patients/{patient_id}/course-check", json=CHECK_FILE
    )
    assert response.status_code == 200, response.text
    file = copy.deepcopy(CHECK_FILE)
    file["patient"]["id"] = patient_id
    assert response.json() == course_check_to_dict(check_from_dict(file))
    # Dose 3 (maintenance) is next: only the active-infection gate applies before it, and the
    # finding of 2026-07-01 passes it; 2026-07-01 lies in dose 3's window (06-19 to 07-05).
    view = response.json()
    assert [(g["gate_id"], g["status"]) for g in view["gates"]] == [("active_infection", "pass")]
    assert view["blocked"] is False
    assert view["calendar"]["doses"][2]["status"] == "due"


def test_a_course_check_reads_the_stored_order_history_and_record(world: World) -> None:
    patient_id = world.ids["patient"]
    response = world.request(
        Role.NURSE,
        "POST",
        f"/api/patients/{patient_id}/course-check",
        json={"as_of": "2026-03-02"},
    )
    assert response.status_code == 200, response.text
    view = response.json()
    # The seeded course began 2025-09-15; doses 1 and 2 were recorded as given elsewhere and
    # dose 3's infusion started in today's session (2026-03-02).
    assert view["calendar"]["start"] == "2025-09-15"
    statuses = [(d["dose_number"], d["status"]) for d in view["calendar"]["doses"][:4]]
    assert statuses == [(1, "given"), (2, "given"), (3, "given"), (4, "planned")]
    # Dose 4 is checked on its earliest date, 5 months after dose 3 (dossier Q1/Q3):
    # the same-day infection check of that day cannot exist yet.
    assert view["calendar"]["doses"][3]["earliest"] == "2026-08-02"
    assert view["gates_on"] == "2026-08-02"
    assert [(g["gate_id"], g["status"]) for g in view["gates"]] == [("active_infection", "missing")]
    assert view["blocked"] is True


def test_a_course_check_body_patient_replaces_the_stored_record(world: World) -> None:
    patient_id = world.ids["patient"]
    response = world.request(
        Role.NURSE,
        "POST",
        f"/api/patients/{patient_id}/course-check",
        json={
            "as_of": "2026-08-02",
            "patient": {
                "findings": [{"name": "active_infection", "on": "2026-08-02", "present": False}]
            },
        },
    )
    assert response.status_code == 200, response.text
    view = response.json()
    assert [(g["gate_id"], g["status"]) for g in view["gates"]] == [("active_infection", "pass")]
    assert view["blocked"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patient": {"id": "someone-else"}}, "patient.id"),
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"order": {"therapy_id": "ocrelizumab", "start": "yesterday"}}, "order.start"),
        ({"order": {"therapy_id": "ocrelizumab", "start": "9999-01-01"}}, "order.start"),
        ({"order": {"therapy_id": "aspirin", "start": "2026-01-05"}}, "therapy_id"),
        ({"order_id": "order-nope"}, "order_id"),
        ({"patient": {"labs": [{"test": "alt", "on": "soon"}]}}, "patient.labs.0.on"),
        (
            {"patient": {"labs": [{"test": "anti_jcv", "on": "2026-01-01", "assay": {}}]}},
            "patient.labs.0.assay",
        ),
        (
            {
                "order": {
                    "therapy_id": "mitoxantrone",
                    "start": "2026-01-05",
                    "options": {"prior_mg_per_m2": "1e999999"},
                }
            },
            "order.options",
        ),
        ({"shoe_size": 44}, "shoe_size"),
    ],
)
def test_bad_course_check_input_is_a_422_naming_the_field(
    memory_world: World, body: dict[str, Any], field: str
) -> None:
    patient_id = memory_world.ids["patient"]
    response = memory_world.request(
        Role.NURSE, "POST", f"/api/patients/{patient_id}/course-check", json=body
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_course_check_needs_one_active_order_or_a_named_one(memory_world: World) -> None:
    patient_id = memory_world.ids["patient"]
    _order(memory_world, "natalizumab", "2026-01-05")
    response = memory_world.request(
        Role.NURSE, "POST", f"/api/patients/{patient_id}/course-check", json={}
    )
    assert (response.status_code, response.json()["field"]) == (422, "order")
    named = memory_world.request(
        Role.NURSE,
        "POST",
        f"/api/patients/{patient_id}/course-check",
        json={"order_id": memory_world.ids["order"]},
    )
    assert named.json()["calendar"]["therapy_id"] == "ocrelizumab"
    unknown = memory_world.request(
        Role.NURSE, "POST", "/api/patients/patient-nope/course-check", json={}
    )
    assert unknown.status_code == 404


def test_course_reads_are_audited(memory_world: World) -> None:
    patient_id = memory_world.ids["patient"]
    memory_world.request(Role.NURSE, "POST", f"/api/patients/{patient_id}/course-check", json={})
    memory_world.request(Role.NURSE, "GET", f"/api/orders/{memory_world.ids['order']}/calendar")
    trail = memory_world.request(Role.ADMIN, "GET", "/api/audit").json()
    actions = {(e["action"], e["resource_id"], e["outcome"]) for e in trail}
    assert ("course.check", patient_id, "ok") in actions
    assert ("course.calendar.read", memory_world.ids["order"], "ok") in actions


@pytest.mark.parametrize(
    ("query", "risk", "row"),
    [
        ("jcv_index=1.2&prior_immunosuppressant=false&months=30", 1.1, "positive-no-is-index-low"),
        (
            "jcv_index=2.0&prior_immunosuppressant=false&months=60",
            10.1,
            "positive-no-is-index-high",
        ),
        (
            "jcv_status=positive&prior_immunosuppressant=false&months=12",
            1.0,
            "positive-no-is-index-unknown",
        ),
        ("jcv_status=positive&prior_immunosuppressant=true&months=40", 12.0, "positive-is"),
        ("jcv_status=negative&prior_immunosuppressant=true&months=10", 0.06, "negative-is"),
        ("jcv_status=negative&prior_immunosuppressant=false&months=24", 0.02, "negative-no-is"),
    ],
)
def test_pml_risk_is_the_dossier_table_cell(
    memory_world: World, query: str, risk: float, row: str
) -> None:
    response = memory_world.request(Role.VIEWER, "GET", f"/api/risk/pml?{query}")
    assert response.status_code == 200, response.text
    assert (response.json()["risk_per_1000"], response.json()["band"]["row"]) == (risk, row)
    assert "https://pro.uptodatefree.ir/Show/55637" in response.json()["source"]
    assert response.json()["verified"] is False


def test_pml_beyond_the_table_has_no_number(memory_world: World) -> None:
    response = memory_world.request(
        Role.NURSE, "GET", "/api/risk/pml?jcv_index=1.2&prior_immunosuppressant=false&months=80"
    )
    assert response.json()["risk_per_1000"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("prior_immunosuppressant=false&months=30", "jcv_status"),
        ("jcv_index=1.2&prior_immunosuppressant=false", "months"),
        ("jcv_index=-1&prior_immunosuppressant=false&months=30", "jcv_index"),
        ("jcv_index=1.2&prior_immunosuppressant=maybe&months=30", "prior_immunosuppressant"),
        ("jcv_status=unsure&prior_immunosuppressant=false&months=30", "jcv_status"),
    ],
)
def test_bad_pml_input_is_a_422_naming_the_field(
    memory_world: World, query: str, field: str
) -> None:
    response = memory_world.request(Role.NURSE, "GET", f"/api/risk/pml?{query}")
    assert (response.status_code, response.json()["field"]) == (422, field)
