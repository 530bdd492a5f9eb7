"""About 70,000 nested brackets (140 KB, under every size cap) against the real code paths that read JSON
from another machine: the catalog loader and `session start` in the app, a provider's request body.

Each runs in its own process: before the bounded loader, ``json.loads`` overflowed the C stack there
(eth-account's import of py-ecc raises the recursion limit to 100,000) and the process died with SIGSEGV;
here such a death fails the test instead of killing pytest. Each must end with a clear message instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.networks import custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import routes
from paygo_desktop.sandbox.world import free_port
from paygo_desktop.wallet import KdfParams, Wallet
from tests.provider.test_config import TOML

REPO = Path(__file__).resolve().parents[2]
NESTED = b"[" * 70_000 + b"]" * 70_000
PASSWORD = "correct horse battery staple"
TIMEOUT = 90


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD}


@pytest.fixture
def nested_provider() -> Iterator[str]:
    """A hostile "provider": every answer is 70,000 nested brackets."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(NESTED)))
            self.end_headers()
            self.wfile.write(NESTED)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_catalog_loader_reports_a_nested_provider_and_lives(nested_provider: str) -> None:
    program = (
        "import asyncio, json\n"
        "from paygo_desktop.services.catalog import load_catalog\n"
        f"catalog = asyncio.run(load_catalog([{nested_provider!r}]))\n"
        "print(json.dumps([f.message for f in catalog.failures]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=TIMEOUT, env=_env()
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-1500:]}"
    assert json.loads(result.stdout) == ["The provider sent a response nested too deeply."]


def test_session_start_against_a_nested_provider_is_one_clear_line(
    nested_provider: str, tmp_path: Path
) -> None:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4)).import_private_key(
        "0x" + "42" * 32, PASSWORD, "Payer"
    )
    network = custom_network(
        "Test chain", f"http://127.0.0.1:{free_port()}", 31337, vault_address="0x" + "be" * 20
    )
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    command = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", "start",
               "--provider", nested_provider, "--service", "svc", "--budget", "1"]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-1500:]}"
    assert result.stderr.strip() == "error: The provider sent a response nested too deeply."
    assert result.stdout == ""


def test_the_provider_refuses_a_nested_request_body_and_keeps_serving(tmp_path: Path) -> None:
    config = tmp_path / "provider.toml"
    # the largest body a vendor may allow
    config.write_text(TOML.replace("[[assets]]", "max_body_bytes = 1048576\n\n[[assets]]", 1))
    port = free_port()
    command = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(tmp_path / "data"), "provider",
               "serve", "--config", str(config), "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + routes.HEALTH, timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                assert time.monotonic() < deadline, "provider did not start"
                time.sleep(0.1)
        for body in (NESTED, b'{"serviceId": "x", "voucher": ' + NESTED + b"}"):
            answer = httpx.post(
                base + routes.STREAM_START,
                content=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            assert answer.status_code == 400
            assert answer.json()["code"] == "too_deep"
        assert proc.poll() is None, "the provider died"
        assert httpx.get(base + routes.HEALTH, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
