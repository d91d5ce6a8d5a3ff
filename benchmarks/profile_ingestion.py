"""Per-message cost of group commit, in process (issue 22): ``DeviceFeed.ingest_many`` on
batches of one reading from each of 16 monitors (one infusing session each, as in
``test_bench_ingestion.py``), without the MLLP listener.

    PYTHONPATH=src python -m benchmarks.profile_ingestion sqlite|postgresql [batches] [--profile]

Prints wall and client CPU time per message and SQL statements per message; ``--profile``
adds the cProfile listing (cumulative) of the batches.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.test_bench_ingestion import NORMAL, add_monitored_session
from msinfusion.adapters.hl7.simulator import pcd01_message
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from tests.e2e.api.world import NOW, build_world
from tests.pg_cluster import running_cluster

MONITORS = 16


def run(url: str, kind: str, batches: int, *, profile: bool) -> None:
    engine = create_engine_for(url)
    upgrade(engine)
    world = build_world(sql_unit_of_work_factory(engine))
    monitors = [add_monitored_session(world, i) for i in range(MONITORS)]
    feed = world.centre.monitoring
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    def batch(tag: str) -> None:
        texts = [
            (pcd01_message(m, NORMAL, control_id=f"{tag}-{i}", at=NOW), world.clock())
            for i, m in enumerate(monitors)
        ]
        receipts = feed.ingest_many("hl7-mllp", texts)
        assert all(r.outcome == "accepted" for r in receipts)

    batch("warm")
    event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    for number in range(batches):
        batch(f"b{number}")
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    messages = batches * MONITORS
    print(
        f"[{kind}] {messages} messages: wall {wall / messages * 1000:.2f} ms/message "
        f"({messages / wall:.0f}/s), client CPU {cpu / messages * 1000:.2f} ms/message, "
        f"{statements[0] / messages:.1f} statements/message"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)
    engine.dispose()


def main(arguments: list[str]) -> None:
    kind = arguments[0] if arguments else "sqlite"
    numbers = [a for a in arguments[1:] if a.isdigit()]
    batches = int(numbers[0]) if numbers else 20
    profile = "--profile" in arguments
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            run(sqlite_url(Path(directory) / "profile.db"), kind, batches, profile=profile)
    else:
        with running_cluster(durable=True) as cluster:
            run(cluster.create_database("profile"), kind, batches, profile=profile)


if __name__ == "__main__":
    main(sys.argv[1:])
