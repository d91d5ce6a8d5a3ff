"""A throw-away PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` on a temp dir.

``make test`` needs no pre-configured database: the first test that asks for
``postgres_cluster`` creates a cluster in a temporary directory, starts it on a free port
(``127.0.0.1`` only, trust authentication for the ``msinfusion`` role) and stops and deletes it
at the end of the session. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` system user that Debian's ``postgresql`` package creates (``runuser``/``setpriv``).
Missing binaries are a test failure saying how to install them — never a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in "
    "/usr/lib/postgresql/*/bin; the storage tests run against a real PostgreSQL server. "
    "Install it with `apt-get install postgresql` (Debian/Ubuntu; .ci/run does this)."
)
SUPERUSER = "msinfusion"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (the message says why and what to install)."""


DEBIAN_ROOT = Path("/usr/lib/postgresql")


def find_binaries(path: str | None = None, debian_root: Path = DEBIAN_ROOT) -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then the newest Debian)."""
    on_path = shutil.which("pg_ctl", path=path)
    if on_path and shutil.which("initdb", path=path):
        return Path(on_path).resolve().parent
    candidates = sorted(
        debian_root.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise ClusterUnavailable(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(command: list[str]) -> tuple[list[str], pwd.struct_passwd | None]:
    """``command`` run as the unprivileged ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return command, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterUnavailable(
            "running as root, and there is no 'postgres' system user to run the server as; "
            + INSTALL_HINT
        ) from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command], user
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
            *command], user  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cluster:
    directory: Path
    port: int
    binaries: Path

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        wrapped, _ = _as_server_user([str(self.binaries / command[0]), *command[1:]])
        result = subprocess.run(wrapped, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterUnavailable(
                f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_cluster(*, durable: bool = True) -> Cluster:
    """initdb and start a cluster; ``durable=False`` turns off fsync (for fast tests only)."""
    binaries = find_binaries()
    directory = Path(tempfile.mkdtemp(prefix="msinfusion-pg-"))
    _, user = _as_server_user([])
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    cluster = Cluster(directory=directory, port=_free_port(), binaries=binaries)
    options = f"-p {cluster.port} -k {directory} -c listen_addresses=127.0.0.1"
    options += " -c max_connections=300"  # many engines and servers share one test cluster
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    try:
        cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust",
                     "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        cluster._run("pg_ctl", "-D", str(cluster.data), "-l", str(directory / "server.log"),
                     "-o", options, "-w", "-t", "60", "start")  # fmt: skip
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    with contextlib.suppress(ClusterUnavailable):
        cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")
    shutil.rmtree(cluster.directory, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(*, durable: bool = True) -> Iterator[Cluster]:
    cluster = start_cluster(durable=durable)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


_shared: list[Cluster] = []
_users = [0]
_lock = threading.Lock()


def acquire_shared() -> Cluster:
    """One cluster for the whole test session, however many conftests ask for it."""
    with _lock:
        if not _shared:
            _shared.append(start_cluster(durable=False))
        _users[0] += 1
        return _shared[0]


def release_shared() -> None:
    with _lock:
        _users[0] -= 1
        if _users[0] == 0 and _shared:
            stop_cluster(_shared.pop())


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A running throw-away PostgreSQL cluster (fails, never skips, when it cannot start)."""
    try:
        cluster = acquire_shared()
    except ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield cluster
    finally:
        release_shared()
