"""The EventStore contract: append-only streams, optimistic concurrency, nothing lost.

Run against the in-memory fake, SQLite and PostgreSQL (``uow_factory`` in conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from msinfusion.application.ports import UnitOfWork
from msinfusion.errors import ConcurrencyError
from tests.contract.samples import stored_event

Factory = Callable[[], UnitOfWork]


def _append(factory: Factory, stream: str, events: list[dict[str, object]], expected: int) -> int:
    with factory() as uow:
        version = uow.events.append(stream, events, expected_version=expected)
        uow.commit()
    return version


def test_a_new_stream_is_empty(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        assert uow.events.version("s-1") == 0
        assert uow.events.read("s-1") == []
        assert uow.events.list_streams() == []


def test_appended_events_read_back_exactly_in_order(uow_factory: Factory) -> None:
    first = [stored_event(0), stored_event(1)]
    assert _append(uow_factory, "s-1", first, 0) == 2
    assert _append(uow_factory, "s-1", [stored_event(2)], 2) == 3
    with uow_factory() as uow:
        assert uow.events.read("s-1") == [*first, stored_event(2)]
        assert uow.events.read("s-1", after_version=2) == [stored_event(2)]
        assert uow.events.read("s-1", after_version=3) == []
        assert uow.events.version("s-1") == 3


def test_streams_are_independent_and_listed_in_order(uow_factory: Factory) -> None:
    _append(uow_factory, "s-b", [stored_event(0)], 0)
    _append(uow_factory, "s-a", [stored_event(1), stored_event(2)], 0)
    with uow_factory() as uow:
        assert uow.events.list_streams() == ["s-a", "s-b"]
        assert uow.events.version("s-a") == 2
        assert uow.events.read("s-b") == [stored_event(0)]


@pytest.mark.parametrize("expected", [0, 1, 3, 7])
def test_a_stale_or_future_expected_version_is_refused_and_stores_nothing(
    uow_factory: Factory, expected: int
) -> None:
    _append(uow_factory, "s-1", [stored_event(0), stored_event(1)], 0)
    with uow_factory() as uow:
        with pytest.raises(ConcurrencyError) as refused:
            uow.events.append("s-1", [stored_event(9)], expected_version=expected)
        assert (refused.value.expected, refused.value.actual) == (expected, 2)
        assert refused.value.field == "expected_version"
    with uow_factory() as uow:
        assert uow.events.version("s-1") == 2
        assert stored_event(9) not in uow.events.read("s-1")


def test_appends_without_commit_are_discarded(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.events.append("s-1", [stored_event(0), stored_event(1)], expected_version=0)
        assert uow.events.version("s-1") == 2  # visible inside its own transaction
    with uow_factory() as uow:
        assert uow.events.version("s-1") == 0
        assert uow.events.read("s-1") == []


def test_a_concurrent_append_at_the_same_version_loses(uow_factory: Factory) -> None:
    """B appends at A's version while A's append is uncommitted. The SQL stores make B wait for
    A (PostgreSQL on the unique key, SQLite on the write lock) and refuse it; the fake lets B
    commit first and refuses A. Either way: one winner, one ConcurrencyError, nothing mixed."""
    outcome: dict[str, object] = {}

    def other() -> None:
        try:
            with uow_factory() as uow:
                uow.events.append("s-1", [stored_event(2)], expected_version=0)
                uow.commit()
            outcome["b"] = "committed"
        except ConcurrencyError as error:
            outcome["b"] = error

    thread = threading.Thread(target=other)
    try:
        with uow_factory() as uow:
            uow.events.append("s-1", [stored_event(1)], expected_version=0)
            thread.start()
            time.sleep(0.2)  # let B reach the database (ordering only; nothing is timed)
            uow.commit()
        outcome["a"] = "committed"
    except ConcurrencyError as error:
        outcome["a"] = error
    thread.join(timeout=60)
    errors = [v for v in outcome.values() if isinstance(v, ConcurrencyError)]
    assert sorted(outcome) == ["a", "b"]
    assert len(errors) == 1
    assert (errors[0].expected, errors[0].actual) == (0, 1)
    winner = stored_event(1) if outcome["a"] == "committed" else stored_event(2)
    with uow_factory() as uow:
        assert uow.events.read("s-1") == [winner]


@pytest.mark.parametrize("writers", [2, 4])
def test_racing_appends_with_the_same_expected_version_exactly_one_wins(
    uow_factory: Factory, writers: int
) -> None:
    """Rounds of ``writers`` threads appending at the same version: one winner per round, the
    others get ConcurrencyError, and the stream holds exactly the winners' events in order."""
    rounds = 8
    winners: list[dict[str, object]] = []
    losers = 0
    for version in range(rounds):
        start = threading.Barrier(writers)
        results: dict[int, object] = {}

        def write(
            writer: int,
            version: int = version,
            start: threading.Barrier = start,
            results: dict[int, object] = results,
        ) -> None:
            events = [stored_event(version, writer=writer), stored_event(version, part=2)]
            start.wait()
            try:
                with uow_factory() as uow:
                    uow.events.append("race", events, expected_version=2 * version)
                    uow.commit()
                results[writer] = events
            except ConcurrencyError as error:
                results[writer] = error

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        won = [r for r in results.values() if isinstance(r, list)]
        lost = [r for r in results.values() if isinstance(r, ConcurrencyError)]
        assert len(won) == 1, results
        assert len(lost) == writers - 1
        assert all(e.expected == 2 * version and e.actual == 2 * version + 2 for e in lost)
        winners.extend(won[0])
        losers += len(lost)
    with uow_factory() as uow:
        assert uow.events.read("race") == winners
        assert uow.events.version("race") == 2 * rounds
    assert losers == rounds * (writers - 1)
