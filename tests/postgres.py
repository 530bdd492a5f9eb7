"""A private PostgreSQL cluster for the tests and the benchmarks: ``initdb`` in a temporary directory, one
loopback port, trust authentication, no Unix socket, gone when stopped.

The binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``; ``.ci/run``
installs it). ``initdb`` refuses to run as root, so when the tests run as root (CI does) the cluster's
files belong to ``nobody`` and its programs run through ``runuser``. Where the binaries are absent the
tests that need them skip, saying why, except in CI (where ``CI`` is set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

RUN_AS = "nobody"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name or 0)
    )
    return found[-1].parent if found else None


def require_pg_bin() -> Path:
    """The bin folder, or skip (fail in CI) with what to install."""
    found = pg_bin()
    if found is None:
        reason = "PostgreSQL is not installed (/usr/lib/postgresql/*/bin): apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run installs it)")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run(self.bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(*cmd: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    args = [str(c) for c in cmd]
    if os.geteuid() == 0:
        args = ["runuser", "-u", RUN_AS, "--", *args]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd="/")
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


def start_cluster(*, durable: bool = False, max_connections: int = 300) -> Cluster:
    """initdb + start on a free loopback port. ``durable`` keeps PostgreSQL's crash-safety settings (the
    benchmarks); without it fsync is off (the tests: faster, and the cluster is thrown away)."""
    bin_dir = require_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="paygo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, RUN_AS)
    cluster = Cluster(bin=bin_dir, root=root, port=_free_port())
    _run(bin_dir / "initdb", "-D", cluster.data, "--auth=trust", "--username=postgres", "-E", "UTF8")
    settings = [
        "listen_addresses = '127.0.0.1'",
        f"port = {cluster.port}",
        "unix_socket_directories = ''",
        f"max_connections = {max_connections}",
    ]
    if not durable:
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write("\n".join(settings) + "\n")
    try:
        _run(bin_dir / "pg_ctl", "-D", cluster.data, "-l", root / "server.log", "-w", "-t", "60", "start")
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
