"""Several worker processes behind one listening socket: ``provider serve --workers N`` (PostgreSQL only).

The supervisor (this process) migrates the database once, binds the address, and starts N workers
(``python -m paygo_desktop.provider.server worker``) that inherit the listening socket and each run the
provider app under uvicorn with the provider's guarded h11 protocol (``connection_guard``). The kernel hands
each new connection to whichever worker accepts it first, so a busy worker takes fewer. Everything a session
needs is in the database (``provider.store``), so any worker serves any session's next voucher.

A worker that exits is started again (after a pause that doubles, up to 30 s, when it keeps dying at once);
its open connections die with it and their clients reconnect to the others. SIGTERM or SIGINT stops the
workers (SIGTERM, then SIGKILL after ``STOP_GRACE`` seconds) and then the supervisor. The database URL is
passed to the workers in their environment, never on their command line.

uvicorn's own ``--workers`` pickles its configuration into spawned children, which a protocol class made
at run time (the guarded h11 protocol's limits) does not survive, and gunicorn would be one more dependency
and one more configuration: this is the same pre-fork model in a page.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

DATABASE_ENV = "PAYGO_PROVIDER_DATABASE"  # the database URL handed to the workers
STOP_GRACE = 30.0
QUICK_DEATH = 5.0  # a worker that dies sooner than this after its start is restarted after a pause
MAX_PAUSE = 30.0


def listen(host: str, port: int) -> socket.socket:
    """The listening socket every worker shares (inheritable)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, config_path: Path, database: str | None, sock: socket.socket, workers: int) -> None:
        self.config_path = config_path
        self.database = database
        self.sock = sock
        self.count = workers
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.pause: dict[int, float] = {}
        self.due: dict[int, float] = {}
        self.stopping = False

    def command(self, slot: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "paygo_desktop.provider.server",
            "worker",
            "--config",
            str(self.config_path),
            "--fd",
            str(self.sock.fileno()),
            "--slot",
            str(slot),
        ]

    def spawn(self, slot: int) -> None:
        env = dict(os.environ)
        if self.database is not None:
            env[DATABASE_ENV] = self.database
        self.procs[slot] = subprocess.Popen(self.command(slot), pass_fds=(self.sock.fileno(),), env=env)
        self.started[slot] = time.monotonic()
        log.info("worker %d started (pid %d)", slot, self.procs[slot].pid)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("stopping the workers (signal %d)", signum)
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self.count):
            self.spawn(slot)
        try:
            while not self.stopping:
                time.sleep(0.2)
                self._tend()
        finally:
            self._stop_all()
            self.sock.close()
        return 0

    def _tend(self) -> None:
        now = time.monotonic()
        for slot in range(self.count):
            proc = self.procs.get(slot)
            if proc is not None and proc.poll() is None:
                continue
            if proc is not None:  # just died
                lived = now - self.started[slot]
                pause = 0.0
                if lived < QUICK_DEATH:
                    pause = min(MAX_PAUSE, max(1.0, 2 * self.pause.get(slot, 0.5)))
                self.pause[slot] = pause
                self.due[slot] = now + pause
                log.warning(
                    "worker %d (pid %d) exited with %s after %.0f s; starting it again in %.0f s",
                    slot,
                    proc.pid,
                    proc.returncode,
                    lived,
                    pause,
                )
                del self.procs[slot]
            if now >= self.due.get(slot, 0.0):
                self.spawn(slot)

    def _stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %.0f s: killing it", proc.pid, STOP_GRACE)
                proc.kill()
                proc.wait(timeout=10)


def supervise(config_path: Path, database: str | None, host: str, port: int, workers: int) -> int:
    """Serve with ``workers`` processes until SIGTERM/SIGINT. The database is migrated first, once."""
    from paygo_desktop.provider.config import load_config
    from paygo_desktop.provider.store import Store

    config = load_config(config_path)
    Store(database or config.database).close()  # migrations run here, not in N workers at once
    sock = listen(host, port)
    log.info("serving on %s:%d with %d workers", host, sock.getsockname()[1], workers)
    return Supervisor(config_path, database, sock, workers).run()
