"""The SnapshotStore contract: one snapshot per stream, replaced whole, transactional.

Run against the in-memory fake, SQLite and PostgreSQL (``uow_factory`` in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable

from msinfusion.application.ports import StoredSnapshot, UnitOfWork

Factory = Callable[[], UnitOfWork]


def _snapshot(stream_id: str, version: int) -> StoredSnapshot:
    payload = {"schema": 1, "version": version, "entries": [{"note": "ünïcode", "n": [1, 2]}]}
    return StoredSnapshot(stream_id=stream_id, version=version, schema_version=1, payload=payload)


def test_a_stream_without_a_snapshot_has_none(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        assert uow.snapshots.get("s-1") is None


def test_a_snapshot_reads_back_exactly_and_a_newer_one_replaces_it(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.snapshots.put(_snapshot("s-1", 100))
        uow.snapshots.put(_snapshot("s-2", 3))
        assert uow.snapshots.get("s-1") == _snapshot("s-1", 100)  # its own write
        uow.commit()
    with uow_factory() as uow:
        assert uow.snapshots.get("s-1") == _snapshot("s-1", 100)
        uow.snapshots.put(_snapshot("s-1", 200))
        uow.commit()
    with uow_factory() as uow:
        assert uow.snapshots.get("s-1") == _snapshot("s-1", 200)
        assert uow.snapshots.get("s-2") == _snapshot("s-2", 3)


def test_a_snapshot_without_commit_is_discarded(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.snapshots.put(_snapshot("s-1", 100))
        uow.commit()
    with uow_factory() as uow:
        uow.snapshots.put(_snapshot("s-1", 200))
    with uow_factory() as uow:
        assert uow.snapshots.get("s-1") == _snapshot("s-1", 100)
