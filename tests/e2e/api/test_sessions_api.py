"""Sessions over HTTP: optimistic concurrency (two clients, one version), views and events."""

from __future__ import annotations

import threading
from typing import Any

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, identity_fields


def _vitals(version: int, heart_rate: int) -> dict[str, Any]:
    return {
        "expected_version": version,
        "command": {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": heart_rate},
    }


def test_two_clients_with_the_same_version_one_wins_one_gets_409_nothing_lost(
    world: World,
) -> None:
    path = f"/api/sessions/{world.ids['session']}/commands"
    before = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    version = before.json()["version"]
    barrier = threading.Barrier(2)
    answers: dict[Role, Any] = {}

    def send(role: Role, heart_rate: int) -> None:
        barrier.wait()
        answers[role] = world.request(role, "POST", path, json=_vitals(version, heart_rate))

    threads = [
        threading.Thread(target=send, args=(Role.NURSE, 71)),
        threading.Thread(target=send, args=(Role.PHYSICIAN, 99)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers.values())
    assert statuses == [200, 409]
    winner = next(r for r, a in answers.items() if a.status_code == 200)
    loser = next(a for a in answers.values() if a.status_code == 409)
    assert loser.json()["error"] == "version-conflict"
    assert loser.json()["expected"] == version
    assert loser.json()["actual"] == version + 1
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events")
    assert events.json()["version"] == version + 1
    assert events.json()["events"][:version] == before.json()["events"]
    last = events.json()["events"][-1]
    assert last["type"] == "VitalsRecorded"
    assert last["user"] == f"{winner.value}1"
    # The loser re-reads and retries on the new version: nothing is lost.
    retry = world.request(Role.NURSE, "POST", path, json=_vitals(version + 1, 80))
    assert retry.status_code == 200
    assert retry.json()["version"] == version + 2


def test_refused_command_is_422_with_the_rule_and_stores_nothing(world: World) -> None:
    path = f"/api/sessions/{world.ids['session']}/commands"
    version = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}").json()[
        "version"
    ]
    too_fast = {
        "expected_version": version,
        "command": {"command": "ChangeRate", "at": NOW.isoformat(), "rate_ml_per_h": 500},
    }
    response = world.request(Role.NURSE, "POST", path, json=too_fast)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "command-refused"
    assert body["rule"]
    after = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}").json()
    assert after["version"] == version


def test_a_new_session_checks_in_a_known_patient_and_links_its_appointment(world: World) -> None:
    opened = world.request(
        Role.NURSE, "POST", "/api/sessions", json={"appointment_id": world.ids["spare_appointment"]}
    )
    assert opened.status_code == 201
    session_id = opened.json()["session_id"]
    check_in = {
        "command": "CheckIn",
        "at": NOW.isoformat(),
        "protocol_id": "ocrelizumab-600-standard",
        "dose_number": 3,
    }
    unknown = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={"expected_version": 0, "command": {**check_in, "patient_id": "patient-nobody"}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "patient_id"
    # The appointment is another patient's: checking in the wrong patient is refused.
    wrong = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={"expected_version": 0, "command": {**check_in, "patient_id": world.ids["patient"]}},
    )
    assert (wrong.status_code, wrong.json()["rule"]) == (422, "appointment-mismatch")
    known = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={
            "expected_version": 0,
            "command": {
                **check_in,
                "patient_id": world.ids["other_patient"],
                **identity_fields(world, world.ids["other_patient"]),
            },
        },
    )
    assert known.status_code == 200, known.text
    assert known.json()["events"][0]["user"] == "nurse1"
    appointment = world.request(
        Role.NURSE, "GET", f"/api/appointments/{world.ids['spare_appointment']}"
    ).json()
    assert appointment["session_id"] == session_id
    assert appointment["status"] == "checked-in"
    again = world.request(
        Role.NURSE, "POST", "/api/sessions", json={"appointment_id": world.ids["spare_appointment"]}
    )
    assert again.status_code == 422
    assert again.json()["field"] == "appointment_id"


def test_a_command_in_someone_elses_name_is_refused(world: World) -> None:
    response = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json={
            "expected_version": 6,
            "command": {
                "command": "RecordVitals",
                "at": NOW.isoformat(),
                "user": "physician1",
                "heart_rate_bpm": 70,
            },
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "user"


def test_session_view_at_a_time_and_events_in_order(world: World) -> None:
    sid = world.ids["session"]
    now_view = world.request(Role.VIEWER, "GET", f"/api/sessions/{sid}").json()
    assert now_view["view"]["status"] == "infusing"
    # 40 mL/h for 30 min then 80 mL/h for 15 min (simulated start at 10:00, now 10:45).
    assert now_view["view"]["volume_infused_ml"] == 40.0
    earlier = world.request(
        Role.VIEWER, "GET", f"/api/sessions/{sid}", params={"at": "2026-03-02T10:15:00+00:00"}
    ).json()
    assert earlier["view"]["volume_infused_ml"] == 10.0
    events = world.request(Role.VIEWER, "GET", f"/api/sessions/{sid}/events").json()
    assert [e["sequence"] for e in events["events"]] == list(range(1, events["version"] + 1))


def test_unknown_session_is_404(world: World) -> None:
    response = world.request(Role.NURSE, "GET", "/api/sessions/session-nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not-found"
