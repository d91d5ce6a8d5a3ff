"""The live-update bus: ordered notices, history for reconnects, many threads publishing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from msinfusion.application.live import LiveUpdates, Notice

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_subscribers_get_every_notice_in_order_and_history_replays() -> None:
    live = LiveUpdates(history=3)
    got: list[Notice] = []
    token = live.subscribe(got.append)
    for n in range(5):
        live.publish("session-changed", at=AT, session_id=f"s-{n}")
    assert [n.sequence for n in got] == [1, 2, 3, 4, 5]
    assert [n.data["session_id"] for n in live.since(3)] == ["s-3", "s-4"]
    assert [n.sequence for n in live.since(0)] == [3, 4, 5]  # only the last 3 are kept
    live.unsubscribe(token)
    live.publish("alert-raised", at=AT, session_id="s-9")
    assert len(got) == 5
    assert live.subscribers == 0


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown live-update kind"):
        LiveUpdates().publish("patient-name-changed", at=AT)


def test_notice_json_has_no_more_than_ids() -> None:
    notice = LiveUpdates().publish("appointment-changed", at=AT, appointment_id="a-1")
    assert notice.to_json_dict() == {
        "sequence": 1,
        "kind": "appointment-changed",
        "at": "2026-11-25T09:00:00+00:00",
        "appointment_id": "a-1",
    }


def test_concurrent_publishers_get_unique_gapless_sequences() -> None:
    live = LiveUpdates(history=10_000)
    seen: list[int] = []
    lock = threading.Lock()

    def record(notice: Notice) -> None:
        with lock:
            seen.append(notice.sequence)

    live.subscribe(record)
    threads = [
        threading.Thread(
            target=lambda: [live.publish("session-changed", at=AT) for _ in range(250)]
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 1001))


def test_a_failing_subscriber_does_not_starve_the_others(caplog: pytest.LogCaptureFixture) -> None:
    live = LiveUpdates()
    got: list[Notice] = []

    def broken(notice: Notice) -> None:
        raise RuntimeError("event loop is closed")

    live.subscribe(broken)
    live.subscribe(got.append)
    live.publish("session-changed", at=AT, session_id="s-1")
    assert [n.data["session_id"] for n in got] == ["s-1"]
    assert "live-update listener failed" in caplog.text
