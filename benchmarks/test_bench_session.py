"""Speed of the session engine: replaying and querying a long infusion record."""

from __future__ import annotations

from fractions import Fraction

from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.session import commands as cmd
from msinfusion.session import replay, view_at
from tests.unit.session.helpers import at, protocol, started


def _long_session() -> tuple[object, ...]:
    service, s = started("ocrelizumab-600-standard")
    for i in range(1_000):
        service.handle(
            s, cmd.RecordVitals(at=at(Fraction(i, 10)), heart_rate_bpm=Fraction(70 + i % 5))
        )
    return tuple(service.list_events(s))


def test_replay_a_session_of_1000_events(benchmark: BenchmarkFixture) -> None:
    events = _long_session()
    state = benchmark(replay, events)
    assert state.version == len(events)


def test_view_of_a_session_of_1000_events_at_a_time(benchmark: BenchmarkFixture) -> None:
    events = _long_session()
    view = benchmark(view_at, events, protocol("ocrelizumab-600-standard"), at(50))
    assert view.state.volume_ml == Fraction(100, 3)


def test_handle_one_command_on_a_long_session(benchmark: BenchmarkFixture) -> None:
    service, s = started("ocrelizumab-600-standard")
    for i in range(1_000):
        service.handle(s, cmd.RecordVitals(at=at(Fraction(i, 10)), spo2_pct=Fraction(98)))
    minute = iter(range(10**9))

    def record() -> None:
        service.handle(
            s, cmd.RecordVitals(at=at(100 + Fraction(next(minute), 1000)), spo2_pct=Fraction(97))
        )

    benchmark(record)
