"""The app killed mid-session (``kill -9`` of a real headless ``paygo-desktop session start … --seconds N``):
nobody stops the session, no voucher comes any more, and the provider's gateway alone must end the
service. Connections held straight to the gateway with the session's token (a script the user gave the
token to, or a player that was handed the gateway's address) are closed once the paid time and the grace
are over, and new requests are refused (410): within tick + grace + the expiry's slack + the gateway's
watch interval of the last voucher, which the app signs one tick ahead.

The real provider runs in this process (anvil, real vouchers, the wall clock), in front of the sandbox's
real upstreams: the WebSocket market feed, and the media server paced slow enough that the clip is still
downloading when the session runs out. The token is read from the provider's own database, standing in
for the user's copy of it ("Copy access token"): the app never prints or logs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.sandbox.media import media_app
from paygo_desktop.sandbox.upstreams import feed_app
from paygo_desktop.wallet import KdfParams, Wallet
from tests.chain.conftest import _free_port
from tests.provider.conftest import run_server
from tests.provider.gateway_world import CUT_WITHIN, FEED, VIDEO, WATCH
from tests.sessions.conftest import PASSWORD, Env, Provider, WallClock, anvil_network, run_provider

REPO = Path(__file__).resolve().parents[2]
TICK, GRACE = 5, 5  # both services' (the demo catalog's market-data-feed and demo-video)
SLOW = 4096  # bytes per second: the clip (~160 kB) takes ~40 s, longer than the paid time plus the grace
CUT_AFTER_KILL = 2 * TICK + GRACE + CUT_WITHIN  # the last voucher pays up to a tick ahead of the meter


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[int, int]]:
    feed_port, media_port = _free_port(), _free_port()
    servers = [run_server(feed_app(interval=0.2), feed_port), run_server(media_app(rate=SLOW), media_port)]
    try:
        yield feed_port, media_port
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def provider(env: Env, tmp_path: Path, upstreams: tuple[int, int]) -> Iterator[Provider]:
    feed_port, media_port = upstreams
    services = {
        FEED: {"upstream": f"ws://127.0.0.1:{feed_port}/feed", "delivery": "websocket"},
        VIDEO: {"upstream": f"http://127.0.0.1:{media_port}", "delivery": "media", "entry": "clip.mp4"},
    }
    with run_provider(env, tmp_path, clock=WallClock(), services=services, gateway_watch_interval=WATCH) as p:
        yield p


def _headless_session(env: Env, tmp_path: Path, provider: Provider, service: str) -> subprocess.Popen[str]:
    """``paygo-desktop session start`` for ``service``, running (its ``access`` event read)."""
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer")
    network = anvil_network(env)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", "start",
         "--provider", provider.url, "--service", service, "--budget", "1", "--deposit", "2", "--yes",
         "--seconds", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "access":
            assert event["url"], event
            if service == VIDEO:  # what the app opens: the clip, on its local proxy
                assert event["delivery"] == "media" and event["open"] == event["url"] + "clip.mp4"
            return proc
    proc.wait(timeout=30)
    pytest.fail("the session did not start")


def _live_session(provider: Provider) -> tuple[str, str]:
    """The provider's one live session: its id and access token (from the provider's database)."""
    with sqlite3.connect(provider.config.database) as db:
        rows = db.execute("SELECT id, access_token FROM provider_sessions WHERE status = 'live'").fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def _kill(proc: subprocess.Popen[str]) -> float:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return time.monotonic()


def test_killing_the_app_closes_the_media_download_and_refuses_new_requests(
    env: Env, tmp_path: Path, provider: Provider
) -> None:
    proc = _headless_session(env, tmp_path, provider, VIDEO)
    try:
        session_id, token = _live_session(provider)
        url = f"{provider.url}/api/v1/streams/{session_id}/access/clip.mp4"
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=30) as http, http.stream("GET", url, headers=auth) as download:
            assert download.status_code == 200
            chunks = download.iter_raw()
            got = len(next(chunks))
            killed = _kill(proc)
            assert http.get(url, headers={**auth, "Range": "bytes=0-9"}).status_code == 206  # paid time left
            with pytest.raises(httpx.RemoteProtocolError):  # broken off by the gateway, never completed
                for chunk in chunks:
                    got += len(chunk)
            cut = time.monotonic() - killed
            assert cut < CUT_AFTER_KILL, cut
            assert got < int(download.headers["content-length"])
            refused = http.get(url, headers={**auth, "Range": "bytes=0-9"})
            assert refused.status_code == 410 and refused.json()["code"] == "access_revoked"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_killing_the_app_closes_the_websocket_feed_and_refuses_a_new_one(
    env: Env, tmp_path: Path, provider: Provider
) -> None:
    proc = _headless_session(env, tmp_path, provider, FEED)
    try:
        session_id, token = _live_session(provider)
        url = f"{provider.url.replace('http', 'ws', 1)}/api/v1/streams/{session_id}/access/"
        auth = {"Authorization": f"Bearer {token}"}

        async def go() -> tuple[float, int]:
            async with connect(url, additional_headers=auth) as ws:
                quote: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert quote["symbol"]
                killed = _kill(proc)
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), CUT_AFTER_KILL)
                assert closed.value.rcvd is not None
                return time.monotonic() - killed, closed.value.rcvd.code

        cut, code = asyncio.run(go())
        assert code == 4410 and cut < CUT_AFTER_KILL, (code, cut)
        refused = httpx.get(url.replace("ws", "http", 1), headers=auth, timeout=10)
        assert refused.status_code == 410
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
