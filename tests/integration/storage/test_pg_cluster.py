"""The throw-away cluster helper: found binaries, and a failure that says what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg_cluster import Cluster, ClusterUnavailable, find_binaries


def test_missing_binaries_fail_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ClusterUnavailable, match=r"apt-get install postgresql"):
        find_binaries(path=str(tmp_path), debian_root=tmp_path / "none")


def test_debian_binaries_are_found_newest_first(tmp_path: Path) -> None:
    for version in ("13", "15"):
        binaries = tmp_path / version / "bin"
        binaries.mkdir(parents=True)
        for name in ("initdb", "pg_ctl"):
            (binaries / name).touch()
    assert find_binaries(path=str(tmp_path / "empty"), debian_root=tmp_path) == tmp_path / "15/bin"


def test_the_cluster_serves_sql(postgres_cluster: Cluster) -> None:
    import psycopg

    url = postgres_cluster.create_database("probe")
    assert url.endswith(f":{postgres_cluster.port}/probe")
    with psycopg.connect(host="127.0.0.1", port=postgres_cluster.port, user="msinfusion",
                         dbname="probe") as connection:  # fmt: skip
        assert connection.execute("SELECT 1").fetchone() == (1,)
