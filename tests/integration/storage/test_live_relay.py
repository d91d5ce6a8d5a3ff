"""Live updates between processes over PostgreSQL LISTEN/NOTIFY (two buses = two servers)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from msinfusion.adapters.storage.live_relay import connect_live_updates, libpq_url
from msinfusion.application.live import LiveUpdates, Notice
from tests.pg_cluster import Cluster

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_libpq_url_drops_the_driver() -> None:
    assert libpq_url("postgresql+psycopg://u@h:5/db") == "postgresql://u@h:5/db"


def test_a_notice_published_in_one_process_reaches_the_other_once(
    postgres_cluster: Cluster,
) -> None:
    url = postgres_cluster.url()
    first, second = LiveUpdates(), LiveUpdates()
    relays = [connect_live_updates(url, first), connect_live_updates(url, second)]
    arrived = threading.Event()
    on_second: list[Notice] = []
    on_first: list[Notice] = []

    def at_second(notice: Notice) -> None:
        on_second.append(notice)
        arrived.set()

    second.subscribe(at_second)
    first.subscribe(on_first.append)
    try:
        first.publish("session-changed", at=AT, session_id="session-42", version="7")
        assert arrived.wait(timeout=10), "the notice never reached the second process"
        (notice,) = on_second
        assert notice.kind == "session-changed"
        assert dict(notice.data) == {"session_id": "session-42", "version": "7"}
        assert notice.at == AT
        # The publisher delivered locally once and ignored its own echo from PostgreSQL.
        second.publish("alert-raised", at=AT, session_id="session-42")
        deadline = threading.Event()
        deadline.wait(1.5)
        assert [n.kind for n in on_first] == ["session-changed", "alert-raised"]
        assert [n.kind for n in on_second] == ["session-changed", "alert-raised"]
    finally:
        for relay in relays:
            relay.stop()


def test_malformed_payloads_are_ignored() -> None:
    live = LiveUpdates()
    assert live.receive({"kind": "session-changed"}) is None  # no time
    assert live.receive({"kind": "nonsense", "at": AT.isoformat()}) is None
    assert (
        live.receive({"kind": "session-changed", "at": AT.isoformat(), "origin": live.origin})
        is None
    )
    got = live.receive({"kind": "session-changed", "at": AT.isoformat(), "session_id": "s"})
    assert got is not None
    assert got.data == {"session_id": "s"}
