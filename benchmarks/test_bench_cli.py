"""``msinfusion --help`` against ``python -c 'import typer, rich'``, side by side in one run.

The ratio of the medians is the figure (target <= 3x, issue 22). With ``--benchmark-disable``
(CI's smoke run) each command runs once and the ratio is only recorded, not asserted.
Script: ``.venv/bin/python -m benchmarks.test_bench_cli``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from pytest_benchmark.fixture import BenchmarkFixture

HELP = [sys.executable, "-m", "msinfusion.entrypoints", "--help"]
BASELINE = [sys.executable, "-c", "import typer, rich"]


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - started


def measure(rounds: int) -> dict[str, float]:
    """Median wall time of each command over ``rounds`` alternating runs, and their ratio."""
    helps, bases = [], []
    for _ in range(rounds):
        bases.append(_seconds(BASELINE))
        helps.append(_seconds(HELP))
    help_s, base_s = statistics.median(helps), statistics.median(bases)
    return {"help_s": round(help_s, 3), "baseline_s": round(base_s, 3), "ratio": help_s / base_s}


def test_help_against_typer_and_rich(benchmark: BenchmarkFixture) -> None:
    rounds = 1 if benchmark.disabled else 15
    result = benchmark.pedantic(measure, args=(rounds,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    if not benchmark.disabled:
        assert result["ratio"] <= 3.0, result


if __name__ == "__main__":  # pragma: no cover
    print(measure(15))
