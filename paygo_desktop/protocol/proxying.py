"""Forwarding one HTTP exchange or one WebSocket between a client and a fixed server, for both proxies of
a session's service: the provider's gateway (provider.gateway) and the app's local session proxy
(sessions.access_proxy). The target is always the proxy's own; this module only moves bytes and headers.

* Headers: hop-by-hop ones (and those the ``Connection`` header names) never pass, either way.
* A path below the proxy's prefix is checked before it is appended to the target's: no dot segments, no
  empty segments, no encoded slash, backslash or NUL (each could climb out of the target's path).
* An answer streams until it ends, the client leaves, or ``ended`` is set: then it is broken off (the
  client sees an incomplete body, never a cut body passed off as whole).
* A WebSocket pumps both ways until a side closes or ``ended`` is set: then the client gets close code
  ``CLOSE_SESSION_ENDED`` (4410, after HTTP's 410 Gone).
* A deliberate cut logs one INFO line. uvicorn would add an ERROR ("ASGI callable returned without
  completing response", and "… handshake" after a refused WebSocket handshake, a uvicorn quirk): the
  request's task marks what it did on purpose (``_ON_PURPOSE``) and ``QuietCuts``, a filter on
  uvicorn's error log (``quiet_deliberate_cuts``), drops exactly those lines of that task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

# A WebSocket message, either way, is at most 4 MiB, and a server holds at most a few a client sent ahead of
# what it could pass on: uvicorn's defaults (16 MiB, a queue of 32) let one socket hold 512 MiB behind a
# slow target. Messages are not compressed (``permessage-deflate`` costs CPU on every message, and plain
# bytes are what every other answer here is held to: answer_limits).
MAX_WS_MESSAGE = 2**22
MAX_WS_QUEUE = 4

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# what a WebSocket client library makes itself for its own handshake
HANDSHAKE_HEADERS = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "content-length",
    }
)
CLOSE_SESSION_ENDED = 4410
# what uvicorn logs as an ERROR after an answer broken off, or a WebSocket handshake refused, on purpose
UVICORN_AFTER_CUT = {
    "answer": "ASGI callable returned without completing response.",
    "denied": "ASGI callable returned without completing handshake.",
}
# set in the request's own task (uvicorn logs from that task once the app returns): what was done on purpose
_ON_PURPOSE: contextvars.ContextVar[str | None] = contextvars.ContextVar("paygo_on_purpose", default=None)


class QuietCuts(logging.Filter):
    """Drops uvicorn's ERROR about an answer or a handshake that this module ended on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        done = _ON_PURPOSE.get()
        return done is None or record.getMessage() != UVICORN_AFTER_CUT.get(done)


def quiet_deliberate_cuts() -> None:
    """Install ``QuietCuts`` on uvicorn's error log (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietCuts) for f in logger.filters):
        logger.addFilter(QuietCuts())


def path_problem(rest: str) -> str | None:
    """Why ``rest`` (a raw path below a proxy's prefix: "" or "/…", still percent-encoded) may not be
    appended to the target's path, or None."""
    if rest and not rest.startswith("/"):
        return "no such route"
    segments = rest.split("/")[1:]
    for i, segment in enumerate(segments):
        lowered = segment.lower()
        if "\\" in segment or "%2f" in lowered or "%5c" in lowered or "%00" in lowered:
            return "encoded slashes, backslashes and NULs are refused"
        if unquote(segment) in (".", ".."):
            return "dot segments are refused"
        if segment == "" and i != len(segments) - 1:
            return "empty path segments are refused"
    return None


def _connection_named(headers: Iterable[tuple[bytes, bytes]]) -> set[str]:
    named: set[str] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(v.strip().lower() for v in value.decode("latin-1").split(","))
    return named


def end_to_end(headers: list[tuple[bytes, bytes]], drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """A request's headers to send on: hop-by-hop ones, those ``Connection`` names and ``drop`` (lower
    case) left out."""
    left_out = HOP_BY_HOP | _connection_named(headers) | frozenset(drop)
    return [
        (n.decode("latin-1"), v.decode("latin-1"))
        for n, v in headers
        if n.decode("latin-1").lower() not in left_out
    ]


def answer_headers(
    response: httpx.Response, location: Callable[[str], str], drop: Iterable[str] = ()
) -> list[tuple[bytes, bytes]]:
    """An answer's headers for the client: hop-by-hop ones and ``drop`` left out, ``Location`` through
    ``location`` (redirects are the client's to follow, through the proxy)."""
    left_out = HOP_BY_HOP | _connection_named(response.headers.raw) | frozenset(drop)
    out: list[tuple[bytes, bytes]] = []
    for name, value in response.headers.raw:
        lowered = name.decode("latin-1").lower()
        if lowered in left_out or any(lowered.startswith(d) for d in drop if d.endswith("-")):
            continue
        if lowered == "location":
            value = location(value.decode("latin-1")).encode("latin-1")
        out.append((name, value))
    return out


class StreamedAnswer(Response):
    """The target's answer, streamed to the client until it ends, the client leaves or ``ended`` is set
    (then broken off). ``done`` runs once it is over, however it ended."""

    def __init__(
        self,
        upstream: httpx.Response,
        headers: list[tuple[bytes, bytes]],
        ended: asyncio.Event,
        done: Callable[[], None] = lambda: None,
    ) -> None:
        self.upstream = upstream
        self.status_code = upstream.status_code
        self.raw_headers = headers
        self.background = None
        self.ended = ended
        self.done = done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = self.upstream.aiter_raw()
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self.ended.wait()),
            asyncio.ensure_future(_disconnected(receive)),
        ]
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            while True:
                following = asyncio.ensure_future(anext(chunks))
                await asyncio.wait([following, *waits], return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    with contextlib.suppress(BaseException):
                        await following
                    if self.ended.is_set():
                        _ON_PURPOSE.set("answer")
                        log.info("an answer was broken off: its session ended")
                    return  # incomplete: the server closes the connection
                try:
                    chunk = following.result()
                except StopAsyncIteration:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            for wait in waits:
                wait.cancel()
            await self.upstream.aclose()
            self.done()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def deny(websocket: WebSocket, status: int, body: dict[str, Any]) -> None:
    """Refuse a WebSocket handshake with the HTTP status and JSON body a plain request would get, where
    the server can send one (else close code 1008 with the message)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        _ON_PURPOSE.set("denied")
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(code=1008, reason=str(body.get("message", ""))[:120])


async def open_socket(url: str, headers: list[tuple[str, str]], subprotocols: list[str] | None) -> Any:
    """A WebSocket to ``url`` (environment proxies ignored: only that server)."""
    from websockets.asyncio.client import connect

    return await connect(
        url,
        additional_headers=headers,
        subprotocols=subprotocols or None,  # type: ignore[arg-type]
        proxy=None,
        open_timeout=10,
        user_agent_header=None,
        max_size=MAX_WS_MESSAGE,
        max_queue=MAX_WS_QUEUE,
        compression=None,
    )


async def pump(websocket: WebSocket, upstream: Any, ended: asyncio.Event) -> None:
    """Messages both ways until one side closes or ``ended`` is set; then the other side is closed
    (``CLOSE_SESSION_ENDED`` for the client when ``ended``, else the target's own close code)."""
    from websockets.exceptions import ConnectionClosed

    async def client_to_upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def upstream_to_client() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in upstream:
                if isinstance(message, str):
                    await websocket.send_text(message)
                else:
                    await websocket.send_bytes(message)

    tasks = {
        "client": asyncio.ensure_future(client_to_upstream()),
        "upstream": asyncio.ensure_future(upstream_to_client()),
        "ended": asyncio.ensure_future(ended.wait()),
    }
    try:
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(BaseException):
                await task
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        if ended.is_set():
            log.info("a WebSocket was closed: its session ended")
            await websocket.close(code=CLOSE_SESSION_ENDED, reason="the session ended")
        elif tasks["upstream"].done():
            code = upstream.close_code
            await websocket.close(code=code if code and code not in (1005, 1006, 1015) else 1000)
