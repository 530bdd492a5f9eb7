"""The gateway over loopback: the real provider (anvil, real vouchers) in front of the sandbox's real
upstreams (a WebSocket market feed and an HTTP JSON API, each a uvicorn server on its own port). Access
lasts exactly as long as the session: 401 without that session's token, 410 once it ended, and open
sockets and streams cut by the watcher within its interval."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from paygo_desktop.protocol import models as m
from tests.chain.conftest import Env, _free_port
from tests.provider.conftest import Server, provider_server
from tests.provider.gateway_world import (
    API,
    CUT_WITHIN,
    FEED,
    WATCH,
    Upstreams,
    a_message_over_the_limit_closes,
    astop,
    bearer,
    gateway_services,
    start,
    stop,
)


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    u = Upstreams()
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture
def gateway(env: Env, tmp_path: Path, upstreams: Upstreams) -> Iterator[Server]:
    services = gateway_services(upstreams)
    with provider_server(env, tmp_path, services=services, gateway_watch_interval=WATCH) as s:
        yield s


def test_the_http_service_is_delivered_while_the_session_runs_and_refused_after(gateway: Server) -> None:
    started = start(gateway, API)
    assert started.access.delivery is m.Delivery.http
    url = started.access.service_url
    assert url == f"{gateway.url}/api/v1/streams/{started.session_id}/access/"
    with httpx.Client(timeout=10) as http:
        r = http.get(url + "weather", params={"city": "Porto"}, headers=bearer(started))
        assert r.status_code == 200 and r.json()["city"] == "Porto"
        r = http.post(url + "compute", json={"op": "sum", "values": [1, 2, 39]}, headers=bearer(started))
        assert r.status_code == 200 and r.json()["result"] == 42
        seen = http.get(url + "headers", headers={**bearer(started), "X-Custom": "kept"}).json()
        assert seen["headers"]["x-custom"] == "kept"
        assert "authorization" not in seen["headers"]  # the token never reaches the upstream

        assert http.get(url + "weather").status_code == 401
        assert http.get(url + "weather", headers={"Authorization": "Bearer nope"}).status_code == 401

        stop(gateway, started)
        gone = http.get(url + "weather", headers=bearer(started))
        assert gone.status_code == 410 and gone.json()["code"] == "access_revoked"


def test_another_sessions_token_is_refused(gateway: Server) -> None:
    mine, theirs = start(gateway, API), start(gateway, API)
    with httpx.Client(timeout=10) as http:
        r = http.get(mine.access.service_url + "weather", headers=bearer(theirs))
        assert r.status_code == 401
        assert http.get(theirs.access.service_url + "weather", headers=bearer(theirs)).status_code == 200


def test_a_streaming_response_is_cut_when_the_session_stops(gateway: Server) -> None:
    started = start(gateway, API)
    lines: list[str] = []
    with (
        httpx.Client(timeout=10) as http,
        http.stream("GET", started.access.service_url + "ticks?count=10000", headers=bearer(started)) as r,
    ):
        assert r.status_code == 200
        stream = r.iter_lines()
        lines.append(next(stream))
        stop(gateway, started)
        stopped = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):  # broken off, never a clean end of body
            for line in stream:
                lines.append(line)
        assert time.monotonic() - stopped < CUT_WITHIN
    assert lines[0] == "tick 0" and len(lines) < 10000


def test_an_expired_session_is_cut_and_refused(gateway: Server) -> None:
    started = start(gateway, API)
    with httpx.Client(timeout=10) as http:
        assert http.get(started.access.service_url + "weather", headers=bearer(started)).status_code == 200
        gateway.clock.advance(10 + 10 + 1)  # its one paid tick and its grace are over: no voucher came
        assert http.get(started.access.service_url + "weather", headers=bearer(started)).status_code == 410


async def _quotes(ws: Any, count: int) -> list[dict[str, Any]]:
    out = []
    while len(out) < count:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if "symbol" in msg:
            out.append(msg)
    return out


def test_the_websocket_feed_is_delivered_and_closed_within_the_watch_when_the_session_stops(
    gateway: Server,
) -> None:
    started = start(gateway, FEED)
    assert started.access.delivery is m.Delivery.websocket
    ws_url = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> float:
        async with connect(ws_url, additional_headers=bearer(started)) as ws:
            quotes = await _quotes(ws, 3)
            assert {q["symbol"] for q in quotes} and all("." in q["price"] for q in quotes)
            await ws.send("hello")  # both ways
            while "ack" not in (reply := json.loads(await asyncio.wait_for(ws.recv(), 5))):
                pass
            assert reply == {"ack": "hello"}
            await astop(gateway, started)
            stopped = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
            return time.monotonic() - stopped

    assert gateway.env.run(go()) < CUT_WITHIN

    async def again() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url, additional_headers=bearer(started)):
                pass
        assert refused.value.response.status_code == 410

    gateway.env.run(again())


def test_a_websocket_without_the_sessions_token_is_refused(gateway: Server) -> None:
    started, other = start(gateway, FEED), start(gateway, API)
    ws_url = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> None:
        for headers in ({}, {"Authorization": "Bearer nope"}, bearer(other)):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws_url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 401
        # the HTTP service's session cannot open a socket, nor the feed's session plain requests
        other_ws = "ws" + other.access.service_url.removeprefix("http")
        with pytest.raises(InvalidStatus) as wrong:
            async with connect(other_ws, additional_headers=bearer(other)):
                pass
        assert wrong.value.response.status_code == 400

    gateway.env.run(go())
    with httpx.Client(timeout=10) as http:
        assert http.get(started.access.service_url + "feed", headers=bearer(started)).status_code == 400


def test_a_payers_websocket_message_over_the_limit_closes_the_socket_before_it_is_held(
    gateway: Server,
) -> None:
    """uvicorn's defaults would take a 16 MiB message, and hold 32 of them behind a slow service, from
    one payer's socket; the provider takes the gateway's own 4 MiB (``proxying.MAX_WS_MESSAGE``), and a
    message within it still reaches the service."""
    started = start(gateway, FEED)
    ws_url = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> None:
        async with connect(ws_url, additional_headers=bearer(started), max_size=2**20) as ws:
            await a_message_over_the_limit_closes(ws)

    gateway.env.run(go())
    assert httpx.get(gateway.url + "/api/v1/health", timeout=10).json()["status"] == "ok"


def test_the_feed_is_closed_when_the_session_runs_out_of_vouchers(gateway: Server) -> None:
    started = start(gateway, FEED)
    ws_url = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> None:
        async with connect(ws_url, additional_headers=bearer(started)) as ws:
            await _quotes(ws, 1)
            gateway.clock.advance(5 + 5 + 1)  # the paid tick and the grace are over
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410

    gateway.env.run(go())


@pytest.mark.parametrize(
    "raw",
    [
        "/../headers",
        "/%2e%2e/headers",
        "/a/%2E%2E/%2e%2e/headers",
        "/..%2fheaders",
        "/a%5c..%5cheaders",
        "//127.0.0.1:1/headers",
        "/http://127.0.0.1:1/headers",
    ],
)
def test_crafted_paths_cannot_leave_the_upstream(gateway: Server, raw: str) -> None:
    started = start(gateway, API)
    prefix = f"/api/v1/streams/{started.session_id}/access"
    with httpx.Client(timeout=10) as http:
        url = httpx.URL(gateway.url).copy_with(raw_path=(prefix + raw).encode())
        r = http.get(url, headers=bearer(started))
        assert r.status_code in (400, 404)
        assert "headers" not in r.json()


def test_the_host_always_comes_from_the_config(gateway: Server, upstreams: Upstreams) -> None:
    """A Host header or an absolute-form target naming another server still reaches only the session's
    own upstream (and the upstream sees its own host, not the client's)."""
    started = start(gateway, API)
    with httpx.Client(timeout=10) as http:
        r = http.get(
            started.access.service_url + "headers",
            headers={**bearer(started), "Host": f"127.0.0.1:{upstreams.feed_port}"},
        )
        assert r.status_code == 200
        assert r.json()["headers"]["host"] == f"127.0.0.1:{upstreams.api_port}"


def test_a_stop_on_one_worker_closes_the_feed_another_worker_serves(
    env: Env, tmp_path: Path, upstreams: Upstreams, pg_url: str
) -> None:
    """Two provider workers on one PostgreSQL database: the session is stopped through one, its feed is
    open through the other, whose watcher reads the stop in the database and closes the feed."""
    services = gateway_services(upstreams)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    common: dict[str, Any] = {"services": services, "gateway_watch_interval": WATCH, "database": pg_url}
    with (
        provider_server(env, tmp_path / "a", **common) as first,
        provider_server(env, tmp_path / "b", **common) as second,
    ):
        started = start(first, FEED)
        on_second = started.access.service_url.replace(first.url, second.url)
        ws_url = "ws" + on_second.removeprefix("http")

        async def go() -> float:
            async with connect(ws_url, additional_headers=bearer(started)) as ws:
                await _quotes(ws, 1)
                await astop(first, started)
                stopped = time.monotonic()
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
                return time.monotonic() - stopped

        assert env.run(go()) < CUT_WITHIN
        with httpx.Client(timeout=10) as http:
            assert http.get(on_second, headers=bearer(started)).status_code == 410


def test_a_body_over_the_services_limit_and_an_unreachable_upstream_get_clear_errors(
    env: Env, tmp_path: Path, upstreams: Upstreams
) -> None:
    services = {
        API: {
            "upstream": f"http://127.0.0.1:{upstreams.api_port}",
            "delivery": "http",
            "max_request_bytes": 64,
        },
        FEED: {"upstream": f"ws://127.0.0.1:{_free_port()}/feed", "delivery": "websocket"},  # nothing there
    }
    with provider_server(env, tmp_path, services=services, gateway_watch_interval=WATCH) as server:
        api, feed = start(server, API), start(server, FEED)
        with httpx.Client(timeout=10) as http:
            url = api.access.service_url + "compute"
            small = http.post(url, json={"op": "sum", "values": [1, 2]}, headers=bearer(api))
            assert small.status_code == 200 and small.json()["result"] == 3
            big = http.post(url, json={"op": "sum", "values": list(range(100))}, headers=bearer(api))
            assert big.status_code == 413 and big.json()["code"] == "body_too_large"

            def chunks() -> Iterator[bytes]:  # no declared length: counted as it streams
                yield b'{"op": "sum", "values": ['
                yield b"1, " * 100
                yield b"1]}"

            streamed = http.post(url, content=chunks(), headers=bearer(api))
            assert streamed.status_code == 413

        async def go() -> None:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    "ws" + feed.access.service_url.removeprefix("http"), additional_headers=bearer(feed)
                ):
                    pass
            assert refused.value.response.status_code == 502

        env.run(go())
