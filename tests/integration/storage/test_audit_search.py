"""The audit viewer's search in SQL (migration 0013's indexes): filters, newest first, cut by
the store; a patient's search also finds the pharmacy's steps (issue 18, administration)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from msinfusion.adapters.storage.engine import create_engine_for
from msinfusion.adapters.storage.migrate import upgrade
from msinfusion.adapters.storage.unit_of_work import SqlUnitOfWork
from msinfusion.application.records import AuditEntry

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = create_engine_for(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> object:
    return lambda: SqlUnitOfWork(engine)


def _entry(minute: int, action: str, resource_id: str | None, user: str = "u1") -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(minutes=minute),
        user_id=user,
        action=action,
        resource_type=action.split(".", maxsplit=1)[0],
        resource_id=resource_id,
        remote_addr=None,
        outcome="ok",
    )


def _fill(factory: object) -> None:
    rows = [
        _entry(0, "patient.read", "p1"),
        _entry(1, "order.sign", "o1"),
        _entry(2, "order.hold", "o2", user="u2"),
        _entry(3, "orders_x.y", "o1"),  # "order" must not find "orders_x"
        _entry(4, "order%.z", "o1"),  # a % in the text is a character, not a wildcard
        _entry(5, "pharmacy.prepare", "prep-1"),
        _entry(6, "order.sign", "o3"),
    ]
    with factory() as uow:  # type: ignore[operator]
        for row in rows:
            uow.audit.record(row)
        uow.commit()


def _actions(factory: object, **filters: object) -> list[tuple[str, str | None]]:
    with factory() as uow:  # type: ignore[operator]
        return [(e.action, e.resource_id) for e in uow.audit.list(**filters)]


def test_the_store_filters_by_action_kind_resource_and_time(uow_factory: object) -> None:
    _fill(uow_factory)
    assert _actions(uow_factory, action="order") == [
        ("order.sign", "o1"),
        ("order.hold", "o2"),
        ("order.sign", "o3"),
    ]
    assert _actions(uow_factory, action="order.sign", resource_ids={"o3", "p1"}) == [
        ("order.sign", "o3")
    ]
    assert _actions(uow_factory, action="order%") == [("order%.z", "o1")]
    assert _actions(uow_factory, resource_ids={"o1"}, until=T0 + timedelta(minutes=3)) == [
        ("order.sign", "o1")
    ]
    assert _actions(uow_factory, user_id="u2") == [("order.hold", "o2")]
    assert _actions(uow_factory, resource_ids=set()) == []


def test_the_limit_keeps_the_newest_matches(uow_factory: object) -> None:
    _fill(uow_factory)
    assert _actions(uow_factory, action="order", limit=2) == [
        ("order.hold", "o2"),
        ("order.sign", "o3"),
    ]


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ("resource_id IN ('o1', 'o2')", "ix_audit_log_resource_id_sequence"),
        (
            "action = 'order' OR (action >= 'order.' AND action < 'order/')",
            "ix_audit_log_action_sequence",
        ),
    ],
)
def test_the_search_reads_through_its_index(engine: Engine, filters: str, index: str) -> None:
    with engine.connect() as connection:
        plan = connection.execute(
            text(
                f"EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE {filters} "
                "ORDER BY sequence DESC LIMIT 500"
            )
        ).all()
    assert any(index in str(row) for row in plan), plan


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"resource_ids": {"o1", "o2"}}, "ix_audit_log_resource_id_sequence"),
        ({"action": "order"}, "ix_audit_log_action_sequence"),
    ],
)
def test_the_stores_own_query_reads_through_the_index(
    engine: Engine, uow_factory: object, filters: dict[str, object], index: str
) -> None:
    _fill(uow_factory)
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_log" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        _actions(uow_factory, **filters)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, params = next(s for s in seen if "ORDER BY" in s[0])
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        plan = raw.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()  # type: ignore[union-attr]
    assert any(index in str(row) for row in plan), plan
