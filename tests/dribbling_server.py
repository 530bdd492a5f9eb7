"""Hostile HTTP servers on loopback, for the limits every answer from another machine is held to.

``dribbling_server``: every answer is a 200 that sends one byte every 0.2 s, for ever, in its body or
(``headers=True``) in its headers; it breaks none of httpx's per-read time limits, so only a bound on the
whole answer ends the request. ``compressed_server``: every answer is a 200 whose small body is ``body``
gzipped ``layers`` times (``Content-Encoding: gzip, gzip``), so that a client decoding it would inflate it
whole before any size cap counted a byte. ``endless_server``: an answer without end. ``silent_server``:
no answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def _serving(answer: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> AsyncIterator[str]:
    answering: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answering.add(asyncio.current_task())  # type: ignore[arg-type]
        # cancelled when the server ends: returning instead (Python 3.11's streams log a cancelled handler)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            await answer(writer)
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in answering:  # ended here, not found pending when the loop closes
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)


def dribbling_server(*, headers: bool = False) -> contextlib.AbstractAsyncContextManager[str]:
    """Its base URL, on the running loop."""

    async def dribble(writer: asyncio.StreamWriter) -> None:
        if headers:
            writer.write(b"HTTP/1.1 200 OK\r\n")
            while True:
                writer.write(b"x")  # one header's name, never ending
                await writer.drain()
                await asyncio.sleep(0.2)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.2)

    return _serving(dribble)


def compressed_server(body: bytes, layers: int = 2) -> contextlib.AbstractAsyncContextManager[str]:
    """Its base URL, on the running loop; ``body`` is sent gzipped ``layers`` times."""
    for _ in range(layers):
        body = gzip.compress(body, compresslevel=9)
    encoding = ", ".join(["gzip"] * layers).encode()

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: " + encoding)
        writer.write(b"\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)

    return _serving(send)


def endless_server(status: int = 200) -> contextlib.AbstractAsyncContextManager[str]:
    """Its base URL; every answer (a ``status``) has a body that never ends, 64 KiB a chunk, as fast as it
    is read."""

    async def flood(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 %d Whatever\r\ntransfer-encoding: chunked\r\n\r\n" % status)
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        while True:
            writer.write(chunk)
            await writer.drain()

    return _serving(flood)


def silent_server() -> contextlib.AbstractAsyncContextManager[str]:
    """Its base URL; it takes every request and never answers (a node that has gone silent)."""

    async def nothing(writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    return _serving(nothing)
