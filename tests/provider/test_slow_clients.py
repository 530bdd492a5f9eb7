"""Slow and greedy clients against `paygo-desktop provider serve` (issue 24, item 7): a real process, real
sockets on loopback.

One client (127.0.0.1) opens connections that send their headers, or their body, a byte at a time, and
more idle connections than its cap; another client (127.0.0.2, also loopback) asks for /health meanwhile.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paygo_desktop.sandbox.world import free_port
from tests.provider.test_config import TOML

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
CAP = 40  # connections per client address
SLOW_HEADERS = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (
    b"POST /api/v1/streams/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 4000\r\n\r\n{"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "provider.toml"
    limits = (
        f"header_timeout = {HEADER_TIMEOUT}\nbody_timeout = {BODY_TIMEOUT}\nmax_connections_per_ip = {CAP}\n"
    )
    config.write_text(limits + TOML)
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "paygo_desktop", "--data-dir", str(tmp_path / "data")),
            *("provider", "serve", "--config", str(config), "--port", str(port)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                assert time.monotonic() < deadline, "provider did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _connect(url: str, first: bytes = b"") -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    if first:
        sock.sendall(first)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (EOF or reset); False while it is still open."""
    sock.setblocking(False)
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def _health_from_another_client(url: str) -> int:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=2) as other:
        return other.get(url + "/api/v1/health").status_code


def test_slow_and_idle_connections_are_closed_and_others_are_served(served: str) -> None:
    slow = [_connect(served, SLOW_HEADERS) for _ in range(CAP // 2)]
    slow += [_connect(served, SLOW_BODY) for _ in range(CAP - len(slow))]
    opened = time.monotonic()
    beyond_cap = [_connect(served) for _ in range(3 * CAP)]  # idle, past the cap: closed at once
    closed_at: dict[int, float] = {}
    try:
        while len(closed_at) < len(slow) and time.monotonic() - opened < 10:
            for i, sock in enumerate(slow):  # one more byte each: trickling does not extend a deadline
                if i in closed_at:
                    continue
                if _closed_by_server(sock):
                    closed_at[i] = time.monotonic() - opened
                    continue
                try:
                    sock.send(b"a")
                except OSError:
                    closed_at[i] = time.monotonic() - opened
            if time.monotonic() - opened < HEADER_TIMEOUT - 0.3:
                # the client holds its cap and more: another client is served all the same
                assert _health_from_another_client(served) == 200
                assert all(_closed_by_server(s) for s in beyond_cap[-CAP:])
            time.sleep(0.1)
        assert len(closed_at) == len(slow), "a slow connection was never closed"
        header_side = [closed_at[i] for i in range(CAP // 2)]
        body_side = [closed_at[i] for i in range(CAP // 2, CAP)]
        assert min(header_side) >= HEADER_TIMEOUT - 0.3 and max(header_side) <= HEADER_TIMEOUT + 2.5
        # the body deadline runs from the headers (sent at once here)
        assert min(body_side) >= BODY_TIMEOUT - 0.3 and max(body_side) <= BODY_TIMEOUT + 2.5
        assert all(_closed_by_server(s) for s in beyond_cap)
        # the client's slots are free again: it is served like anybody
        assert httpx.get(served + "/api/v1/health", timeout=2).status_code == 200
    finally:
        for sock in slow + beyond_cap:
            sock.close()


def test_a_kept_alive_connection_is_served_again_and_its_next_request_has_a_deadline(served: str) -> None:
    sock = _connect(served, b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        time.sleep(HEADER_TIMEOUT + 0.5)  # idle between requests: keep-alive (5 s) holds it, not the deadline
        assert not _closed_by_server(sock)
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\n")  # the next request stalls in its headers
        time.sleep(HEADER_TIMEOUT + 1.0)
        assert _closed_by_server(sock)
    finally:
        sock.close()
