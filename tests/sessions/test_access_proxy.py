"""The local session proxy over loopback: the real provider's gateway in front of the sandbox's real
upstreams, sessions paid with real vouchers on anvil. The proxy delivers the session's service without a
token while it runs, to nobody without its secret or with a foreign Host, and stops when the session
ends; ``paygo-desktop session start`` prints its URL as an ``access`` event."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.access_proxy import AccessProxy, AccessProxyError
from paygo_desktop.wallet import KdfParams, Wallet
from tests.dribbling_server import endless_server
from tests.provider.gateway_world import (
    API,
    CUT_WITHIN,
    FEED,
    WATCH,
    Upstreams,
    a_message_over_the_limit_closes,
    astop,
    gateway_services,
    start,
)
from tests.sessions.conftest import PASSWORD, Env, Provider, WallClock, anvil_network, run_provider

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    u = Upstreams()
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture
def provider(env: Env, tmp_path: Path, upstreams: Upstreams) -> Iterator[Provider]:
    services = gateway_services(upstreams)
    with run_provider(env, tmp_path, clock=WallClock(), services=services, gateway_watch_interval=WATCH) as p:
        yield p


def started(env: Env, provider: Provider, service: str) -> m.StartResponse:
    return start(SimpleNamespace(env=env, url=provider.url), service)


def test_the_http_service_through_the_local_proxy_and_only_for_its_url(env: Env, provider: Provider) -> None:
    session = started(env, provider, API)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        assert url.startswith(f"http://127.0.0.1:{proxy.port}/") and len(url.split("/")[3]) >= 32
        base = f"http://127.0.0.1:{proxy.port}"
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                r = await http.get(
                    url + "weather", params={"city": "Oslo"}, headers={"Origin": "https://evil.example"}
                )
                assert r.status_code == 200 and r.json()["city"] == "Oslo"
                assert not any(h.lower().startswith("access-control-") for h in r.headers)  # no CORS
                r = await http.post(url + "compute", json={"op": "max", "values": [3, 9, 4]})
                assert r.json()["result"] == 9
                seen = (await http.get(url + "headers", headers={"Cookie": "other-app=secret"})).json()
                assert "cookie" not in seen["headers"] and "authorization" not in seen["headers"]
                localhost = url.replace("127.0.0.1", "localhost")
                assert (await http.get(localhost + "weather")).status_code == 200

                # nobody without the secret, nothing for a foreign Host (DNS rebinding), no climbing out
                assert (await http.get(base + "/weather")).status_code == 404
                assert (await http.get(base + "/" + "x" * 32 + "/weather")).status_code == 404
                rebound = await http.get(url + "weather", headers={"Host": f"evil.example:{proxy.port}"})
                assert rebound.status_code == 403
                climb = httpx.URL(url).copy_with(raw_path=(httpx.URL(url).raw_path + b"%2e%2e/%2e%2e/stop"))
                assert (await http.patch(climb)).status_code == 400

                await astop(SimpleNamespace(url=provider.url), session)  # the session ends at the provider
                assert (await http.get(url + "weather")).status_code == 410
                assert proxy.ended  # the gateway's 410 ends this door too
                assert (await http.get(url + "weather")).status_code == 410
        finally:
            await proxy.close()
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.ConnectError):  # gone: nothing listens there any more
                await http.get(url + "weather")

    env.run(go())


def test_the_feed_through_the_local_proxy_is_closed_when_the_session_stops(
    env: Env, provider: Provider
) -> None:
    session = started(env, provider, FEED)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        assert url.startswith("ws://127.0.0.1:")
        try:
            async with connect(url) as ws:
                quote = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert quote["symbol"] and "." in quote["price"]
                await astop(SimpleNamespace(url=provider.url), session)
                stopped = time.monotonic()
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
                assert time.monotonic() - stopped < CUT_WITHIN
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url):
                    pass
            assert refused.value.response.status_code == 410
            with pytest.raises(InvalidStatus) as no_secret:
                async with connect(f"ws://127.0.0.1:{proxy.port}/feed"):
                    pass
            assert no_secret.value.response.status_code == 404
        finally:
            await proxy.close()

    env.run(go())


def test_a_local_tools_websocket_message_over_the_limit_closes_its_socket(
    env: Env, provider: Provider
) -> None:
    """The local proxy holds a tool's messages to the gateway's own 4 MiB (uvicorn's default is 16 MiB,
    queued 32 deep): one within it still reaches the service."""
    session = started(env, provider, FEED)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        try:
            async with connect(url) as ws:
                await a_message_over_the_limit_closes(ws)
        finally:
            await proxy.close()

    env.run(go())


def test_closing_the_proxy_cuts_its_open_feed(env: Env, provider: Provider) -> None:
    """The app ends the session (stop, budget, provider gone): the proxy's own close ends the feed at once."""
    session = started(env, provider, FEED)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        async with connect(url) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            closing = asyncio.ensure_future(proxy.close())
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
            await closing

    env.run(go())


def test_a_service_address_on_another_server_is_not_proxied(env: Env, provider: Provider) -> None:
    session = started(env, provider, API)
    elsewhere = session.access.model_copy(update={"service_url": "http://192.168.1.1/admin/"})
    with pytest.raises(AccessProxyError):
        AccessProxy(elsewhere, provider.url)
    with pytest.raises(AccessProxyError):
        AccessProxy(session.access.model_copy(update={"service_url": None}), provider.url)


def test_the_command_line_prints_the_local_url_and_it_serves_while_the_session_runs(
    env: Env, tmp_path: Path, provider: Provider
) -> None:
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
         "--provider", provider.url, "--service", API, "--budget", "0.5", "--deposit", "1", "--yes",
         "--seconds", "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert proc.stdout is not None
    access: dict[str, Any] = {}
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "access":
                access = event
                break
        assert access.get("url") and access["delivery"] == "http", access
        r = httpx.get(access["url"] + "weather", params={"city": "Lima"}, timeout=10)
        assert r.status_code == 200 and r.json()["city"] == "Lima"
        rest = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary = json.loads(rest.strip().splitlines()[-1])
    assert summary["event"] == "summary" and summary["status"] == "stopped", rest
    with pytest.raises(httpx.ConnectError):  # the session is over: so is its local address
        httpx.get(access["url"] + "weather", timeout=5)


def test_the_live_feed_reader_shows_quotes_and_says_at_once_when_the_session_ended(
    env: Env, provider: Provider
) -> None:
    from paygo_desktop.sessions.live_feed import Quote, follow

    session = started(env, provider, FEED)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        quotes: list[Quote] = []
        endings: list[str] = []
        reading = asyncio.ensure_future(follow(url, quotes.append, endings.append))
        try:
            while len(quotes) < 3:
                await asyncio.sleep(0.05)
            assert {q.symbol for q in quotes} <= {"ETH-USD", "BTC-USD", "ZEC-USD"}
            await astop(SimpleNamespace(url=provider.url), session)
            await asyncio.wait_for(reading, CUT_WITHIN)
            assert endings == ["The session ended: the feed is closed."]
        finally:
            await proxy.close()
        ended_at = len(quotes)
        await asyncio.sleep(0.3)
        assert len(quotes) == ended_at  # nothing after the end

    env.run(go())


def test_a_feed_message_that_is_not_a_quote_is_ignored() -> None:
    from paygo_desktop.sessions.live_feed import Quote, parse_quote

    assert parse_quote('{"symbol": "ETH-USD", "price": "3100.25", "seq": 1}') == Quote("ETH-USD", "3100.25")
    for message in ('{"ack": "hi"}', "[1]", "not json", '{"symbol": "<b>", "price": "1"}',
                    '{"symbol": "ETH-USD", "price": 3100.25}', '{"symbol": "X", "price": "1e400"}',
                    b"\x00", '{"symbol": "X", "price": "' + "9" * 5000 + '"}',
                    "[" * 2000 + "]" * 2000):  # fmt: skip
        assert parse_quote(message) is None


async def test_a_gateway_410_with_a_body_without_end_ends_the_door_unread() -> None:
    """The gateway's 410 ends the session's door; its body is not read (it was read whole: 1 GiB took the
    app's memory from 74 to 3,151 MiB)."""
    import tracemalloc

    async with endless_server(410) as gateway:
        expires = int(time.time()) + 60
        access = m.Access(
            url=gateway, token="t" * 16, expires_at=expires, service_url=gateway, delivery=m.Delivery.http
        )
        proxy = AccessProxy(access, gateway)
        url = await proxy.start()
        tracemalloc.start()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await asyncio.wait_for(http.get(url + "anything"), 10)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            await proxy.close()
    assert answer.status_code == 410 and answer.json()["code"] == "access_revoked" and proxy.ended
    assert peak < 20_000_000, f"{peak} bytes held"
