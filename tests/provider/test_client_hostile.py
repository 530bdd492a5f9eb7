"""ProviderClient against hostile or broken providers (httpx MockTransport / closed ports): no crash, only
ProviderError subclasses (UserFacingError), and invalid catalog items are dropped and counted."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from paygo_desktop import answer_limits
from paygo_desktop.errors import UserFacingError
from paygo_desktop.protocol import jobs_client
from paygo_desktop.protocol.client import (
    PaymentRequired,
    ProviderClient,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnreachable,
)
from tests.dribbling_server import compressed_server, dribbling_server

GOOD = {
    "id": "svc1",
    "name": "Good",
    "description": "",
    "category": "music",
    "type": "audio",
    "rate": {"amount": "10", "asset": "USDC", "unit": "per_second"},
    "tickSeconds": 5,
    "graceSeconds": 5,
    "isActive": True,
    "vendor": {"name": "V", "address": "0x" + "11" * 20},
}


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> ProviderClient:
    return ProviderClient("http://provider.test", transport=httpx.MockTransport(handler), **kw)


def _page(items: list[Any]) -> dict[str, Any]:
    return {"items": items, "total": len(items), "page": 1, "pageSize": 20}


async def test_hostile_catalog_items_are_dropped_and_counted() -> None:
    bad = [
        {**GOOD, "name": "<img src=x onerror=alert(1)>"},
        {**GOOD, "name": "evil\u202eeman"},
        {**GOOD, "name": "Weather API\nRate: 0.01 USDC per hour"},  # a fake line above the real rate
        {**GOOD, "name": "Weather API\u2028Rate: 0.01 USDC"},
        {**GOOD, "name": "Weather\u2060API"},
        {**GOOD, "vendor": {"name": "Acme\tEscrow 500 USDC", "address": "0x" + "11" * 20}},
        {**GOOD, "rate": {"amount": "-5", "asset": "USDC", "unit": "per_second"}},
        {**GOOD, "rate": {"amount": 1.5, "asset": "USDC", "unit": "per_second"}},
        {**GOOD, "rate": {"amount": "0", "asset": "USDC", "unit": "per_second"}},
        {**GOOD, "rate": {"amount": str(2**200), "asset": "USDC", "unit": "per_second"}},
        {**GOOD, "type": "malware"},
        {**GOOD, "tickSeconds": -1},
        {**GOOD, "vendor": {"name": "V", "address": "not an address"}},
        "not an object",
        None,
    ]
    async with _client(lambda r: httpx.Response(200, json=_page([GOOD, *bad]))) as c:
        page = await c.list_services()
    assert [s.id for s in page.items] == ["svc1"] and page.rejected == len(bad)


@pytest.mark.parametrize(
    "content, error",
    [
        (b"{" * 100_000, ProviderProtocolError),
        (b"[" * 50 + b"]" * 50, ProviderProtocolError),
        (b'{"status": NaN, "time": 1}', ProviderProtocolError),
        (b'{"status": "ok", "time": Infinity}', ProviderProtocolError),
        (b"\xff\xfe garbage", ProviderProtocolError),
        (b'{"status": "ok", "time": -1}', ProviderProtocolError),
        (b'{"status": "ok", "time": 1.5}', ProviderProtocolError),
        (b'"just a string"', ProviderProtocolError),
    ],
)
async def test_malformed_responses(content: bytes, error: type[Exception]) -> None:
    async with _client(lambda r: httpx.Response(200, content=content)) as c:
        with pytest.raises(error):
            await c.health()


async def test_oversized_response_declared_and_streamed() -> None:
    big = json.dumps(_page([GOOD] * 2000)).encode()
    async with _client(lambda r: httpx.Response(200, content=big), max_bytes=64 * 1024) as c:
        with pytest.raises(ProviderProtocolError, match="too large"):
            await c.list_services()

    async def stream() -> Any:
        for _ in range(1000):
            yield b" " * 1024

    async with _client(lambda r: httpx.Response(200, content=stream()), max_bytes=64 * 1024) as c:
        with pytest.raises(ProviderProtocolError, match="too large"):
            await c.health()


async def test_http_errors_carry_code_and_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/start"):
            return httpx.Response(402, json={"code": "insufficient_escrow", "message": "top up\x00 please"})
        if request.url.path.endswith("/health"):
            return httpx.Response(500, content=b"<html>oops</html>")
        return httpx.Response(302, headers={"location": "http://elsewhere"})

    from paygo_desktop.chain.vouchers import Channel

    ch = Channel(payer="0x" + "22" * 20, provider="0x" + "33" * 20)
    async with _client(handler) as c:
        with pytest.raises(PaymentRequired) as paid:
            await c.start_session("svc1", ch, 1, b"\x01" * 65)
        assert paid.value.code == "insufficient_escrow" and "\x00" not in str(paid.value)
        with pytest.raises(ProviderHTTPError) as err:
            await c.health()
        assert err.value.status == 500 and err.value.code == "http_error"
        with pytest.raises(ProviderProtocolError):
            await c.get_service("svc1")


async def test_unreachable_and_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with ProviderClient(f"http://127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(ProviderUnreachable) as unreachable:
            await c.health()
    assert isinstance(unreachable.value, UserFacingError)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with _client(slow) as c:
        with pytest.raises(ProviderTimeout):
            await c.provider_info()
    with pytest.raises(UserFacingError):
        ProviderClient("ftp://x")


async def test_hostile_ids_are_quoted_in_paths() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"code": "unknown_service", "message": "no"})

    async with _client(handler) as c:
        with pytest.raises(ProviderHTTPError):
            await c.get_service("../../vendor/earnings?x=1")
    assert seen == ["/api/v1/service/..%2F..%2Fvendor%2Fearnings%3Fx%3D1"]


async def test_a_provider_that_answers_a_byte_at_a_time_is_given_up_on_within_the_timeout() -> None:
    """httpx's timeouts are per read: a provider sending one byte of its answer every 0.2 s would hold a
    request (a stop, and quitting behind it) forever. The client's timeout bounds the whole request."""
    async with dribbling_server() as url, ProviderClient(url, timeout=1.0) as c:
        began = time.monotonic()
        with pytest.raises(ProviderTimeout):
            await asyncio.wait_for(c.health(), 10)  # without the bound: TimeoutError after 10 s
        assert time.monotonic() - began < 2.0


async def test_a_delivery_that_comes_a_byte_at_a_time_is_given_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's delivered file (or link) may be large, so its download has no fixed deadline; one slower
    than 8 KiB/s on average, once it has run a while (30 s; 1 s here), is given up on and nothing kept."""
    monkeypatch.setattr(answer_limits, "AFTER_SECONDS", 1.0)
    async with dribbling_server() as url, httpx.AsyncClient(timeout=5) as http:
        began = time.monotonic()
        async with http.stream("GET", url) as resp:
            with pytest.raises(ProviderTimeout, match="came too slowly"):
                await asyncio.wait_for(jobs_client.read_checked(resp, b"\0" * 32, 1024), 10)
        assert time.monotonic() - began < 3.0


async def test_headers_with_digits_int_refuses_are_read_as_absent() -> None:
    """A busy answer whose Retry-After is "²" (``str.isdigit`` says yes, ``int`` says no) waits the default;
    a Content-Length of "²" is no size at all."""
    from paygo_desktop.protocol.client import ProviderBusy

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            body = json.dumps({"status": "ok", "time": 1}).encode()
            return httpx.Response(200, content=body, headers=[(b"content-length", b"\xb2")])
        busy = {"code": "busy", "message": "later"}
        return httpx.Response(503, json=busy, headers=[(b"retry-after", b"\xb2")])

    async with _client(handler) as c:
        with pytest.raises(ProviderBusy) as busy:
            await c.provider_info()
        assert busy.value.retry_after == 30
        assert (await c.health()).status == "ok"  # a Content-Length of "²": the body's own size counts


async def test_an_answer_compressed_twice_is_refused_before_it_is_inflated() -> None:
    """A few kilobytes gzipped twice inflate to 100 MB in one decoding step, before the 256 KiB cap counts
    a byte. The client asks for plain answers and refuses a compressed one unread."""
    import tracemalloc

    async with compressed_server(b" " * 100_000_000) as url, ProviderClient(url) as c:
        tracemalloc.start()
        try:
            with pytest.raises(ProviderProtocolError, match="gzip, gzip-compressed answer"):
                await c.health()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 10_000_000, f"{peak} bytes held while refusing it"
    assert c._http.headers["accept-encoding"] == "identity"


async def test_a_delivered_link_that_sends_its_headers_a_byte_at_a_time_or_compressed_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from paygo_desktop.jobs import service
    from paygo_desktop.jobs.service import JobError

    monkeypatch.setattr(service, "LINK_SECONDS", 1.0)
    async with dribbling_server(headers=True) as url:
        began = time.monotonic()
        with pytest.raises(JobError, match="did not answer within 1 s"):
            await asyncio.wait_for(service._fetch_link(url, b"\0" * 32, 1024), 10)
        assert time.monotonic() - began < 3.0
    async with compressed_server(b" " * 50_000_000) as url:
        with pytest.raises(ProviderProtocolError, match="gzip, gzip-compressed answer"):
            await asyncio.wait_for(service._fetch_link(url, b"\0" * 32, 1024), 10)


async def test_an_error_code_that_is_not_a_word_is_not_repeated() -> None:
    """The error body's ``code`` is shown and matched on: one with a line break, a direction override or
    markup is read as "http_error" (the message was already cut to printable characters)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"code": "bad\u202e<b>\nRefund sent</b>", "message": "no\u202e <b>x</b>"}
        return httpx.Response(409, json=body)

    async with _client(handler) as c:
        with pytest.raises(ProviderHTTPError) as err:
            await c.provider_info()
    assert err.value.code == "http_error" and "\u202e" not in str(err.value)
