"""PostgreSQL and Redis from Debian's packages, started by the tests on loopback.

The PostgreSQL cluster lives in a temporary directory and listens on 127.0.0.1 with a free
port (and a Unix socket in the same directory). PostgreSQL refuses to run as root, so when
the tests run as root (as CI does) initdb and the server run as the ``postgres`` user that
Debian's package creates. Each test gets a database of its own; Redis is flushed per test.
The fixtures skip, with the reason, only when the binaries are not installed (CI has them).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_DATABASES = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin(name: str) -> str | None:
    """Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    return found[-1] if found else shutil.which(name)


def _major(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def _as_postgres() -> dict[str, object]:
    """subprocess arguments that drop root for the postgres user (no-op for a normal user)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user to start PostgreSQL as")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class Unavailable(Exception):
    """A server's binaries are not installed here."""


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (used by the fixtures and benchmarks)."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    drop = _as_postgres()
    root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    if drop:
        os.chown(root, int(drop["user"]), int(drop["group"]))
    data = root / "data"
    superuser = "postgres"
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    subprocess.run(
        [
            initdb,
            "-D",
            str(data),
            "-U",
            superuser,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
        env=env,
        **drop,
    )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    subprocess.run(
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        env=env,
        **drop,
    )
    try:
        yield PostgresServer("127.0.0.1", port, superuser)
    finally:
        subprocess.run(
            [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            env=env,
            **drop,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: PostgresServer, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with postgres_cluster() as server:
            yield server
    except Unavailable as exc:
        pytest.skip(f"{exc}; .ci/run installs it")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the test cluster."""
    return create_database(postgres_server, f"monitor_test_{os.getpid()}_{next(_DATABASES)}")


@dataclass(frozen=True)
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis_process(port: int | None = None) -> Iterator[RedisServer]:
    """A throwaway redis-server on 127.0.0.1 (on ``port`` if given), no persistence."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        raise Unavailable("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="monitor-redis-"))
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield RedisServer(port)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        with redis_process() as server:
            yield server
    except Unavailable as exc:
        pytest.skip(f"{exc}; .ci/run installs it")


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The test Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start within 15 s")
