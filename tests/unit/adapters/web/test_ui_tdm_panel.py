"""The patient page's natalizumab panel over a TestClient: a nurse records two troughs through
the form, the page shows the fit (chart, proposal, basis) as decision support; only a physician
sees and uses the apply form, which re-plans the order's calendar; a refused trough keeps
nothing and says why in the panel."""

from __future__ import annotations

import re

import pytest

from msinfusion.application.records import Role
from tests.e2e.api.test_tdm_api import _natalizumab_patient
from tests.e2e.api.world import World, actor_for, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


def _post(world: World, path: str, token: str, data: dict[str, str]) -> object:
    return world.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_nurse_records_troughs_physician_applies_the_interval(world: World) -> None:
    patient_id, order_id = _natalizumab_patient(world)
    token = sign_in(world, Role.NURSE)
    page = world.client.get(f"/patients/{patient_id}").text
    assert 'data-testid="tdm-panel"' in page
    assert "No trough recorded yet." in page
    for at, value in (("2026-02-02T08:00:00+00:00", "42"), ("2026-03-02T08:00:00+00:00", "45")):
        answer = _post(
            world,
            f"/patients/{patient_id}/tdm",
            token,
            {"at": at, "trough_ug_per_ml": value, "target_ug_per_ml": "10"},
        )
        assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    page = world.client.get(f"/patients/{patient_id}").text
    assert 'data-testid="tdm-chart"' in page
    assert "<polygon points=" in page
    assert page.count("<circle ") == 2  # the two measured troughs on the chart
    assert re.search(r'data-testid="tdm-interval">\d+ weeks<', page)
    assert 'data-testid="tdm-orderable">6w<' in page
    assert "Decision support only" in page
    assert "Basis and assumptions" in page
    assert 'data-testid="tdm-apply"' not in page  # a nurse never applies

    refused = _post(
        world,
        f"/patients/{patient_id}/tdm",
        token,
        {"at": "2026-03-02T08:00:00", "trough_ug_per_ml": "40", "target_ug_per_ml": "10"},
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "no UTC offset" in refused.text  # type: ignore[attr-defined]

    token = sign_in(world, Role.PHYSICIAN)
    page = world.client.get(f"/patients/{patient_id}").text
    form = re.search(r'<form[^>]*data-testid="tdm-apply".*?</form>', page, re.DOTALL)
    assert form, "the physician sees the apply form"
    rec_id = re.search(r'name="recommendation_id" value="([^"]+)"', form.group(0))
    assert rec_id
    path = f"/patients/{patient_id}/tdm/apply"
    unacknowledged = _post(world, path, token, {"recommendation_id": rec_id.group(1)})
    assert unacknowledged.status_code == 422  # type: ignore[attr-defined]
    applied = _post(
        world,
        path,
        token,
        {"recommendation_id": rec_id.group(1), "acknowledge_off_label": "yes"},
    )
    assert applied.status_code == 303  # type: ignore[attr-defined]
    order = world.centre.queries.list_orders(
        actor_for(world, Role.PHYSICIAN), patient_id=patient_id
    )
    assert dict(next(o for o in order if o.id == order_id).options)["interval"] == "6w"
    page = world.client.get(f"/patients/{patient_id}").text
    assert 'data-testid="tdm-order-interval">6w<' in page, page[page.find("<main") :][:3000]
    assert 'data-testid="tdm-apply"' not in page  # nothing left to apply
