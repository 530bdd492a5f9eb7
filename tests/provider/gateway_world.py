"""What the gateway's tests share: the sandbox's real upstreams on loopback, and sessions started over
the real provider with real vouchers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.protocol.proxying import MAX_WS_MESSAGE
from paygo_desktop.sandbox.media import media_app
from paygo_desktop.sandbox.upstreams import api_app, feed_app
from tests.chain.conftest import _free_port
from tests.provider.conftest import open_channel, run_server, voucher

FEED, API = "market-data-feed", "weather-api"  # 1000/s tick 5 grace 5; 5000/min tick 10 grace 10
CHAT = "legal-consult"  # the consultation: 2 USDC/min, tick 60 grace 60
VIDEO, LIVE = "demo-video", "live-sports"  # 500/s tick 5 grace 5; 1200/s tick 5 grace 10
PACE = 16 * 1024  # bytes per second of the paced media server (the clip takes ~10 s at this pace)
WATCH = 0.2  # the gateway's watch interval in these tests
CUT_WITHIN = WATCH + 2.0  # the watcher's interval, plus a busy shared machine's scheduling


class Upstreams:
    def __init__(self) -> None:
        self.feed_port, self.api_port = _free_port(), _free_port()
        self.servers = [
            run_server(feed_app(interval=0.1), self.feed_port),
            run_server(api_app(interval=0.1), self.api_port),
        ]

    def stop(self) -> None:
        for server, thread in self.servers:
            server.should_exit = True
            thread.join(timeout=10)


class MediaUpstreams:
    """The sandbox's media server (sandbox.media) twice: at full speed, and paced at ``PACE`` bytes per
    second (an open download to cut)."""

    def __init__(self) -> None:
        self.port, self.paced_port = _free_port(), _free_port()
        self.servers = [run_server(media_app(), self.port), run_server(media_app(rate=PACE), self.paced_port)]

    def stop(self) -> None:
        for server, thread in self.servers:
            server.should_exit = True
            thread.join(timeout=10)


def media_services(media: MediaUpstreams) -> dict[str, Any]:
    """The provider config's ``services`` for the clip: the demo video, and a paced "live" one."""
    return {
        VIDEO: {"upstream": f"http://127.0.0.1:{media.port}", "delivery": "media", "entry": "clip.mp4"},
        LIVE: {
            "upstream": f"http://127.0.0.1:{media.paced_port}/",
            "delivery": "media",
            "entry": "clip.m3u8",
        },
    }


def start(server: Any, service: str) -> m.StartResponse:
    env = server.env
    ch = open_channel(env, 10_000_000)
    tick = {FEED: 5_000, API: 834, VIDEO: 2_500, LIVE: 6_000, CHAT: 2_000_000}[service]  # one tick's cost

    async def go() -> m.StartResponse:
        async with ProviderClient(server.url, timeout=10) as client:
            return await client.start_session(service, ch, tick, voucher(env, ch, tick))

    return env.run(go())


async def astop(server: Any, started: m.StartResponse) -> None:
    async with ProviderClient(server.url, timeout=10) as client:
        await client.stop_session(started.session_id, access_token=started.access.token)


def stop(server: Any, started: m.StartResponse) -> None:
    server.env.run(astop(server, started))


def bearer(started: m.StartResponse) -> dict[str, str]:
    return {"Authorization": f"Bearer {started.access.token}"}


def gateway_services(upstreams: Upstreams) -> dict[str, Any]:
    """The provider config's ``services``: the demo catalog's feed and weather API behind the gateway."""
    return {
        FEED: {"upstream": f"ws://127.0.0.1:{upstreams.feed_port}/feed", "delivery": "websocket"},
        API: {"upstream": f"http://127.0.0.1:{upstreams.api_port}", "delivery": "http"},
    }


async def a_message_over_the_limit_closes(ws: Any) -> None:
    """On a feed's socket: a 2 MiB message reaches the service (its ack), one byte over the 4 MiB limit
    (``proxying.MAX_WS_MESSAGE``) closes the socket within 10 s: 1009, "message too big", or none read
    when the server's close cut the sending short (a reset)."""
    await ws.send("a" * 2**21)
    while "ack" not in (reply := json.loads(await asyncio.wait_for(ws.recv(), 10))):
        pass
    assert reply == {"ack": "a" * 200}
    with pytest.raises(ConnectionClosed) as closed:  # the server may close it while it is sent
        async with asyncio.timeout(10):  # (not served on for ever)
            await ws.send("b" * (MAX_WS_MESSAGE + 1))
            while True:
                await ws.recv()
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
