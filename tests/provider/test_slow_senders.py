"""A client that sends its request slowly is not a slow provider (provider.load, Slow senders): over real
loopback against the real provider (its production uvicorn settings: the arrival, headers and body are
stamped by provider.connection_guard), with anvil.

A voucher or stop is held from its headers on so that the expiry sweep waits for it; before this was
bounded, one connection trickling the body of ``POST /streams/<any id>/vouchers`` (no session, no auth)
made the provider look overloaded (every new session refused: 503 busy) and held every session's expiry
back by as long as the trickle lasted (header_timeout + body_timeout: ~40 s of free access for all).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import ProviderClient, SessionGone
from paygo_desktop.provider.load import TRANSIT
from tests.provider.conftest import Env, open_channel, provider_server, voucher
from tests.provider.test_overload import GRACE, SVC, TICK, TICK_COST, funded_channel, provider

FEED = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
FEED_TICK = 1000 * 5
TRICKLE = 3.0  # seconds a slow client spends on its request here (the limits allow up to 40 s)


def _connect(url: str) -> socket.socket:
    where = urlsplit(url)
    return socket.create_connection((where.hostname, where.port), timeout=10)


@contextmanager
def trickling(url: str, head: bytes, every: float = 0.3) -> Iterator[socket.socket]:
    """A connection that sends ``head`` and then one byte (a space) every ``every`` seconds until the block
    ends; it is closed then."""
    sock = _connect(url)
    sock.sendall(head)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(every):
            try:
                sock.sendall(b" ")
            except OSError:
                return

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sock
    finally:
        stop.set()
        dripper.join()
        sock.close()


def _voucher_head(session_id: str, length: int = 50) -> bytes:
    return (
        f"POST {routes.STREAM_VOUCHERS.format(session_id=session_id)} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    ).encode()


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response read from ``sock`` (its headers and ``Content-Length`` bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-body: {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def _accepting(url: str) -> tuple[bool, int]:
    health = httpx.get(url + routes.HEALTH, timeout=10).json()
    return health["acceptingSessions"], health["load"]["delayMs"]


def _wait_until_accepting(url: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not _accepting(url)[0]:
        assert time.monotonic() < deadline, f"still shedding new sessions after {within} s"
        time.sleep(0.2)


def test_trickled_voucher_bodies_neither_refuse_new_sessions_nor_hold_back_expiry(
    env: Env, tmp_path: Path
) -> None:
    with provider_server(env, tmp_path, overload_delay=1) as server:
        client = ProviderClient(server.url, timeout=10)
        core, monitor = server.app.state.core, server.app.state.monitor
        try:
            paying = open_channel(env, 1_000_000)
            newcomer = open_channel(env, 1_000_000)
            s = env.run(client.start_session(FEED, paying, FEED_TICK, voucher(env, paying, FEED_TICK)))
            _wait_until_accepting(server.url)  # a calm provider first (a loaded machine may look busy)
            # one slow client, no session of its own: a made-up session id, and the id of someone else's
            with (
                trickling(server.url, _voucher_head("nosuchsession")),
                trickling(server.url, _voucher_head(s.session_id)),
            ):
                time.sleep(TRICKLE)
                accepting, delay_ms = _accepting(server.url)
                slack = core.slack()
                assert accepting, f"new sessions refused while a client trickles (delay {delay_ms} ms)"
                assert delay_ms < 1000
                assert monitor.pressure() < 1
                assert slack <= TRANSIT + 0.5, f"the sweep holds back {slack:.1f} s for a trickling client"
                started = env.run(
                    client.start_session(FEED, newcomer, FEED_TICK, voucher(env, newcomer, FEED_TICK))
                )
                assert started.session_id
                # the session paid 5 s, with a 5 s grace: 12 s on, it has run out, however slow the client
                server.clock.advance(12)
                deadline = time.monotonic() + 3
                while env.run(client.get_session(s.session_id)).status is m.SessionStatus.live:
                    assert time.monotonic() < deadline, (
                        f"the unpaid session is still live (the sweep holds back {core.slack():.1f} s)"
                    )
                    time.sleep(0.1)
        finally:
            env.run(client.aclose())


def test_trickled_headers_do_not_make_the_provider_look_busy(env: Env, tmp_path: Path) -> None:
    with provider_server(env, tmp_path, overload_delay=1) as server:
        core = server.app.state.core
        _wait_until_accepting(server.url)
        # any route: the time spent sending the headers used to count as the request's wait in the provider
        head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
        with trickling(server.url, head) as sock:
            time.sleep(TRICKLE)
            sock.sendall(b"\r\n\r\n")
            answer = _response(sock)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
            accepting, delay_ms = _accepting(server.url)
            assert accepting and delay_ms < 1000, f"shedding after one slow sender (delay {delay_ms} ms)"
            assert core.slack() < 1, "the sweep holds back for a slow sender"


def test_a_voucher_whose_body_comes_in_late_is_late(env: Env, tmp_path: Path) -> None:
    """On the real clock: the voucher's first bytes come before the session's deadline, its body after it.
    It is judged when its body was in (at most ``TRANSIT`` earlier), not at its first bytes: trickling a
    voucher buys no unpaid time."""
    with provider(env, tmp_path) as (url, _app):
        client = ProviderClient(url, timeout=10)
        try:
            ch = funded_channel(env)
            s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            t0 = time.time()  # served until t0 + 2 s, late after t0 + 3 s
            amount = 2 * TICK_COST
            body = json.dumps(
                {
                    "seq": 1,
                    "cumulativeAmount": str(amount),
                    "signature": "0x" + voucher(env, ch, amount).hex(),
                }
            ).encode()
            time.sleep(max(0.0, t0 + TICK - time.time()))  # headers at t0 + 2: on time
            sock = _connect(url)
            try:
                sock.sendall(_voucher_head(s.session_id, len(body))[:-1])
                sent = 0
                end = t0 + TICK + GRACE + TRANSIT + 1.0  # the body's last byte: late even less TRANSIT
                while sent < len(body) - 1 and time.time() < end:
                    sock.sendall(body[sent : sent + 1])
                    sent += 1
                    time.sleep(0.1)
                time.sleep(max(0.0, end - time.time()))
                sock.sendall(body[sent:])
                answer = _response(sock)
            finally:
                sock.close()
            assert answer.startswith(b"HTTP/1.1 410"), answer[:300]
            assert b"session_over" in answer
            info = env.run(client.get_session(s.session_id))
            assert info.status is m.SessionStatus.expired
            assert int(info.cumulative_amount) == TICK_COST  # nothing taken for the time it did not pay
            with pytest.raises(SessionGone):
                env.run(client.send_voucher(s.session_id, 2, amount, voucher(env, ch, amount)))
        finally:
            env.run(client.aclose())
