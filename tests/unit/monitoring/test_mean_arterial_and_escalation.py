"""Mean arterial pressure in the session record (``VitalsRecorded`` v5, upcast from v4) and
its plausibility; escalation notices pushed once when an alert is left unacknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from msinfusion.application.bus import MessageBus, SessionCommitted
from msinfusion.application.live import LiveUpdates, Notice
from msinfusion.application.notices import AlertEscalated, register_notice_handlers
from msinfusion.application.session_streams import NumberedEvent
from msinfusion.errors import InvalidCommand, InvalidVitalSigns
from msinfusion.monitoring.vital_signs import MEAN_ARTERIAL_SOURCES, VitalSigns
from msinfusion.session import commands as cmd
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.events import AlertAcknowledged, AlertRaised, VitalsRecorded
from msinfusion.session.timeline import list_timeline_entries
from msinfusion.session.upcast import upcast

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_v4_vitals_event_reads_with_no_mean_arterial_pressure() -> None:
    stored = {
        "type": "VitalsRecorded",
        "version": 4,
        "at": AT.isoformat(),
        "recorded_at": AT.isoformat(),
        "user": "device:MON",
        "systolic_mmhg": "118",
        "diastolic_mmhg": "76",
        "heart_rate_bpm": None,
        "spo2_pct": None,
        "temperature_c": None,
        "respiratory_rate_per_min": None,
        "consciousness": None,
        "supplemental_oxygen": None,
    }
    assert upcast(dict(stored))["mean_arterial_mmhg"] is None
    event = event_from_dict(stored)
    assert isinstance(event, VitalsRecorded)
    assert (event.systolic_mmhg, event.mean_arterial_mmhg) == (118, None)
    assert event_to_dict(event)["version"] == 5


def test_a_v5_event_keeps_its_mean_exactly() -> None:
    event = VitalsRecorded(
        at=AT,
        recorded_at=AT,
        user="nurse1",
        systolic_mmhg=Fraction(118),
        diastolic_mmhg=Fraction(76),
        heart_rate_bpm=None,
        spo2_pct=None,
        temperature_c=None,
        respiratory_rate_per_min=None,
        mean_arterial_mmhg=Fraction(90),
    )
    again = event_from_dict(event_to_dict(event))
    assert again == event
    (entry,) = list_timeline_entries([again])  # type: ignore[arg-type]
    assert entry.text == "Vitals BP 118/76 mmHg, MAP 90 mmHg"


def test_record_vitals_takes_the_mean_alone_at_whole_mmhg() -> None:
    command = cmd.RecordVitals(at=AT, user="nurse1", mean_arterial_mmhg=Fraction(90))
    assert command.mean_arterial_mmhg == 90
    with pytest.raises(InvalidCommand) as refused:
        cmd.RecordVitals(at=AT, user="nurse1", mean_arterial_mmhg=Fraction(181, 2))
    assert refused.value.field == "mean_arterial_mmhg"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mean_arterial_mmhg": Decimal(251)}, "outside the plausible range 0-250"),
        ({"systolic_mmhg": Decimal(118), "mean_arterial_mmhg": Decimal(119)}, "above systolic"),
        ({"diastolic_mmhg": Decimal(76), "mean_arterial_mmhg": Decimal(75)}, "below diastolic"),
    ],
)
def test_an_implausible_mean_is_refused_naming_the_field(
    values: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(InvalidVitalSigns, match=message) as refused:
        VitalSigns(measured_at=AT, **values)  # type: ignore[arg-type]
    assert refused.value.field == "mean_arterial_mmhg"
    assert VitalSigns(measured_at=AT, systolic_mmhg=Decimal(118), diastolic_mmhg=Decimal(76),
                      mean_arterial_mmhg=Decimal(76)).mean_arterial_mmhg == 76  # fmt: skip
    assert all(source.startswith(("https://", "http://")) for source in MEAN_ARTERIAL_SOURCES)


def raised(alert_id: str, priority: str, at: datetime = AT) -> AlertRaised:
    return AlertRaised(
        at=at,
        recorded_at=at,
        user="device:MON",
        alert_id=alert_id,
        key=f"rule:{alert_id}",
        rule="news2-parameter-3",
        priority=priority,
        parameter="systolic",
        values=("systolic_mmhg=88",),
        message="systolic 88 mmHg",
        suggested_action="assess",
    )


def committed(*events: object, at: datetime = AT) -> SessionCommitted:
    numbered = tuple(NumberedEvent(sequence=n, event=e) for n, e in enumerate(events, 1))  # type: ignore[arg-type]
    return SessionCommitted(session_id="s-1", version=len(events), events=numbered, at=at)


def test_an_unacknowledged_alert_escalates_once_on_the_bus_and_live() -> None:
    bus, live = MessageBus(), LiveUpdates()
    watch = register_notice_handlers(bus, live)
    heard: list[AlertEscalated] = []
    bus.subscribe(AlertEscalated, heard.append)
    seen: list[Notice] = []
    live.subscribe(seen.append)
    bus.publish(committed(raised("alert-1", "medium"), raised("alert-2", "low")))
    bus.publish(committed(AlertAcknowledged(at=AT, user="nurse1", alert_id="alert-2", note=None)))
    assert watch.check(AT + timedelta(minutes=4, seconds=59)) == ()
    assert watch.pending() == {("s-1", "alert-1"): AT + timedelta(minutes=5)}
    seen.clear()
    (escalated,) = watch.check(AT + timedelta(minutes=5))
    assert (escalated.alert_id, escalated.priority, escalated.due) == (
        "alert-1",
        "high",
        AT + timedelta(minutes=5),
    )
    assert heard == [escalated]
    assert [(n.kind, dict(n.data)) for n in seen] == [
        (
            "alert-escalated",
            {
                "session_id": "s-1",
                "alert_id": "alert-1",
                "rule": "news2-parameter-3",
                "priority": "high",
                "escalated": "true",
            },
        ),
        ("session-changed", {"session_id": "s-1"}),
    ]
    assert watch.check(AT + timedelta(hours=1)) == ()  # once


def test_a_later_commit_pushes_a_due_escalation_without_a_ticker() -> None:
    bus, live = MessageBus(), LiveUpdates()
    register_notice_handlers(bus, live)
    heard: list[AlertEscalated] = []
    bus.subscribe(AlertEscalated, heard.append)
    bus.publish(committed(raised("alert-1", "high")))
    bus.publish(committed(at=AT + timedelta(minutes=6)))  # e.g. the monitor's next reading
    assert [(e.alert_id, e.priority) for e in heard] == [("alert-1", "high")]
