"""Counting transactions: a unit-of-work factory that records every unit opened through it.

A unit that committed is a *write* transaction; one left without a commit is a *read*. Tests
and benchmarks wrap the factory a centre is built on and assert or report the counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from msinfusion.application.ports import UnitOfWork

Factory = Callable[[], UnitOfWork]


@dataclass
class Counts:
    reads: int = 0
    writes: int = 0

    @property
    def total(self) -> int:
        return self.reads + self.writes


class _CountedUnit:
    def __init__(self, inner: UnitOfWork, owner: CountingFactory) -> None:
        self._inner = inner
        self._owner = owner
        self._committed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)
        self._owner.record(write=self._committed)

    def commit(self) -> None:
        self._inner.commit()
        self._committed = True

    def rollback(self) -> None:
        self._inner.rollback()


class CountingFactory:
    """Wraps ``factory``; ``counts`` since the last ``reset``."""

    def __init__(self, factory: Factory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self.counts = Counts()

    def __call__(self) -> UnitOfWork:
        unit: Any = _CountedUnit(self._factory(), self)
        return unit  # a UnitOfWork by duck typing

    def record(self, *, write: bool) -> None:
        with self._lock:
            if write:
                self.counts.writes += 1
            else:
                self.counts.reads += 1

    def reset(self) -> Counts:
        """The counts so far, and start again from zero."""
        with self._lock:
            counts, self.counts = self.counts, Counts()
        return counts
