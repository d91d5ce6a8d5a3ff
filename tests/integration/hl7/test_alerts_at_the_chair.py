"""Device alerts at the chair: a monitor's reading raises an alert, the chairside live fragment
shows it (rule, values, priority) with an Acknowledge button, the nurse acknowledges it there,
and an alert left unacknowledged is pushed as an escalation (live ``alert-raised`` with
``escalated=true``)."""

from __future__ import annotations

import re
from datetime import timedelta

from msinfusion.application.live import Notice
from msinfusion.application.records import Role
from msinfusion.session.events import AlertAcknowledged
from tests.e2e.api.world import NOW, World, build_world
from tests.integration.hl7.test_matching_and_map import pcd01
from tests.unit.adapters.web.test_ui_routes import page_fields, sign_in

LOW_BP = (
    "OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.3.1.1|88|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|2|NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.3.1.2|50|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|3|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.3.1.3|63|266016^MDC_DIM_MMHG^MDC|||||F",
)


def alert_items(html: str) -> list[str]:
    return re.findall(r'<li data-testid="chairside-alert".*?</li>', html, flags=re.DOTALL)


def fragment(world: World) -> str:
    answer = world.client.get(f"/ui/sessions/{world.ids['session']}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_device_alert_shows_at_the_chair_and_the_nurse_acknowledges_it_there() -> None:
    world = build_world()
    session = world.ids["session"]
    receipt = world.centre.monitoring.ingest(
        "hl7-mllp", pcd01(world.ids["patient"], "Chair 1", *LOW_BP), now=NOW
    )
    assert receipt.alert_ids, receipt.answer  # systolic 88 mmHg: NEWS2 3 points
    sign_in(world, Role.NURSE)
    items = alert_items(fragment(world))
    extreme = [i for i in items if "news2-parameter-3" in i]
    assert len(extreme) == 1
    assert 'data-priority="medium"' in extreme[0]
    assert "systolic_mmhg 88" in extreme[0]
    assert 'data-command="AcknowledgeAlert"' in extreme[0]
    alert_id = re.search(r'data-alert-id="([^"]+)"', extreme[0]).group(1)  # type: ignore[union-attr]
    page = world.client.get(f"/sessions/{session}").text  # the full page holds the same form
    fields = page_fields("".join(i for i in alert_items(page) if alert_id in i), "AcknowledgeAlert")
    assert fields["alert_id"] == alert_id
    answer = world.client.post(
        f"/sessions/{session}/commands/AcknowledgeAlert", data={**fields, "note": "re-measured"}
    )
    assert answer.status_code == 200, answer.text
    (acked,) = [e for e in world.service.list_events(session) if isinstance(e, AlertAcknowledged)]
    assert (acked.alert_id, acked.user, acked.note) == (alert_id, "nurse1", "re-measured")
    assert not [i for i in alert_items(fragment(world)) if f'"{alert_id}"' in i]
    board = world.client.get("/").text  # the board: who acknowledged it, and when
    (shown,) = re.findall(
        rf'<li data-testid="acknowledged-alert" data-alert-id="{alert_id}">.*?</li>', board
    )
    assert "Acknowledged by <strong>nurse1</strong> at" in shown
    assert f'<time datetime="{acked.at.isoformat()}">' in shown


def test_a_viewer_sees_the_alerts_without_the_button() -> None:
    world = build_world()
    world.centre.monitoring.ingest(
        "hl7-mllp", pcd01(world.ids["patient"], "Chair 1", *LOW_BP), now=NOW
    )
    sign_in(world, Role.VIEWER)
    items = alert_items(fragment(world))
    assert items
    assert not any("AcknowledgeAlert" in i for i in items)


def test_an_alert_left_unacknowledged_is_pushed_as_an_escalation() -> None:
    world = build_world()
    seen: list[Notice] = []
    world.centre.live.subscribe(seen.append)
    first = world.centre.monitoring.ingest(
        "hl7-mllp", pcd01(world.ids["patient"], "Chair 1", *LOW_BP), now=NOW
    )
    assert first.alert_ids
    later = NOW + timedelta(minutes=5)
    again = pcd01(world.ids["patient"], "Chair 1", *LOW_BP, control_id="T2").replace(
        "20260302104500+0000", "20260302105000+0000"
    )
    world.centre.monitoring.ingest("hl7-mllp", again, now=later)  # the monitor's next reading
    escalations = [n for n in seen if n.data.get("escalated") == "true"]
    assert sorted(n.data["alert_id"] for n in escalations) == sorted(first.alert_ids)
    assert {n.kind for n in escalations} == {"alert-escalated"}
    sign_in(world, Role.NURSE)
    world.clock.advance(timedelta(minutes=5))
    assert "escalated" in " ".join(alert_items(fragment(world)))
