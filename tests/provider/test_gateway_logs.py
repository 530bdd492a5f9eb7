"""What the provider's log says when the gateway ends a connection on purpose: one INFO line each, never
uvicorn's ERROR ("ASGI callable returned without completing response/handshake") nor a traceback, over
loopback with the real provider, its uvicorn, and the sandbox's real feed and media servers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.chain.conftest import Env
from tests.provider.conftest import Server, provider_server
from tests.provider.gateway_world import (
    FEED,
    LIVE,
    WATCH,
    MediaUpstreams,
    Upstreams,
    astop,
    bearer,
    gateway_services,
    media_services,
    start,
    stop,
)


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Upstreams, MediaUpstreams]]:
    u, media = Upstreams(), MediaUpstreams()
    try:
        yield u, media
    finally:
        u.stop()
        media.stop()


@pytest.fixture
def gateway(env: Env, tmp_path: Path, upstreams: tuple[Upstreams, MediaUpstreams]) -> Iterator[Server]:
    services = {**gateway_services(upstreams[0]), **media_services(upstreams[1])}
    with provider_server(env, tmp_path, services=services, gateway_watch_interval=WATCH) as s:
        yield s


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of uvicorn's error log (which does not propagate to the root) and of the app."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        yield caplog
    finally:
        uvicorn_log.removeHandler(caplog.handler)


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING or r.exc_info
    ]


def test_a_cut_media_download_logs_one_info_line(
    gateway: Server, server_log: pytest.LogCaptureFixture
) -> None:
    started = start(gateway, LIVE)
    with (
        httpx.Client(timeout=10) as http,
        http.stream("GET", started.access.service_url + "clip.mp4", headers=bearer(started)) as r,
    ):
        chunks = r.iter_raw()
        next(chunks)
        stop(gateway, started)
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in chunks:
                pass
    assert _problems(server_log) == []
    cuts = [r for r in server_log.records if r.getMessage() == "an answer was broken off: its session ended"]
    assert len(cuts) == 1 and cuts[0].levelno == logging.INFO


def test_a_cut_feed_and_a_refused_handshake_log_no_error(
    gateway: Server, server_log: pytest.LogCaptureFixture
) -> None:
    started = start(gateway, FEED)
    ws_url = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> None:
        async with connect(ws_url, additional_headers=bearer(started)) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            await astop(gateway, started)
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url, additional_headers=bearer(started)):
                pass
        assert refused.value.response.status_code == 410

    gateway.env.run(go())
    assert _problems(server_log) == []
    cuts = [r for r in server_log.records if r.getMessage() == "a WebSocket was closed: its session ended"]
    assert len(cuts) == 1 and cuts[0].levelno == logging.INFO


def test_an_error_that_is_no_deliberate_cut_still_reaches_the_log() -> None:
    """The filter drops only what was done on purpose: the same uvicorn message from another request stays."""
    from paygo_desktop.protocol.proxying import UVICORN_AFTER_CUT, QuietCuts

    record = logging.LogRecord("uvicorn.error", logging.ERROR, "", 0, UVICORN_AFTER_CUT["answer"], None, None)
    assert QuietCuts().filter(record)
