"""`paygo-desktop provider serve` as a vendor runs it: a real process, real HTTP, stopped with Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx

from paygo_desktop.sandbox.world import free_port
from tests.provider.test_config import TOML


def test_provider_serve_answers_and_stops_cleanly(tmp_path):
    config = tmp_path / "provider.toml"
    config.write_text(TOML)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paygo_desktop",
            "--data-dir",
            str(tmp_path / "data"),
            "provider",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                assert time.monotonic() < deadline, "provider did not start"
                time.sleep(0.1)
        assert health.status_code == 200
        catalog = httpx.get(f"http://127.0.0.1:{port}/api/v1/service", timeout=5).json()
        assert catalog["total"] >= 12
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert proc.returncode in (0, -signal.SIGINT, 130)
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_provider_serve_with_a_missing_config_is_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paygo_desktop",
            "--data-dir",
            str(tmp_path),
            "provider",
            "serve",
            "--config",
            str(tmp_path / "nope.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "nope.toml" in result.stderr


def test_postgresql_without_psycopg_is_one_line(tmp_path):
    """The desktop app's installer leaves psycopg out (the provider's server install has it): a
    postgresql:// database there is refused in one line that says what to do. psycopg is installed here, so
    this process hides it (``sys.modules``), as Python does for a module that is not there; the bundle's
    smoke test runs the same command in the real installer, which has no psycopg."""
    config = tmp_path / "provider.toml"
    config.write_text(TOML)
    hide = "import sys, runpy; sys.modules['psycopg'] = None; sys.argv[0] = 'paygo-desktop'; "
    run = "runpy.run_module('paygo_desktop', run_name='__main__')"
    database = "postgresql://vendor:secret@127.0.0.1:1/paygo"
    serve = ("provider", "serve", "--config", str(config), "--database", database)
    result = subprocess.run(
        [sys.executable, "-c", hide + run, "--data-dir", str(tmp_path / "data"), *serve],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert "PostgreSQL needs psycopg, which this installation does not have" in result.stderr
    assert "docs/vendor-deployment.md" in result.stderr
