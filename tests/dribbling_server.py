"""A hostile HTTP server on loopback whose every answer is a 200 that sends one byte every 0.2 s, for ever:
it breaks none of httpx's per-read time limits, so only a bound on the whole answer ends the request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def dribbling_server() -> AsyncIterator[str]:
    """Its base URL, on the running loop."""

    answering: set[asyncio.Task[None]] = set()

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answering.add(asyncio.current_task())  # type: ignore[arg-type]
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        # cancelled when the server ends: returning instead (Python 3.11's streams log a cancelled handler)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                await asyncio.sleep(0.2)

    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in answering:  # ended here, not found pending when the loop closes
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)
