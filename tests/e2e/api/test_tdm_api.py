"""Model-informed natalizumab dosing through the API (issue 23): two troughs -> fit -> proposed
interval -> the physician applies it -> the order's calendar changes; the next trough is scored
against the stored prediction; bad input is a 422 naming the field and stores nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from msinfusion.application.records import ClinicalEntryKind, Role
from msinfusion.application.tdm import _trough_entry_id
from msinfusion.errors import DuplicateRecord
from tests.e2e.api.world import NOW, World, actor_for, build_world

START = date(2025, 12, 8)
"""Natalizumab every 4 weeks from 8 Dec 2025: doses on 8 Dec, 5 Jan, 2 Feb and 2 Mar 2026 (the
last is today in the world, NOW = 2 Mar 2026 10:45 UTC)."""
GIVEN = (START, date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2))
TROUGHS = [
    {"at": "2026-02-02T08:00:00+00:00", "trough_ug_per_ml": 42.0},
    {"at": "2026-03-02T08:00:00+00:00", "trough_ug_per_ml": 45.0},
]


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


def _natalizumab_patient(world: World) -> tuple[str, str]:
    physician, nurse = actor_for(world, Role.PHYSICIAN), actor_for(world, Role.NURSE)
    patient = world.centre.records.add_patient(
        nurse, display_name="Synthetic TDM Patient", weight_kg=70, synthetic=True
    )
    order = world.centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="natalizumab", start_date=START
    )
    for number, day in enumerate(GIVEN, start=1):
        world.centre.clinical.record(
            nurse,
            patient.id,
            "given-dose",
            {"order_id": order.id, "dose_number": number, "on": day.isoformat()},
        )
    return patient.id, order.id


def _due(world: World, order_id: str, n: int = 3) -> list[str]:
    reply = world.request(Role.PHYSICIAN, "GET", f"/api/orders/{order_id}/calendar")
    assert reply.status_code == 200, reply.text
    return [d["due"] for d in reply.json()["doses"]][:n]


def _tdm(world: World, patient_id: str, body: dict[str, Any], role: Role = Role.NURSE) -> Any:
    return world.request(role, "POST", f"/api/patients/{patient_id}/tdm", json=body)


def test_two_troughs_fit_apply_and_score_the_next(world: World) -> None:
    patient_id, order_id = _natalizumab_patient(world)
    assert _due(world, order_id) == ["2025-12-08", "2026-01-05", "2026-02-02"]

    reply = _tdm(world, patient_id, {"troughs": TROUGHS, "target_ug_per_ml": 10})
    assert reply.status_code == 200, reply.text
    rec = reply.json()
    assert len(rec["troughs_stored"]) == 2
    assert all(t["prediction"] is None for t in rec["troughs_stored"])  # nothing predicted yet
    assert rec["model_version"].startswith("natalizumab-2cmt-linear+MM-MAP-laplace/")
    assert rec["decision_support"] is True
    weeks = rec["interval_weeks"]
    assert weeks is not None
    assert weeks >= 6
    trough = rec["predicted_trough_ug_per_ml"]
    band = rec["band"]
    assert trough >= 10
    assert band["trough_p5_ug_per_ml"] <= trough <= band["trough_p95_ug_per_ml"]
    forecast = {f["interval_week"]: f for f in rec["forecasts"]}
    assert forecast[weeks]["map_trough_ug_per_ml"] == trough
    assert forecast[weeks + 1]["map_trough_ug_per_ml"] < 10  # the next week would fall below
    assert 17.7 < rec["alpha4_saturation_pct_at_trough"] < 100
    assert rec["orderable_interval"] == "6w"
    assert "pubmed.ncbi.nlm.nih.gov/37963723" in rec["target_source_url"]

    # Decision support: nothing changed on the order until the physician applies it.
    assert _due(world, order_id) == ["2025-12-08", "2026-01-05", "2026-02-02"]
    apply = {"recommendation_id": rec["recommendation_id"], "acknowledge_off_label": True}
    path = f"/api/patients/{patient_id}/tdm/apply"
    assert world.request(Role.NURSE, "POST", path, json=apply).status_code == 403
    no_ack = world.request(
        Role.PHYSICIAN, "POST", path, json={**apply, "acknowledge_off_label": False}
    )
    assert no_ack.status_code == 422
    assert no_ack.json()["field"] == "acknowledge_off_label"
    applied = world.request(Role.PHYSICIAN, "POST", path, json=apply)
    assert applied.status_code == 200, applied.text
    assert applied.json()["options"]["interval"] == "6w"
    assert applied.json()["options"]["interval_from_dose"] == "5"
    # Doses 1-4 keep every 4 weeks; dose 5 is 6 weeks after dose 4 (2 Mar + 42 days = 13 Apr),
    # dose 6 six weeks later (13 Apr + 42 days = 25 May).
    assert _due(world, order_id, 6) == [
        "2025-12-08",
        "2026-01-05",
        "2026-02-02",
        "2026-03-02",
        "2026-04-13",
        "2026-05-25",
    ]

    # Four weeks later a trough is measured: scored against the stored recommendation.
    world.clock.advance(timedelta(days=28))
    later = {"at": "2026-03-30T08:00:00+00:00", "trough_ug_per_ml": 40.0}
    next_reply = _tdm(world, patient_id, {"troughs": [later], "target_ug_per_ml": 10})
    assert next_reply.status_code == 200, next_reply.text
    scored = next_reply.json()["troughs_stored"][0]["prediction"]
    assert scored["recommendation_id"] == rec["recommendation_id"]
    assert scored["model_version"] == rec["model_version"]
    expected = 100 * (scored["predicted_ug_per_ml"] - 40.0) / 40.0
    assert scored["error_pct"] == pytest.approx(expected, abs=1e-9)
    # A patient whose earlier troughs were ~42-45 on 4-weekly doses has a similar 4-week trough.
    assert 25 < scored["predicted_ug_per_ml"] < 70

    panel = world.request(Role.PHYSICIAN, "GET", f"/api/patients/{patient_id}/tdm").json()
    assert [t["trough_ug_per_ml"] for t in panel["troughs"]] == [42.0, 45.0, 40.0]
    assert panel["troughs"][2]["prediction"]["error_pct"] == scored["error_pct"]
    assert panel["recommendation"]["recommendation_id"] == next_reply.json()["recommendation_id"]
    accuracy = world.request(Role.PHYSICIAN, "GET", "/api/tdm/accuracy").json()["accuracy"]
    row = next(a for a in accuracy if a["model_version"] == rec["model_version"])
    assert row["n"] >= 1
    assert {p["mean_prediction_error_pct"] for p in panel["published_accuracy"]} == {4.8, 24.0}
    world.clock.advance(timedelta(days=-28))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"troughs": [], "target_ug_per_ml": 10}, "troughs"),
        ({"troughs": TROUGHS, "target_ug_per_ml": 7}, "target_ug_per_ml"),
        (
            {
                "troughs": [{"at": "2026-02-02T08:00:00", "trough_ug_per_ml": 4}],
                "target_ug_per_ml": 10,
            },
            "at",
        ),
        (
            {"troughs": [{**TROUGHS[0], "trough_ug_per_ml": -1}], "target_ug_per_ml": 10},
            "trough_ug_per_ml",
        ),
        (
            {"troughs": [{**TROUGHS[0], "trough_ug_per_ml": "high"}], "target_ug_per_ml": 10},
            "trough_ug_per_ml",
        ),
        ({"troughs": [{**TROUGHS[0], "unit": "mg"}], "target_ug_per_ml": 10}, "unit"),
        (
            {
                "troughs": [{"at": "2026-03-09T08:00:00+00:00", "trough_ug_per_ml": 5}],
                "target_ug_per_ml": 10,
            },
            "troughs[0].at",
        ),
        (
            {
                "troughs": [{"at": "2025-11-01T08:00:00+00:00", "trough_ug_per_ml": 5}],
                "target_ug_per_ml": 10,
            },
            "troughs[0].at",
        ),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    patient_id, _ = _natalizumab_patient(world)
    reply = _tdm(world, patient_id, body)
    assert reply.status_code == 422, reply.text
    assert field in str(reply.json()), reply.json()
    panel = world.request(Role.PHYSICIAN, "GET", f"/api/patients/{patient_id}/tdm").json()
    assert panel["troughs"] == []
    assert panel["recommendation"] is None


def test_a_patient_without_natalizumab_doses_is_refused(world: World) -> None:
    nurse = actor_for(world, Role.NURSE)
    patient = world.centre.records.add_patient(nurse, display_name="No Doses", synthetic=True)
    world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=patient.id,
        therapy_id="natalizumab",
        start_date=START,
    )
    reply = _tdm(world, patient.id, {"troughs": TROUGHS[:1], "target_ug_per_ml": 5})
    assert reply.status_code == 422
    assert reply.json()["field"] == "troughs"


def test_the_generic_entry_api_refuses_tdm_kinds(world: World) -> None:
    patient_id, _ = _natalizumab_patient(world)
    reply = world.request(
        Role.NURSE,
        "POST",
        f"/api/patients/{patient_id}/clinical-entries",
        json={"kind": "drug-level", "item": {"at": NOW.isoformat(), "trough_ug_per_ml": 3}},
    )
    assert reply.status_code == 422
    assert reply.json()["field"] == "kind"


def test_a_trough_stored_twice_at_once_is_refused_by_its_key(world: World) -> None:
    """Two requests storing the same trough concurrently both see the record without it, so
    both compute the id the first one stored: the second add fails on the primary key and its
    transaction stores nothing (no trough counted or scored twice)."""

    patient_id, _ = _natalizumab_patient(world)
    with world.uow_factory() as uow:
        before = uow.clinical_entries.list_for_patient(patient_id)
    reply = _tdm(world, patient_id, {"troughs": TROUGHS[:1], "target_ug_per_ml": 10})
    assert reply.status_code == 200, reply.text
    stored = reply.json()["troughs_stored"][0]
    assert stored["at"] == "2026-02-02T08:00:00+00:00"
    racing_id = _trough_entry_id(patient_id, datetime.fromisoformat(TROUGHS[0]["at"]), before)
    assert racing_id == stored["entry_id"]
    with world.uow_factory() as uow:
        twin = next(
            e for e in uow.clinical_entries.list_for_patient(patient_id) if e.id == racing_id
        )
        assert twin.kind is ClinicalEntryKind.DRUG_LEVEL
        with pytest.raises(DuplicateRecord):
            uow.clinical_entries.add(twin)
