"""A media session through the local session proxy over loopback: the real provider's gateway in front of
the sandbox's real media server (the shipped clip), paid with real vouchers on anvil. The proxy's URL of
the clip, the HLS playlist and its segments come through without a token, byte ranges included, while
the session runs; after the stop, 410 and then nothing listens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from paygo_desktop.protocol import models as m
from paygo_desktop.sandbox.media import media_dir
from paygo_desktop.sessions.access_proxy import AccessProxy
from tests.provider.gateway_world import (
    CUT_WITHIN,
    LIVE,
    VIDEO,
    WATCH,
    MediaUpstreams,
    astop,
    media_services,
    start,
)
from tests.sessions.conftest import Env, Provider, WallClock, run_provider


@pytest.fixture(scope="module")
def media() -> Iterator[MediaUpstreams]:
    u = MediaUpstreams()
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture
def provider(env: Env, tmp_path: Path, media: MediaUpstreams) -> Iterator[Provider]:
    services = media_services(media)
    with run_provider(env, tmp_path, clock=WallClock(), services=services, gateway_watch_interval=WATCH) as p:
        yield p


def test_the_playlist_segments_and_clip_come_through_the_local_proxy_while_paying_and_not_after(
    env: Env, provider: Provider
) -> None:
    session = start(SimpleNamespace(env=env, url=provider.url), VIDEO)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        assert proxy.delivery is m.Delivery.media and proxy.open_url == url + "clip.mp4"
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                playlist = await http.get(url + "clip.m3u8")
                assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
                segment = playlist.text.splitlines()[-2]
                assert segment == "clip2.ts"  # relative: a player fetches it through this same proxy
                got = await http.get(url + segment)
                assert got.content == (media_dir() / segment).read_bytes()
                part = await http.get(proxy.open_url, headers={"Range": "bytes=0-7"})
                assert part.status_code == 206 and part.content == (media_dir() / "clip.mp4").read_bytes()[:8]
                assert part.headers["content-range"].startswith("bytes 0-7/")

                await astop(SimpleNamespace(url=provider.url), session)
                gone = await http.get(url + "clip.m3u8")
                assert gone.status_code == 410 and proxy.ended
        finally:
            await proxy.close()
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.ConnectError):  # gone: nothing listens there any more
                await http.get(url + "clip.m3u8")

    env.run(go())


def test_an_open_download_through_the_local_proxy_ends_when_the_session_stops(
    env: Env, provider: Provider
) -> None:
    session = start(SimpleNamespace(env=env, url=provider.url), LIVE)

    async def go() -> None:
        proxy = AccessProxy(session.access, provider.url)
        url = await proxy.start()
        try:
            async with (
                httpx.AsyncClient(timeout=10) as http,
                http.stream("GET", url + "clip.mp4") as download,
            ):
                assert download.status_code == 200
                chunks = download.aiter_raw()
                await anext(chunks)
                await astop(SimpleNamespace(url=provider.url), session)
                stopped = time.monotonic()
                with pytest.raises(httpx.RemoteProtocolError):
                    async for _ in chunks:
                        pass
                assert time.monotonic() - stopped < CUT_WITHIN
        finally:
            await proxy.close()

    env.run(go())
