"""One ``POST /api/sessions/{id}/commands`` (``RecordVitals``), profiled end to end (issue 22):
the TestClient request, the handler, the use case and its SQL, on one client and one session
of ``test_bench_http_commands.py``'s world.

    PYTHONPATH=src python -m benchmarks.profile_http_commands sqlite|postgresql [n] [--profile]

Prints wall and CPU per command, the time a command's transaction is open before its commit
(on SQLite the write lock is held that long plus the commit), the statements of one command
(in order) and, with ``--profile``, the cProfile listing (cumulative) of the commands.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from benchmarks.test_bench_http_commands import poster
from benchmarks.test_bench_ingestion import add_monitored_session
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from tests.e2e.api.world import build_world
from tests.pg_cluster import running_cluster


def run(engine: Engine, kind: str, commands: int, *, profile: bool) -> None:
    upgrade(engine)
    world = build_world(sql_unit_of_work_factory(engine))
    add_monitored_session(world, 0)
    with world.uow_factory() as uow:
        sessions = sorted(s.session_id for s in uow.sessions.list(status="infusing"))[:1]
    post = poster(world, sessions, commands)
    post(0)  # warm: caches, compiled statements, the session's memo
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split())[:90])

    event.listen(engine, "before_cursor_execute", record)
    opened: list[float] = []
    open_s: list[float] = []
    event.listen(engine, "begin", lambda _connection: opened.append(time.perf_counter()))
    event.listen(
        engine, "commit", lambda _connection: open_s.append(time.perf_counter() - opened[-1])
    )
    # The app runs on the TestClient's portal and worker threads: profile the use case there.
    profiler = cProfile.Profile()
    handle = world.centre.sessions.handle
    handled = [0.0]

    def profiled(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            if profile:
                return profiler.runcall(handle, *args, **kwargs)
            return handle(*args, **kwargs)
        finally:
            handled[0] += time.perf_counter() - start

    world.centre.sessions.handle = profiled  # type: ignore[method-assign]
    wall, cpu = time.perf_counter(), time.process_time()
    post(0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # poster reads the session once (GET) before its commands
    print(
        f"[{kind}] {commands} commands: wall {wall / commands * 1000:.2f} ms/command, "
        f"CPU {cpu / commands * 1000:.2f} ms/command, "
        f"{len(statements) / commands:.1f} statements/command (incl. the one GET); "
        f"use case {handled[0] / commands * 1000:.2f} ms/command; transaction open before "
        f"its commit: median {sorted(open_s)[len(open_s) // 2] * 1000:.2f} ms"
    )
    tail = statements[-(len(statements) // (commands + 1)) :]
    for statement in tail:
        print("   ", statement)
    if profile:
        profiler.dump_stats(Path(tempfile.gettempdir()) / "profile_http_commands.prof")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)


def main(arguments: list[str]) -> None:
    kind = arguments[0] if arguments else "sqlite"
    numbers = [a for a in arguments[1:] if a.isdigit()]
    commands = int(numbers[0]) if numbers else 100
    profile = "--profile" in arguments
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = create_engine_for(sqlite_url(Path(directory) / "profile.db"))
            run(engine, kind, commands, profile=profile)
            engine.dispose()
    else:
        with running_cluster(durable=True) as cluster:
            engine = create_engine_for(cluster.create_database("profile"))
            run(engine, kind, commands, profile=profile)
            engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
