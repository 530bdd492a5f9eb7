"""The gateway's ``media`` delivery over loopback: the real provider (anvil, real vouchers) in front of the
sandbox's real media server serving the shipped clip (resources/media). Files and HLS playlists and
segments come through byte for byte, with byte ranges, while the session runs; an open download is cut
when the session stops or expires, within the watcher's interval."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from paygo_desktop.protocol import models as m
from paygo_desktop.provider.config import GatewayService
from paygo_desktop.sandbox.media import media_dir
from tests.chain.conftest import Env
from tests.provider.conftest import Server, provider_server
from tests.provider.gateway_world import (
    CUT_WITHIN,
    LIVE,
    PACE,
    VIDEO,
    WATCH,
    MediaUpstreams,
    bearer,
    media_services,
    start,
    stop,
)

CLIP = (media_dir() / "clip.mp4").read_bytes()


@pytest.fixture(scope="module")
def media() -> Iterator[MediaUpstreams]:
    u = MediaUpstreams()
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture
def gateway(env: Env, tmp_path: Path, media: MediaUpstreams) -> Iterator[Server]:
    with provider_server(env, tmp_path, services=media_services(media), gateway_watch_interval=WATCH) as s:
        yield s


def test_the_clip_comes_through_whole_and_by_byte_ranges_while_the_session_runs(gateway: Server) -> None:
    started = start(gateway, VIDEO)
    assert started.access.delivery is m.Delivery.media and started.access.entry == "clip.mp4"
    url = started.access.service_url
    size = len(CLIP)
    with httpx.Client(timeout=10) as http:
        whole = http.get(url + "clip.mp4", headers=bearer(started))
        assert whole.status_code == 200 and whole.content == CLIP
        assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"

        part = http.get(url + "clip.mp4", headers={**bearer(started), "Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == CLIP[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
        tail = http.get(url + "clip.mp4", headers={**bearer(started), "Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == CLIP[-100:]
        past = http.get(url + "clip.mp4", headers={**bearer(started), "Range": f"bytes={size}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
        head = http.head(url + "clip.mp4", headers=bearer(started))
        assert head.status_code == 200 and head.headers["content-length"] == str(size)

        playlist = http.get(url + "clip.m3u8", headers=bearer(started))
        assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
        segments = [line for line in playlist.text.splitlines() if line.endswith(".ts")]
        assert segments == ["clip0.ts", "clip1.ts", "clip2.ts"]
        segment = http.get(url + segments[1], headers=bearer(started))
        assert segment.content == (media_dir() / "clip1.ts").read_bytes()
        assert segment.content[0] == 0x47  # an MPEG-TS sync byte

        refused = http.post(url + "clip.mp4", headers=bearer(started), content=b"x")
        assert refused.status_code == 405 and refused.json()["code"] == "method_not_allowed"
        assert http.get(url + "clip.mp4").status_code == 401
        assert http.get(url + "../clip.mp4", headers=bearer(started)).status_code in (400, 404)

        stop(gateway, started)
        gone = http.get(url + "clip.mp4", headers={**bearer(started), "Range": "bytes=0-99"})
        assert gone.status_code == 410 and gone.json()["code"] == "access_revoked"


def _open_download(http: httpx.Client, started: m.StartResponse) -> tuple[Iterator[bytes], bytes, float]:
    """A download of the paced clip, opened: its byte iterator, the first bytes and how long they took."""
    began = time.monotonic()
    r = http.send(
        http.build_request("GET", started.access.service_url + "clip0.ts", headers=bearer(started)),
        stream=True,
    )
    assert r.status_code == 200
    chunks = r.iter_raw()
    first = next(chunks)
    return chunks, first, time.monotonic() - began


def test_an_open_media_download_is_streamed_and_cut_when_the_session_stops(gateway: Server) -> None:
    started = start(gateway, LIVE)
    segment = (media_dir() / "clip0.ts").read_bytes()
    assert len(segment) / PACE > 3  # at the upstream's pace the whole segment takes over 3 seconds
    with httpx.Client(timeout=10) as http:
        chunks, first, took = _open_download(http, started)
        assert took < 2 and segment.startswith(first)  # streamed: the first bytes come before the rest
        got = len(first)
        stop(gateway, started)
        stopped = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):  # broken off, never a clean end of body
            for chunk in chunks:
                got += len(chunk)
        assert time.monotonic() - stopped < CUT_WITHIN
    assert got < len(segment)


def test_an_open_media_download_is_cut_when_the_session_expires(gateway: Server) -> None:
    started = start(gateway, LIVE)
    with httpx.Client(timeout=10) as http:
        chunks, _, _ = _open_download(http, started)
        gateway.clock.advance(5 + 10 + 1)  # its one paid tick and its grace are over: no voucher came
        expired = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in chunks:
                pass
        assert time.monotonic() - expired < CUT_WITHIN
        gone = http.get(started.access.service_url + "clip.m3u8", headers=bearer(started))
        assert gone.status_code == 410


@pytest.mark.parametrize(
    ("upstream", "entry"),
    [
        ("ws://127.0.0.1:9/", "clip.mp4"),
        ("http://127.0.0.1:9/", "../secret"),
        ("http://127.0.0.1:9/", "/etc"),
    ],
)
def test_a_media_service_needs_an_http_upstream_and_an_entry_below_it(upstream: str, entry: str) -> None:
    with pytest.raises(ValidationError):
        GatewayService(upstream=upstream, delivery="media", entry=entry)
    assert GatewayService(upstream="https://cdn.example/films", delivery="media", entry="a/clip.m3u8")


def test_the_shipped_clip_is_small_and_whole() -> None:
    """resources/media ships in the wheel and the bundle (whose size has a goal): the clip stays small."""
    files = {p.name: p.stat().st_size for p in media_dir().iterdir()}
    assert set(files) == {"clip.mp4", "clip.m3u8", "clip0.ts", "clip1.ts", "clip2.ts"}
    assert sum(files.values()) < 1_000_000
    assert CLIP[4:8] == b"ftyp" and b"moov" in CLIP[:4096]  # an MP4 with its index first: plays at once


def test_the_media_servers_ranges() -> None:
    from paygo_desktop.sandbox.media import byte_range

    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=90-500", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=-500", 100) == (0, 99)
    assert byte_range("bytes=100-", 100) is False and byte_range("bytes=-0", 100) is False
    assert byte_range("bytes=5-3", 100) is None  # invalid: ignored, the whole file
    assert byte_range("bytes=0-1,5-6", 100) is None  # several: the whole file
    assert byte_range("items=0-1", 100) is None


def test_a_catalog_seeded_before_the_video_existed_gains_it_when_the_gateway_delivers_it(
    env: Env, tmp_path: Path, media: MediaUpstreams
) -> None:
    """A kept provider database (a sandbox world kept across versions) lacks a service the config now
    delivers: it is added from the seed at start; the seed's other missing services stay out."""
    from sqlalchemy import delete

    from paygo_desktop.provider.store import ServiceRow, Store

    with provider_server(env, tmp_path):
        pass
    store = Store(str(tmp_path / "provider.sqlite3"))
    with store.tx() as db:
        db.execute(delete(ServiceRow).where(ServiceRow.id.in_([VIDEO, "lofi-radio"])))
    store.close()
    with provider_server(env, tmp_path, services=media_services(media)) as s:
        listed = httpx.get(s.url + "/api/v1/service", params={"pageSize": 100}, timeout=10).json()
    ids = {item["id"] for item in listed["items"]}
    assert VIDEO in ids and "lofi-radio" not in ids and "weather-api" in ids
