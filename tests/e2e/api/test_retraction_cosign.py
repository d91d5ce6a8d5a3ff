"""Retracting a result another role entered needs a co-signature (issue 16, "Vital signs and
co-signature"; docs/clinical/safety-across-visits.md, "Co-signed retraction").

A nurse's retraction of a physician's positive anti-HBc is stored *pending*: the entry still
counts, so booking stays blocked, until a physician co-signs it in a separate request. A
physician retracting their own entry needs nothing; a co-signer of the wrong role, the nurse who
retracted, an unknown retraction or a second retraction of the same entry are refused and store
nothing. Both steps are in the audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_unit_of_work_factory
from tests.e2e.api.world import World, build_world

ON = "2026-02-20"
MONDAY = "2026-03-09T09:00:00+00:00"


def _world(uow_factory: Any = None) -> World:
    """Users and tokens only (no infusing session), plus one chair to book on."""
    world = build_world(uow_factory, clinical=False)
    chair = world.request(Role.ADMIN, "POST", "/api/chairs", json={"name": "Chair 1"})
    assert chair.status_code == 201, chair.text
    world.ids["chair"] = str(chair.json()["id"])
    return world


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """On the in-memory fake and on SQLite (the pending marker survives a stored round trip)."""
    if request.param == "sqlite":
        return _world(build_unit_of_work_factory(sqlite_url(tmp_path / "api.db")))
    return _world()


@pytest.fixture
def memory_world() -> World:
    return _world()


def _entries(world: World, patient_id: str) -> dict[str, dict[str, Any]]:
    response = world.request(Role.NURSE, "GET", f"/api/patients/{patient_id}/clinical-entries")
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()}


def _record(
    world: World, patient_id: str, kind: str, item: dict[str, Any], role: Role = Role.NURSE
) -> Any:
    return world.request(
        role,
        "POST",
        f"/api/patients/{patient_id}/clinical-entries",
        json={"kind": kind, "item": item},
    )


def _book(world: World, patient_id: str) -> Any:
    return world.request(
        Role.SCHEDULER,
        "POST",
        "/api/appointments",
        json={
            "patient_id": patient_id,
            "chair_id": world.ids["chair"],
            "protocol_id": "ocrelizumab-300-initial",
            "dose_number": 1,
            "starts_at": MONDAY,
        },
    )


def _blocked_by_anti_hbc(world: World, patient_id: str) -> bool:
    """Whether booking dose 1 is refused by the anti-HBc gate (a refused booking stores nothing;
    an accepted one is cancelled again so the next question starts from the same place)."""
    answer = _book(world, patient_id)
    if answer.status_code == 201:
        cancel = f"/api/appointments/{answer.json()['id']}/cancel"
        assert world.request(Role.SCHEDULER, "POST", cancel).status_code == 200
        return False
    assert answer.status_code == 422, answer.text
    assert answer.json()["gate_ids"] == ["hbv_anti_hbc"]
    return True


def _patient_with_positive_anti_hbc(world: World, author: Role = Role.PHYSICIAN) -> tuple[str, str]:
    """A new patient on an ocrelizumab order whose only blocking result is a positive anti-HBc
    entered by ``author``; returns (patient id, the lab entry's id)."""
    created = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={"display_name": "Synthetic Patient 30", "height_cm": 170, "weight_kg": 70},
    )
    assert created.status_code == 201, created.text
    patient_id = str(created.json()["id"])
    order = world.request(
        Role.PHYSICIAN,
        "POST",
        "/api/orders",
        json={"patient_id": patient_id, "therapy_id": "ocrelizumab", "start_date": "2026-03-09"},
    )
    assert order.status_code == 201, order.text
    lab = _record(
        world, patient_id, "lab", {"test": "anti_hbc", "on": ON, "positive": True}, author
    )
    assert lab.status_code == 201, lab.text
    assert _blocked_by_anti_hbc(world, patient_id)
    return patient_id, str(lab.json()["id"])


def _audit(world: World) -> list[dict[str, Any]]:
    response = world.request(Role.ADMIN, "GET", "/api/audit?limit=500")
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["entries"] if isinstance(body, dict) else body)


def test_a_nurse_s_retraction_of_a_physician_s_result_waits_for_the_physician(
    world: World,
) -> None:
    patient_id, lab_id = _patient_with_positive_anti_hbc(world)
    pending = _record(
        world, patient_id, "retraction", {"entry_id": lab_id, "reason": "wrong patient's tube"}
    )
    assert pending.status_code == 201, pending.text
    body = pending.json()
    assert body["data"] == {
        "entry_id": lab_id,
        "reason": "wrong patient's tube",
        "cosign_roles": ["physician"],
    }
    assert body["cosignature"] == {
        "status": "pending",
        "roles": ["physician"],
        "signed_by": None,
        "signed_at": None,
        "signature_id": None,
    }
    entries = _entries(world, patient_id)
    assert entries[lab_id]["retracted"] is False
    assert entries[lab_id]["pending_retraction"] == body["id"]
    # Still blocked: a pending retraction retracts nothing.
    assert _blocked_by_anti_hbc(world, patient_id)
    courses = world.request(
        Role.NURSE, "GET", f"/api/patients/{patient_id}/courses?as_of=2026-03-02"
    ).json()
    (gate,) = [g for g in courses["courses"][0]["gates"] if g["gate_id"] == "hbv_anti_hbc"]
    assert gate["status"] == "fail"

    signed = _record(world, patient_id, "retraction", {"cosigns": body["id"]}, role=Role.PHYSICIAN)
    assert signed.status_code == 201, signed.text
    assert signed.json()["data"] == {
        "entry_id": lab_id,
        "reason": "wrong patient's tube",
        "cosigns": body["id"],
    }
    assert signed.json()["recorded_by"] == world.user_ids[Role.PHYSICIAN]
    entries = _entries(world, patient_id)
    assert entries[lab_id]["retracted"] is True
    assert entries[lab_id]["pending_retraction"] is None
    assert entries[body["id"]]["cosignature"]["status"] == "signed"
    assert entries[body["id"]]["cosignature"]["signed_by"] == world.user_ids[Role.PHYSICIAN]
    assert entries[body["id"]]["cosignature"]["signature_id"] == signed.json()["id"]
    assert not _blocked_by_anti_hbc(world, patient_id)

    # Both steps are audited, by whom and on which entry.
    trail = [(a["action"], a["user_id"], a["resource_id"], a["outcome"]) for a in _audit(world)]
    assert (
        "clinical.retraction.pending",
        world.user_ids[Role.NURSE],
        body["id"],
        "ok",
    ) in trail
    assert (
        "clinical.retraction.cosigned",
        world.user_ids[Role.PHYSICIAN],
        body["id"],
        "ok",
    ) in trail
    # Signed once: a second co-signature is refused.
    again = _record(world, patient_id, "retraction", {"cosigns": body["id"]}, role=Role.PHYSICIAN)
    assert (again.status_code, again.json()["field"]) == (422, "cosigns")


def test_a_physician_retracting_their_own_entry_needs_no_co_signature(memory_world: World) -> None:
    world = memory_world
    patient_id, lab_id = _patient_with_positive_anti_hbc(world)
    retraction = _record(
        world, patient_id, "retraction", {"entry_id": lab_id, "reason": "typo"}, Role.PHYSICIAN
    )
    assert retraction.status_code == 201, retraction.text
    assert retraction.json()["data"] == {"entry_id": lab_id, "reason": "typo"}
    assert retraction.json()["cosignature"] is None
    assert _entries(world, patient_id)[lab_id]["retracted"] is True
    assert not _blocked_by_anti_hbc(world, patient_id)


def test_a_nurse_retracting_a_nurse_s_entry_needs_no_co_signature(memory_world: World) -> None:
    world = memory_world
    patient_id, lab_id = _patient_with_positive_anti_hbc(world, author=Role.NURSE)
    retraction = _record(world, patient_id, "retraction", {"entry_id": lab_id, "reason": "typo"})
    assert retraction.status_code == 201, retraction.text
    assert retraction.json()["cosignature"] is None
    assert not _blocked_by_anti_hbc(world, patient_id)


def test_refused_co_signatures_and_retractions_store_nothing(memory_world: World) -> None:
    world = memory_world
    patient_id, lab_id = _patient_with_positive_anti_hbc(world)
    pending = _record(world, patient_id, "retraction", {"entry_id": lab_id, "reason": "mix-up"})
    retraction_id = pending.json()["id"]
    before = _entries(world, patient_id)

    # Another nurse's role may not co-sign a physician's entry's retraction: 403, named.
    nurse = _record(world, patient_id, "retraction", {"cosigns": retraction_id})
    assert nurse.status_code == 403, nurse.text
    assert nurse.json()["error"] == "forbidden"
    assert "co-sign this retraction: a physician co-signs it" in nurse.json()["message"]
    # Roles outside the bedside may not co-sign anything.
    for role in (Role.PHARMACIST, Role.VIEWER, Role.SCHEDULER):
        refused = _record(world, patient_id, "retraction", {"cosigns": retraction_id}, role)
        assert refused.status_code == 403, (role, refused.text)
    # Input errors name the field.
    for item, field in (
        ({"cosigns": "entry-nope"}, "cosigns"),
        ({"cosigns": lab_id}, "cosigns"),  # not a retraction
        ({"cosigns": ""}, "cosigns"),
        ({"cosigns": retraction_id, "entry_id": "entry-other"}, "entry_id"),
        ({"cosigns": retraction_id, "reason": "x"}, "reason"),
        ({"entry_id": lab_id, "reason": "again"}, "entry_id"),  # one pending at a time
    ):
        for role in (Role.PHYSICIAN, Role.NURSE):
            answer = _record(world, patient_id, "retraction", item, role)
            assert answer.status_code == 422, (item, role, answer.text)
            assert answer.json()["field"] == field, (item, role)
    assert (
        "awaits co-signature"
        in _record(
            world, patient_id, "retraction", {"entry_id": lab_id, "reason": "again"}, Role.PHYSICIAN
        ).json()["message"]
    )
    assert _entries(world, patient_id) == before
    assert _blocked_by_anti_hbc(world, patient_id)
    outcomes = {a["outcome"] for a in _audit(world) if a["action"] == "clinical.retraction.cosign"}
    assert {"denied", "invalid"} <= outcomes


def test_the_one_who_retracted_cannot_co_sign_even_after_a_role_change(memory_world: World) -> None:
    """A nurse retracts, then becomes a physician: their own retraction still needs another."""
    world = memory_world
    patient_id, lab_id = _patient_with_positive_anti_hbc(world)
    pending = _record(world, patient_id, "retraction", {"entry_id": lab_id, "reason": "mix-up"})
    nurse_id = world.user_ids[Role.NURSE]
    promoted = world.request(
        Role.ADMIN, "PATCH", f"/api/users/{nurse_id}", json={"role": "physician"}
    )
    assert promoted.status_code == 200, promoted.text
    own = _record(world, patient_id, "retraction", {"cosigns": pending.json()["id"]})
    assert (own.status_code, own.json()["field"]) == (422, "cosigns")
    assert _entries(world, patient_id)[lab_id]["retracted"] is False
