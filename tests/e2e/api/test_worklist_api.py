"""``/api/worklist`` and ``/api/patients/{id}/ledger`` over HTTP: the contract keys, the CSV
digest, assign and resolve through ``POST /api/worklist/actions``, and bad input named.

The centre is tests/worklist_centre.py (US, NOW = 2026-03-02)."""

from __future__ import annotations

import csv
import io

import pytest

from msinfusion.application.records import Role
from tests.worklist_centre import Centre, build

CONTRACT_KEYS = {"patient_id", "kind", "due", "status", "source"}


@pytest.fixture(scope="module")
def centre() -> Centre:
    return build("US")


def test_the_worklist_answers_the_contract_keys_and_filters_by_therapy(centre: Centre) -> None:
    world = centre.world
    response = world.request(Role.NURSE, "GET", "/api/worklist")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2026-03-02"
    assert body["due_before"] == "2026-03-30"
    assert body["patients"] == 4
    assert all(set(item) >= CONTRACT_KEYS for item in body["items"])
    only = world.request(
        Role.PHYSICIAN,
        "GET",
        "/api/worklist",
        params={"therapy": "alemtuzumab", "due_before": "2026-03-02"},
    ).json()
    assert {i["patient_id"] for i in only["items"]} == {centre.patients["alemtuzumab"]}
    assert {i["kind"] for i in only["items"]} == {"lab"}
    cbc = next(i for i in only["items"] if i["item_id"] == "monitoring:alemtuzumab_cbc:2026-03-01")
    assert (cbc["due"], cbc["status"], cbc["missed"]) == ("2026-03-01", "overdue", 3)
    assert cbc["source"].startswith("https://")


def test_the_daily_digest_is_csv_with_one_line_per_item(centre: Centre) -> None:
    world = centre.world
    response = world.request(Role.SCHEDULER, "GET", "/api/worklist", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    items = world.request(Role.SCHEDULER, "GET", "/api/worklist").json()["items"]
    assert [r["item_id"] for r in rows] == [i["item_id"] for i in items]
    assert rows[0]["status"] == "overdue"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"due_before": "2026-02-30"}, "due_before"),
        ({"due_before": "2026-03-01"}, "due_before"),
        ({"therapy": "aspirin"}, "therapy"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    centre: Centre, params: dict[str, str], field: str
) -> None:
    response = centre.world.request(Role.NURSE, "GET", "/api/worklist", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_assign_then_resolve_through_the_api() -> None:
    local = build("US")
    world = local.world
    patient = local.patients["ocrelizumab"]
    item_id = f"gate:{local.orders['ocrelizumab']}:2:active_infection"
    assigned = world.request(
        Role.SCHEDULER,
        "POST",
        "/api/worklist/actions",
        json={
            "action": "assign",
            "patient_id": patient,
            "item_id": item_id,
            "assignee": world.user_ids[Role.NURSE],
        },
    )
    assert assigned.status_code == 201, assigned.text
    assert assigned.json()["kind"] == "assigned"
    mine = world.request(
        Role.NURSE, "GET", "/api/worklist", params={"owner": world.user_ids[Role.NURSE]}
    ).json()["items"]
    assert [(i["item_id"], i["owner_name"]) for i in mine] == [(item_id, "nurse1")]
    resolved = world.request(
        Role.NURSE,
        "POST",
        "/api/worklist/actions",
        json={"action": "resolve", "patient_id": patient, "item_id": item_id, "reason": "seen"},
    )
    assert resolved.status_code == 201
    again = world.request(
        Role.NURSE,
        "POST",
        "/api/worklist/actions",
        json={"action": "resolve", "patient_id": patient, "item_id": item_id, "reason": "seen"},
    )
    assert again.status_code == 404
    assert again.json()["field"] == "item_id"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "close", "patient_id": "p", "item_id": "i"}, 422, "action"),
        ({"action": "resolve", "patient_id": "p", "item_id": "i", "extra": 1}, 422, "extra"),
        ({"action": "resolve", "item_id": "dose:x:1", "reason": "r"}, 422, "patient_id"),
        ({"action": "resolve", "patient_id": "{patient}", "item_id": "dose:x:1"}, 422, "reason"),
        ({"action": "assign", "patient_id": "{patient}", "item_id": "dose:x:1"}, 422, "assignee"),
        ({"action": "resolve", "patient_id": "nobody", "item_id": "i", "reason": "r"}, 404, "id"),
    ],
)
def test_bad_decisions_are_refused_naming_the_field(
    centre: Centre, body: dict[str, object], status: int, field: str
) -> None:
    sent = {k: (centre.patients["natalizumab"] if v == "{patient}" else v) for k, v in body.items()}
    response = centre.world.request(Role.NURSE, "POST", "/api/worklist/actions", json=sent)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_the_ledger_over_json_and_csv(centre: Centre) -> None:
    world, patient = centre.world, centre.patients["natalizumab"]
    body = world.request(Role.VIEWER, "GET", f"/api/patients/{patient}/ledger").json()
    assert body["jurisdiction"] == "US"
    assert {r["rule_id"] for r in body["rows"]} >= {"TOUCH-14", "TOUCH-12/19", "TOUCH-05/06"}
    exported = world.request(
        Role.NURSE, "GET", f"/api/patients/{patient}/ledger", params={"format": "csv"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == len(body["rows"])
    period = world.request(
        Role.NURSE,
        "GET",
        f"/api/patients/{patient}/ledger",
        params={"since": "2026-02-01", "until": "2026-02-28"},
    ).json()
    assert {r["dose_number"] for r in period["rows"]} == {2}  # only the dose of 2026-02-02


@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "yesterday"}, "since"), ({"since": "2026-03-01", "until": "2026-02-01"}, "until")],
)
def test_bad_ledger_periods_are_422(centre: Centre, params: dict[str, str], field: str) -> None:
    patient = centre.patients["natalizumab"]
    response = centre.world.request(
        Role.NURSE, "GET", f"/api/patients/{patient}/ledger", params=params
    )
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_an_unknown_patients_ledger_is_404(centre: Centre) -> None:
    response = centre.world.request(Role.NURSE, "GET", "/api/patients/nobody/ledger")
    assert response.status_code == 404
