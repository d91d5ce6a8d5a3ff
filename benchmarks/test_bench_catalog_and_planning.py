"""Speed of the hot paths a busy infusion centre hits: loading the catalog, planning infusions."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.catalog import load_therapy_text, shipped_catalog
from msinfusion.planning import plan_infusion

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_load_and_validate_every_therapy_file(benchmark: BenchmarkFixture) -> None:
    data = resources.files("msinfusion.catalog").joinpath("data")
    texts = [(e.name, e.read_text()) for e in data.iterdir() if e.name.endswith(".toml")]
    therapies = benchmark(lambda: [load_therapy_text(text, file=name) for name, text in texts])
    assert len(therapies) == len(texts)


def test_plan_one_ocrelizumab_infusion(benchmark: BenchmarkFixture) -> None:
    protocol = shipped_catalog().get_protocol("ocrelizumab-600-standard")
    plan = benchmark(plan_infusion, protocol, START)
    assert plan.infusion_duration.total_seconds() == 210 * 60


def test_plan_a_centre_day_of_200_infusions(benchmark: BenchmarkFixture) -> None:
    """A large centre's day: 200 plans across every fixed-dose protocol, as JSON."""
    protocols = [p for p in shipped_catalog().protocols() if p.dose.mg is not None]

    def plan_day() -> int:
        return sum(
            len(plan_infusion(protocols[i % len(protocols)], START).to_json_dict()["steps"])
            for i in range(200)
        )

    assert benchmark(plan_day) > 0
