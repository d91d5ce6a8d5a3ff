"""A patient's stored clinical record, and the gates it decides at booking and at the start.

The seeded world (world.py): NOW = 2026-03-02 10:45 UTC; patient 01 on ocrelizumab since
2025-09-15 (24 weeks), doses 1-2 recorded as given, dose 3 infusing today; patient 02 the same
history with dose 3 booked tomorrow (the spare appointment). New patients here start from
nothing, so every gate's state is built explicitly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.application.clinical_records import stored_record
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind, Role
from msinfusion.planning.patient_record import LAB_TESTS, patient_record_from_dict
from tests.e2e.api.world import NOW, World, actor_for, identity_fields

TODAY = NOW.date().isoformat()


def _entries(world: World, patient_id: str) -> list[dict[str, Any]]:
    response = world.request(Role.NURSE, "GET", f"/api/patients/{patient_id}/clinical-entries")
    assert response.status_code == 200, response.text
    return list(response.json())


def _record(
    world: World, patient_id: str, kind: str, item: dict[str, Any], role: Role = Role.NURSE
) -> Any:
    return world.request(
        role,
        "POST",
        f"/api/patients/{patient_id}/clinical-entries",
        json={"kind": kind, "item": item},
    )


def _new_patient(world: World, name: str = "Synthetic Patient 20") -> str:
    response = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={"display_name": name, "height_cm": 170, "weight_kg": 70},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _order(world: World, patient_id: str, therapy_id: str, start: str) -> str:
    response = world.request(
        Role.PHYSICIAN,
        "POST",
        "/api/orders",
        json={"patient_id": patient_id, "therapy_id": therapy_id, "start_date": start},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _book(world: World, patient_id: str, protocol_id: str, dose: int, starts_at: str) -> Any:
    return world.request(
        Role.SCHEDULER,
        "POST",
        "/api/appointments",
        json={
            "patient_id": patient_id,
            "chair_id": world.ids["chair"],
            "protocol_id": protocol_id,
            "dose_number": dose,
            "starts_at": starts_at,
        },
    )


# -- recording ---------------------------------------------------------------------------------


def test_an_entry_is_stored_with_who_and_when_and_read_back(world: World) -> None:
    patient_id = world.ids["patient"]
    before = len(_entries(world, patient_id))
    item = {"test": "lvef_pct", "on": "2026-02-27", "value": 58, "abnormal": False}
    created = _record(world, patient_id, "lab", item)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "lab"
    assert body["data"] == item
    assert body["recorded_by"] == world.user_ids[Role.NURSE]
    assert body["recorded_at"] == NOW.isoformat()
    entries = _entries(world, patient_id)
    assert len(entries) == before + 1
    assert {**body, "retracted": False} in entries


@pytest.mark.parametrize(
    ("kind", "item", "field"),
    [
        ("lab", {"test": "hbsAg", "on": "2026-03-01", "positive": False}, "test"),
        ("lab", {"test": "hbsag", "on": "2026-03-01"}, "value"),
        ("lab", {"test": "hbsag", "on": "2026-03-03", "positive": False}, "on"),  # future
        ("lab", {"test": "hbsag", "on": "yesterday", "positive": False}, "on"),
        ("lab", {"test": "alt", "on": "2026-03-01", "value": "lots"}, "value"),
        ("lab", {"test": "alt", "on": "2026-03-01", "value": True}, "value"),
        ("lab", {"test": "alt", "on": "2026-03-01", "abnormal": False, "unit": "U/L"}, "unit"),
        ("finding", {"name": "fever", "on": TODAY, "present": True}, "name"),
        ("finding", {"name": "active_infection", "on": TODAY, "present": "no"}, "present"),
        ("vaccination", {"on": "2026-01-01", "live": True, "name": "  "}, "name"),
        ("vaccination", {"on": "2026-01-01", "live": "yes", "name": "MMR"}, "live"),
        ("profile", {"on": TODAY}, "profile"),
        ("profile", {"can_become_pregnant": "maybe"}, "can_become_pregnant"),
        ("profile", {"relapse_onset": "last week"}, "relapse_onset"),
        ("given-dose", {"order_id": "order-nope", "dose_number": 3, "on": TODAY}, "order_id"),
        ("retraction", {"entry_id": "entry-nope", "reason": "typo"}, "entry_id"),
    ],
)
def test_bad_entries_are_422_naming_the_field_and_store_nothing(
    memory_world: World, kind: str, item: dict[str, Any], field: str
) -> None:
    patient_id = memory_world.ids["patient"]
    before = _entries(memory_world, patient_id)
    response = _record(memory_world, patient_id, kind, item)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert _entries(memory_world, patient_id) == before


def test_an_unknown_kind_or_patient_is_refused(memory_world: World) -> None:
    assert _record(memory_world, memory_world.ids["patient"], "diagnosis", {}).status_code == 422
    missing = _record(memory_world, "patient-nope", "lab", {"test": "tsh", "on": TODAY})
    assert missing.status_code == 404


def test_a_dose_given_elsewhere_must_follow_the_calendar(memory_world: World) -> None:
    """Patient 02's dose 3 cannot be recorded before its earliest date: 5 calendar months
    after dose 2 (2025-09-29, dossier Q1/Q3) is 2026-02-28 (29 February does not exist)."""
    world = memory_world
    patient_id = _spare_patient(world)
    order_id = next(
        e["data"]["order_id"] for e in _entries(world, patient_id) if e["kind"] == "given-dose"
    )
    item = {"order_id": order_id, "dose_number": 3, "on": "2026-02-27"}
    too_early = _record(world, patient_id, "given-dose", item)
    assert too_early.status_code == 422
    assert too_early.json()["error"] == "dose-too-early"
    assert too_early.json()["earliest"] == "2026-02-28"
    gap = _record(world, patient_id, "given-dose", {**item, "dose_number": 6})
    assert gap.status_code == 422
    assert gap.json()["field"] == "dose_number"


def test_only_a_physician_overrides_and_in_their_own_name(world: World) -> None:
    patient_id = world.ids["patient"]
    item = {"gate_id": "hbv_anti_hbc", "on": TODAY, "justification": "hepatology reviewed"}
    assert _record(world, patient_id, "override", item).status_code == 403
    signed = _record(world, patient_id, "override", item, role=Role.PHYSICIAN)
    assert signed.status_code == 201, signed.text
    assert signed.json()["data"]["physician_id"] == world.user_ids[Role.PHYSICIAN]
    never = {**item, "gate_id": "hbv_hbsag"}  # active HBV: the label allows no override
    refused = _record(world, patient_id, "override", never, role=Role.PHYSICIAN)
    assert refused.status_code == 422
    assert refused.json()["field"] == "gate_id"
    blank = _record(world, patient_id, "override", {**item, "justification": " "}, Role.PHYSICIAN)
    assert blank.json()["field"] == "justification"


def test_a_retraction_removes_an_entry_from_every_decision_but_keeps_it(world: World) -> None:
    patient_id = world.ids["patient"]
    finding = next(e for e in _entries(world, patient_id) if e["kind"] == "finding")
    retraction = _record(
        world, patient_id, "retraction", {"entry_id": finding["id"], "reason": "wrong patient"}
    )
    assert retraction.status_code == 201, retraction.text
    entries = {e["id"]: e for e in _entries(world, patient_id)}
    assert entries[finding["id"]]["retracted"] is True
    assert entries[retraction.json()["id"]]["data"] == {
        "entry_id": finding["id"],
        "reason": "wrong patient",
    }
    again = _record(world, patient_id, "retraction", {"entry_id": finding["id"], "reason": "x"})
    assert again.status_code == 422
    chain = {"entry_id": retraction.json()["id"], "reason": "undo"}
    assert _record(world, patient_id, "retraction", chain).status_code == 422


# -- booking -----------------------------------------------------------------------------------


def test_a_failed_gate_blocks_booking_and_a_missing_result_does_not(memory_world: World) -> None:
    world = memory_world
    patient_id = _new_patient(world)
    _order(world, patient_id, "ocrelizumab", "2026-03-09")
    monday = "2026-03-09T09:00:00+00:00"
    # Nothing on file: every first-dose gate is missing, which the start will refuse; the
    # booking goes ahead because the results can still come before the dose.
    first = _book(world, patient_id, "ocrelizumab-300-initial", 1, monday)
    assert first.status_code == 201, first.text
    cancel = world.request(Role.SCHEDULER, "POST", f"/api/appointments/{first.json()['id']}/cancel")
    assert cancel.status_code == 200
    assert (
        _record(
            world, patient_id, "lab", {"test": "hbsag", "on": "2026-02-20", "positive": True}
        ).status_code
        == 201
    )
    blocked = _book(world, patient_id, "ocrelizumab-300-initial", 1, monday)
    assert blocked.status_code == 422
    body = blocked.json()
    assert (body["error"], body["stage"], body["gate_ids"]) == (
        "gate-blocked",
        "booking",
        ["hbv_hbsag"],
    )
    assert "hbsag positive on 2026-02-20" in body["message"]


def test_a_physician_override_lets_an_overridable_failed_gate_book(memory_world: World) -> None:
    world = memory_world
    patient_id = _new_patient(world)
    _order(world, patient_id, "ocrelizumab", "2026-03-09")
    _record(world, patient_id, "lab", {"test": "anti_hbc", "on": "2026-02-20", "positive": True})
    monday = "2026-03-09T09:00:00+00:00"
    blocked = _book(world, patient_id, "ocrelizumab-300-initial", 1, monday)
    assert blocked.json()["gate_ids"] == ["hbv_anti_hbc"]
    wrong_day = {"gate_id": "hbv_anti_hbc", "on": "2026-03-10", "justification": "hepatology"}
    _record(world, patient_id, "override", wrong_day, role=Role.PHYSICIAN)
    assert _book(world, patient_id, "ocrelizumab-300-initial", 1, monday).status_code == 422
    override = {**wrong_day, "on": "2026-03-09"}  # an override holds for its dose date only
    assert _record(world, patient_id, "override", override, role=Role.PHYSICIAN).status_code == 201
    booked = _book(world, patient_id, "ocrelizumab-300-initial", 1, monday)
    assert booked.status_code == 201, booked.text


def test_day_1_and_day_15_are_booked_together_and_the_minimum_interval_holds(
    memory_world: World,
) -> None:
    world = memory_world
    patient_id = _new_patient(world)
    _order(world, patient_id, "ocrelizumab", "2026-03-09")
    first = _book(world, patient_id, "ocrelizumab-300-initial", 1, "2026-03-09T09:00:00+00:00")
    assert first.status_code == 201, first.text
    second = _book(world, patient_id, "ocrelizumab-300-initial", 2, "2026-03-23T09:00:00+00:00")
    assert second.status_code == 201, second.text
    # Dose 3: at the earliest 5 months after dose 2 (dossier Q1/Q3) = 2026-08-23.
    early = _book(world, patient_id, "ocrelizumab-600-standard", 3, "2026-08-22T09:00:00+00:00")
    assert early.status_code == 422
    assert (early.json()["error"], early.json()["earliest"]) == ("dose-too-early", "2026-08-23")
    on_time = _book(world, patient_id, "ocrelizumab-600-standard", 3, "2026-08-23T09:00:00+00:00")
    assert on_time.status_code == 201, on_time.text
    skipped = _book(world, patient_id, "ocrelizumab-600-standard", 5, "2027-08-23T09:00:00+00:00")
    assert skipped.status_code == 422
    assert skipped.json()["field"] == "dose_number"


# -- starting the dose -------------------------------------------------------------------------


def _spare_patient(world: World) -> str:
    spare = world.ids["spare_appointment"]
    return str(world.request(Role.NURSE, "GET", f"/api/appointments/{spare}").json()["patient_id"])


def _checked_in(world: World) -> tuple[str, int]:
    """Patient 02's dose 3 (the spare appointment), checked in and premedicated now."""
    spare = world.ids["spare_appointment"]
    opened = world.request(Role.NURSE, "POST", "/api/sessions", json={"appointment_id": spare})
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["session_id"]
    appointment = world.request(Role.NURSE, "GET", f"/api/appointments/{spare}").json()
    version = 0
    for command in (
        {
            "command": "CheckIn",
            "patient_id": appointment["patient_id"],
            "protocol_id": appointment["protocol_id"],
            "dose_number": 3,
            "height_cm": "170",
            "weight_kg": "70",
            **identity_fields(world, appointment["patient_id"]),
        },
        {"command": "RecordAssessment", "passed": True},
        {
            "command": "GivePremedication",
            "drug": "methylprednisolone",
            "dose": "100 mg",
            "route": "IV",
        },
        {
            "command": "GivePremedication",
            "drug": "cetirizine",
            "dose": "10 mg",
            "route": "oral",
            "for_premedication": "antihistamine (e.g. diphenhydramine)",
        },
    ):
        moment = NOW - timedelta(minutes=40) + timedelta(minutes=version)
        world.clock.now, at = moment, moment.isoformat()  # charted as it happens
        sent = world.request(
            Role.NURSE,
            "POST",
            f"/api/sessions/{session_id}/commands",
            json={"expected_version": version, "command": {**command, "at": at}},
        )
        assert sent.status_code == 200, sent.text
        version = sent.json()["version"]
    world.clock.now = NOW
    return session_id, version


def _start(world: World, session_id: str, version: int) -> Any:
    return world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{session_id}/commands",
        json={
            "expected_version": version,
            "command": {"command": "StartInfusion", "at": NOW.isoformat(), "rate_ml_per_h": "40"},
        },
    )


def test_a_missing_same_day_check_blocks_the_start_until_it_is_recorded(world: World) -> None:
    session_id, version = _checked_in(world)
    patient_id = _spare_patient(world)
    finding = next(
        e
        for e in _entries(world, patient_id)
        if e["kind"] == "finding" and e["data"]["name"] == "active_infection"
    )
    _record(world, patient_id, "retraction", {"entry_id": finding["id"], "reason": "not done"})
    refused = _start(world, session_id, version)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["error"], body["stage"], body["gate_ids"]) == (
        "gate-blocked",
        "start",
        ["active_infection"],
    )
    stored = world.request(Role.NURSE, "GET", f"/api/sessions/{session_id}/events").json()
    assert stored["version"] == version  # nothing stored by the refused start
    assert len(stored["events"]) == version
    found = {"name": "active_infection", "on": TODAY, "present": False}
    assert _record(world, patient_id, "finding", found).status_code == 201
    started = _start(world, session_id, version)
    assert started.status_code == 200, started.text


def test_an_active_infection_today_blocks_the_start_and_cannot_be_overridden(
    memory_world: World,
) -> None:
    world = memory_world
    session_id, version = _checked_in(world)
    patient_id = _spare_patient(world)
    seeded = next(e for e in _entries(world, patient_id) if e["kind"] == "finding")
    _record(world, patient_id, "retraction", {"entry_id": seeded["id"], "reason": "fever now"})
    _record(
        world, patient_id, "finding", {"name": "active_infection", "on": TODAY, "present": True}
    )
    refused = _start(world, session_id, version)
    assert refused.json()["gate_ids"] == ["active_infection"]
    assert "active_infection on 2026-03-02: postpone until resolved" in refused.json()["message"]
    override = {"gate_id": "active_infection", "on": TODAY, "justification": "mild cold"}
    assert _record(world, patient_id, "override", override, Role.PHYSICIAN).status_code == 422


def test_a_started_infusion_counts_as_the_dose_given(world: World) -> None:
    """Patient 01's dose 3 started today in its session: the course moves on to dose 4."""
    response = world.request(
        Role.NURSE, "GET", f"/api/patients/{world.ids['patient']}/courses?as_of={TODAY}"
    )
    assert response.status_code == 200, response.text
    (course,) = response.json()["courses"]
    assert course["order_id"] == world.ids["order"]
    doses = course["calendar"]["doses"]
    assert [(d["dose_number"], d["status"], d["given_on"]) for d in doses[:4]] == [
        (1, "given", "2025-09-15"),
        (2, "given", "2025-09-29"),
        (3, "given", TODAY),
        (4, "planned", None),
    ]
    assert response.json()["flags"] == []


def test_a_failed_gate_is_flagged_on_the_patient(memory_world: World) -> None:
    world = memory_world
    patient_id = _new_patient(world)
    _order(world, patient_id, "natalizumab", TODAY)
    _record(world, patient_id, "finding", {"name": "pml", "on": "2026-02-01", "present": True})
    view = world.request(Role.NURSE, "GET", f"/api/patients/{patient_id}/courses").json()
    assert "natalizumab: next dose blocked by natalizumab_no_pml" in view["flags"]
    (course,) = view["courses"]
    gates = {g["gate_id"]: g["status"] for g in course["gates"]}
    assert gates["natalizumab_no_pml"] == "fail"


# -- the stored record means what a check file means -------------------------------------------

_DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 3, 1))
_LABS = st.fixed_dictionaries(
    {"test": st.sampled_from(sorted(LAB_TESTS)), "on": _DAYS.map(date.isoformat)},
    optional={
        "value": st.integers(0, 10_000),
        "positive": st.booleans(),
        "abnormal": st.booleans(),
    },
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(labs=st.lists(_LABS, max_size=8), retract=st.sets(st.integers(0, 7)))
def test_the_stored_record_equals_the_check_file_of_its_live_entries(
    labs: list[dict[str, Any]], retract: set[int]
) -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    entries = [
        ClinicalEntry(
            id=f"e{i}",
            patient_id="p",
            kind=ClinicalEntryKind.LAB,
            on=date.fromisoformat(lab["on"]),
            data=lab,
            recorded_at=at,
            recorded_by="u",
        )
        for i, lab in enumerate(labs)
    ]
    retractions = [
        ClinicalEntry(
            id=f"r{i}",
            patient_id="p",
            kind=ClinicalEntryKind.RETRACTION,
            on=at.date(),
            data={"entry_id": f"e{i}", "reason": "error"},
            recorded_at=at,
            recorded_by="u",
        )
        for i in sorted(retract)
        if i < len(labs)
    ]
    live = [lab for i, lab in enumerate(labs) if i not in retract]
    assert stored_record([*entries, *retractions], "p") == patient_record_from_dict(
        {"id": "p", "labs": live}
    )


def test_concurrent_entries_for_one_patient_are_all_kept(world: World) -> None:
    """Two nurses recording at once: every entry is stored, none overwrites another."""
    import threading

    patient_id = world.ids["patient"]
    before = len(_entries(world, patient_id))
    nurse = actor_for(world, Role.NURSE)
    errors: list[BaseException] = []

    def record(n: int) -> None:
        try:
            for k in range(5):
                item = {"test": "tsh", "on": TODAY, "value": n * 10 + k, "abnormal": False}
                world.centre.clinical.record(nurse, patient_id, "lab", item)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = _entries(world, patient_id)
    assert len(entries) == before + 20
    values = sorted(e["data"]["value"] for e in entries if e["data"].get("test") == "tsh")
    assert values == sorted(n * 10 + k for n in range(4) for k in range(5))
