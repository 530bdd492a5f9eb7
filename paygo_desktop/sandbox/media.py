"""The sandbox's video server: the clip shipped in resources/media (made by scripts/make_media.py) over
plain HTTP, as a media server or CDN serves it, behind the provider's gateway (delivery ``media``).

* ``GET``/``HEAD /<name>``: ``clip.mp4`` (progressive), ``clip.m3u8`` (an HLS playlist) and its
  ``clip<n>.ts`` segments; any other name is 404.
* Byte ranges: ``Range: bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` gets ``206`` with ``Content-Range``;
  a range past the end gets ``416`` (``Content-Range: bytes */<size>``); several ranges at once, or an
  invalid one, are answered with the whole file (as RFC 9110 allows). Every answer says
  ``Accept-Ranges: bytes``.
* ``rate`` (bytes per second, 0: as fast as the connection goes) paces every body, as a live or
  bitrate-limited origin would: the gateway's tests use it to hold a download open.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from paygo_desktop.resource_files import resource_path

TYPES = {".mp4": "video/mp4", ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.(mp4|m3u8|ts)")
RANGE = re.compile(r"bytes=(\d*)-(\d*)")
CHUNK = 16 * 1024
ENTRY = "clip.mp4"  # what the app opens: a browser plays it at once, and seeks with byte ranges


def media_dir() -> Path:
    return resource_path("media")


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The inclusive ``(first, last)`` a ``Range`` header asks of a ``size``-byte file; None for the
    whole file (no header, or one this server answers whole); False when nothing of it can be served."""
    if header is None:
        return None
    match = RANGE.fullmatch(header.strip())
    if match is None:
        return None  # several ranges, or another unit: the whole file
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last n bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else False
    start = int(first)
    if last and int(last) < start:
        return None  # not a valid range: ignored (RFC 9110, 14.2)
    if start >= size:
        return False
    return start, min(int(last), size - 1) if last else size - 1


def media_app(root: Path | None = None, rate: int = 0) -> Starlette:
    folder = root or media_dir()
    files = {p.name: p.read_bytes() for p in folder.iterdir() if NAME.fullmatch(p.name)}

    async def paced(body: bytes) -> AsyncIterator[bytes]:
        for at in range(0, len(body), CHUNK):
            chunk = body[at : at + CHUNK]
            yield chunk
            if rate:
                await asyncio.sleep(len(chunk) / rate)

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        data = files.get(name)
        if data is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        size = len(data)
        headers = {"Accept-Ranges": "bytes"}
        wanted = byte_range(request.headers.get("range"), size)
        if wanted is False:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(status_code=416, headers=headers)
        status, body = 200, data
        if isinstance(wanted, tuple):
            first, last = wanted
            status, body = 206, data[first : last + 1]
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        headers["Content-Length"] = str(len(body))
        media_type = TYPES[Path(name).suffix]
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type=media_type)
        return StreamingResponse(paced(body), status_code=status, headers=headers, media_type=media_type)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "video", "files": sorted(files)})

    return Starlette(routes=[Route("/health", health), Route("/{name}", serve, methods=["GET", "HEAD"])])
