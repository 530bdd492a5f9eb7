"""The sandbox's real services, which its provider's gateway delivers (provider.gateway): two small servers
on loopback, in one process started by ``paygo-desktop sandbox`` beside the provider.

* The market data feed (WebSocket ``/feed``): a price for each of a few pairs every ``interval`` seconds,
  a random walk in integer cents, as JSON text ``{"symbol", "price", "time", "seq"}`` (price a decimal
  string). A text message from the client is answered with ``{"ack": <its text>}``.
* The weather and computation API (HTTP JSON): ``GET /weather?city=…`` (a forecast that depends only on
  the city and the hour), ``POST /compute`` (``{"op": "sum"|"mean"|"max", "values": [ints]}``),
  ``GET /ticks?count=n`` (a streamed body, one line every ``interval`` seconds), ``GET /bytes?size=n``
  (n zero bytes, streamed: throughput), ``GET /headers`` (the
  request headers it received, to show what the gateway forwards) and ``GET /health``.
* The video (HTTP media, sandbox.media): the clip in resources/media, progressive and HLS, byte ranges.

* The consultation (``--chat-port``): a WebSocket chat room (sandbox.chat_room), its vendor secret read
  from the environment variable ``PAYGO_CHAT_VENDOR_SECRET``.

Run: ``python -m paygo_desktop.sandbox.upstreams --feed-port P --api-port Q [--media-port R]
[--chat-port S] [--interval T]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import time
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from paygo_desktop.sandbox.chat_access import CHAT_SECRET_ENV

PAIRS = {"ETH-USD": 310_000, "BTC-USD": 9_650_000, "ZEC-USD": 4_500}  # starting prices, in cents
MAX_VALUES = 10_000
MAX_PAYLOAD = 1024**3


def _price(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def feed_app(interval: float = 1.0) -> Starlette:
    """The market data feed: every ``interval`` seconds one quote per pair, to every subscriber."""

    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        prices = dict(PAIRS)
        rng = random.Random()
        seq = 0

        async def replies() -> None:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(json.dumps({"ack": text[:200]}))

        replying = asyncio.ensure_future(replies())
        try:
            while not replying.done():
                for symbol in prices:
                    prices[symbol] = max(1, prices[symbol] + rng.randint(-50, 50))
                    seq += 1
                    quote = {
                        "symbol": symbol,
                        "price": _price(prices[symbol]),
                        "time": time.time(),
                        "seq": seq,
                    }
                    await websocket.send_text(json.dumps(quote))
                await asyncio.sleep(interval)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            replying.cancel()
            with contextlib.suppress(BaseException):
                await replying

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "market-feed"})

    return Starlette(routes=[WebSocketRoute("/feed", feed), Route("/health", health)])


async def weather(request: Request) -> Response:
    city = request.query_params.get("city", "Lisbon")[:60]
    hour = int(time.time() // 3600)
    digest = hashlib.sha256(f"{city}:{hour}".encode()).digest()
    return JSONResponse(
        {
            "city": city,
            "temperatureC": digest[0] % 35 - 5,
            "humidityPercent": digest[1] % 100,
            "windKmh": digest[2] % 60,
            "sky": ("clear", "cloudy", "rain", "snow")[digest[3] % 4],
        }
    )


async def compute(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
        op, values = body["op"], body["values"]
        if not isinstance(values, list) or not all(type(v) is int for v in values) or not values:
            raise ValueError
        if len(values) > MAX_VALUES or op not in ("sum", "mean", "max"):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JSONResponse(
            {"error": 'send {"op": "sum"|"mean"|"max", "values": [integers]}'}, status_code=400
        )
    result = {"sum": sum(values), "max": max(values)}.get(op)
    if op == "mean":
        result = sum(values) // len(values)
    return JSONResponse({"op": op, "result": result, "count": len(values)})


async def ticks(request: Request) -> Response:
    interval: float = request.app.state.interval
    try:
        count = min(10_000, max(1, int(request.query_params.get("count", "10"))))
    except ValueError:
        count = 10

    async def lines() -> AsyncIterator[bytes]:
        for i in range(count):
            yield f"tick {i}\n".encode()
            await asyncio.sleep(interval)

    return StreamingResponse(lines(), media_type="text/plain")


async def payload(request: Request) -> Response:
    try:
        size = min(MAX_PAYLOAD, max(0, int(request.query_params.get("size", "1048576"))))
    except ValueError:
        size = 1024 * 1024
    block = b"\0" * 65536

    async def blocks() -> AsyncIterator[bytes]:
        left = size
        while left > 0:
            yield block[: min(left, len(block))]
            left -= len(block)

    return StreamingResponse(blocks(), media_type="application/octet-stream")


async def headers(request: Request) -> Response:
    return JSONResponse({"headers": {k: v for k, v in request.headers.items()}, "path": request.url.path})


async def api_health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "weather-api"})


def api_app(interval: float = 1.0) -> Starlette:
    """The weather and computation API."""
    app = Starlette(
        routes=[
            Route("/weather", weather),
            Route("/compute", compute, methods=["POST"]),
            Route("/ticks", ticks),
            Route("/bytes", payload),
            Route("/headers", headers, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/health", api_health),
        ]
    )
    app.state.interval = interval
    return app


async def serve(
    feed_port: int, api_port: int, interval: float, media_port: int = 0, chat_port: int = 0
) -> None:
    import uvicorn

    from paygo_desktop.sandbox.media import media_app

    apps: list[tuple[Starlette, int]] = [(feed_app(interval), feed_port), (api_app(interval), api_port)]
    if media_port:
        apps.append((media_app(), media_port))
    if chat_port:
        from paygo_desktop.sandbox.chat_room import chat_app

        apps.append((chat_app(os.environ.get(CHAT_SECRET_ENV, "")), chat_port))
    servers = [
        uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        for app, port in apps
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paygo_desktop.sandbox.upstreams")
    parser.add_argument("--feed-port", type=int, required=True)
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--media-port", type=int, default=0)
    parser.add_argument("--chat-port", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.feed_port, args.api_port, args.interval, args.media_port, args.chat_port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
