"""The UnitOfWork contract: commit publishes, everything else rolls back, readers are isolated.

Run against the in-memory fake, SQLite and PostgreSQL (``uow_factory`` in conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from msinfusion.application.ports import UnitOfWork
from msinfusion.errors import RecordNotFound
from tests.contract import samples

Factory = Callable[[], UnitOfWork]


def _write_everything(uow: UnitOfWork, suffix: str = "") -> None:
    uow.patients.add(samples.patient(f"p-1{suffix}"))
    uow.sessions.save(samples.summary(f"s-1{suffix}"))
    uow.audit.record(samples.audit(0))
    uow.events.append(f"s-1{suffix}", [samples.stored_event(0)], expected_version=0)


def _is_empty(factory: Factory, suffix: str = "") -> bool:
    with factory() as uow:
        missing = 0
        for lookup in (uow.patients.get, uow.sessions.get):
            try:
                lookup(f"p-1{suffix}" if lookup == uow.patients.get else f"s-1{suffix}")
            except RecordNotFound:
                missing += 1
        return missing == 2 and uow.events.version(f"s-1{suffix}") == 0 and uow.audit.list() == []


def test_leaving_the_block_without_commit_rolls_everything_back(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        _write_everything(uow)
    assert _is_empty(uow_factory)


def test_an_error_in_the_block_rolls_back_and_propagates(uow_factory: Factory) -> None:
    def fail_half_way() -> None:
        with uow_factory() as uow:
            _write_everything(uow)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_half_way()
    assert _is_empty(uow_factory)


def test_explicit_rollback_discards_and_the_unit_goes_on(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        _write_everything(uow)
        uow.rollback()
        uow.chairs.add(samples.chair())
        uow.commit()
    assert _is_empty(uow_factory)
    with uow_factory() as uow:
        assert uow.chairs.get("c-1") == samples.chair()


def test_commit_publishes_and_later_writes_need_their_own_commit(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        _write_everything(uow)
        uow.commit()
        uow.chairs.add(samples.chair())
    with uow_factory() as uow:
        assert uow.patients.get("p-1") == samples.patient()
        assert uow.events.read("s-1") == [samples.stored_event(0)]
        assert len(uow.audit.list()) == 1
        with pytest.raises(RecordNotFound):
            uow.chairs.get("c-1")


def test_another_unit_never_sees_uncommitted_writes(uow_factory: Factory) -> None:
    """B reads while A holds uncommitted writes (SQLite makes B wait for A: also isolated)."""
    seen: list[bool] = []

    def reader() -> None:
        seen.append(_is_empty(uow_factory))

    thread = threading.Thread(target=reader)
    with uow_factory() as uow:
        _write_everything(uow)
        thread.start()
        time.sleep(0.2)  # ordering only: let B read before A ends
        uow.rollback()
    thread.join(timeout=60)
    assert seen == [True]


def test_concurrent_units_on_different_records_both_commit(uow_factory: Factory) -> None:
    """Two committed transactions never undo each other (no lost update)."""
    start = threading.Barrier(2)

    def write(suffix: str) -> None:
        start.wait()
        with uow_factory() as uow:
            _write_everything(uow, suffix)
            uow.commit()

    threads = [threading.Thread(target=write, args=(s,)) for s in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with uow_factory() as uow:
        assert [p.id for p in uow.patients.list()] == ["p-1a", "p-1b"]
        assert uow.events.list_streams() == ["s-1a", "s-1b"]
        assert len(uow.audit.list()) == 2
