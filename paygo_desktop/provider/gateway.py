"""The gateway: a session's service, proxied from its upstream for exactly as long as the session is live.

A catalog service named in the config's ``[services.<id>]`` (``ProviderConfig.services``), or given one by
the vendor through its service routes (provider.service_upstreams), has an upstream (a URL) and a
delivery: ``http`` (any method, reverse-proxied with streaming bodies), ``websocket`` (proxied both ways)
or ``media`` (audio/video files, HLS playlists and segments: ``GET`` and ``HEAD`` only, else 405; ``Range``
goes up and ``206``/``Content-Range`` come back as they are, the body streamed, never held whole). Below
``routes.STREAM_ACCESS`` (``/api/v1/streams/{session_id}/access/<path>``):

* The request or WebSocket handshake carries ``Authorization: Bearer <the session's access token>``; a
  missing token, or one of another session, gets 401; a session that stopped, expired or ran out of
  vouchers gets 410 (``ProviderCore.live_access``, read in the database, so every worker agrees).
* Only the upstream of the session's own service is reached: the path below ``access/`` is appended to the
  upstream's path and nothing in the request picks the host; ``.``/``..`` segments, empty segments and
  encoded slashes or backslashes are refused (400); redirects are passed back, never followed (a
  ``Location`` into the upstream is rewritten to the gateway's path); environment proxies are ignored.
* Hop-by-hop headers (and those the ``Connection`` header names), ``Host``, ``Authorization`` and the
  PayGo signature headers are never forwarded upstream; the upstream's answer comes back byte for byte.
* Each worker's ``Watcher`` reads, every ``gateway_watch_interval`` seconds, the state of the sessions it
  holds open connections for and cuts those that ended: an open WebSocket is closed with code 4410
  ("the session ended"), a streaming response is broken off (the client sees an incomplete body).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request, WebSocket
from starlette.responses import Response

from paygo_desktop.peer_text import is_digits
from paygo_desktop.protocol import proxying, routes
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import GatewayService, ProviderConfig
from paygo_desktop.provider.core import ProviderCore

log = logging.getLogger(__name__)

# the gateway's paths: BodyLimit leaves their bodies alone (they stream upstream, under the service's limit)
GATEWAY_PATH = re.compile("^" + re.escape(routes.PREFIX) + r"/streams/[A-Za-z0-9_-]{1,64}/access(/|$)")
ROUTE = routes.STREAM_ACCESS + "/{path:path}"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NEVER_UPSTREAM = frozenset(
    {
        "host",
        routes.ACCESS_TOKEN_HEADER.lower(),
        routes.AUTH_MESSAGE_HEADER.lower(),
        routes.AUTH_SIGNATURE_HEADER.lower(),
    }
)


class Connections:
    """This worker's open proxied connections, by session: each holds an event the watcher sets to cut it."""

    def __init__(self) -> None:
        self._open: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def held(self, session_id: str) -> Iterator[asyncio.Event]:
        ended = asyncio.Event()
        self._open.setdefault(session_id, set()).add(ended)
        try:
            yield ended
        finally:
            events = self._open.get(session_id)
            if events is not None:
                events.discard(ended)
                if not events:
                    del self._open[session_id]

    def session_ids(self) -> list[str]:
        return list(self._open)

    def cut(self, session_id: str) -> None:
        for ended in self._open.get(session_id, ()):
            ended.set()


class Watcher:
    """Cuts the open connections of sessions that ended, reading their state in the database."""

    def __init__(self, core: ProviderCore, connections: Connections, interval: float) -> None:
        self.core = core
        self.connections = connections
        self.interval = interval

    def check(self) -> set[str]:
        ids = self.connections.session_ids()
        ended = self.core.ended_sessions(ids) if ids else set()
        for session_id in ended:
            self.connections.cut(session_id)
        return ended

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.check()
            except Exception as exc:
                log.warning("gateway watch: %r", exc)


def _refuse(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def upstream_path(raw_path: bytes, session_id: str) -> str:
    """The part of the request's path below the session's ``access`` prefix, as sent (still
    percent-encoded), checked: "" or "/…" with no dot segments, no empty segments, no encoded slash or
    backslash (each could climb out of the upstream's path on some server)."""
    prefix = routes.STREAM_ACCESS.format(session_id=session_id)
    path = raw_path.decode("latin-1")
    if not path.startswith(prefix):
        raise _refuse(400, "bad_path", "the gateway path must be sent as is, not percent-encoded")
    rest = path[len(prefix) :]
    problem = proxying.path_problem(rest)
    if problem is not None:
        raise _refuse(400, "bad_path", problem)
    return rest


def upstream_url(service: GatewayService, rest: str, query: bytes) -> httpx.URL:
    """The request's target on the service's own upstream: only ``rest`` and the query come from the
    request; scheme, host and port always from the config. ``access/`` itself is the upstream's URL;
    ``access/x`` is the upstream's path + ``/x``."""
    parts = urlsplit(service.upstream)
    base = parts.path.rstrip("/")
    path = (
        parts.path if rest in ("", "/") and base else (base + rest) or "/"
    )  # access/ is the upstream itself
    raw = path + ("?" + query.decode("latin-1") if query else "")
    assert parts.hostname is not None  # GatewayService checks it
    return httpx.URL(
        scheme=parts.scheme, host=parts.hostname, port=parts.port, raw_path=raw.encode("latin-1")
    )


def answered_headers(
    response: httpx.Response, upstream: GatewayService, gateway_prefix: str
) -> list[tuple[bytes, bytes]]:
    """The upstream's headers for the client; a ``Location`` into the upstream rewritten to the gateway's
    own path (redirects are the client's to follow, through the gateway)."""
    base = upstream.upstream.rstrip("/")

    def location(text: str) -> str:
        if text == base or text.startswith(base + "/") or text.startswith(base + "?"):
            return gateway_prefix + text[len(base) :]
        return text

    return proxying.answer_headers(response, location)


class _TooLarge(Exception):
    pass


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        if chunk:
            yield chunk


def _service(core: ProviderCore, service_id: str, *deliveries: str) -> GatewayService:
    service = core.gateway_service(service_id)  # the config's, else the one the vendor set (checked)
    if service is None:
        raise _refuse(404, "no_upstream", "this session's service is not delivered through the gateway")
    if service.delivery not in deliveries:
        raise _refuse(400, "wrong_delivery", f"this session's service is delivered over {service.delivery}")
    return service


def _bearer(headers: Any) -> str | None:
    header = headers.get(routes.ACCESS_TOKEN_HEADER, "")
    return header[7:] if header.lower().startswith("bearer ") else None


def register(
    app: FastAPI, config: ProviderConfig, core: ProviderCore
) -> tuple[Connections, Callable[[], httpx.AsyncClient]]:
    """Add the gateway's routes to ``app``; returns its connections (for the watcher) and a factory of its
    upstream client (made inside the server's loop, in the lifespan)."""
    connections = Connections()
    state: dict[str, httpx.AsyncClient] = {}
    proxying.quiet_deliberate_cuts()  # a cut on purpose logs one INFO line, not uvicorn's ERROR

    def client() -> httpx.AsyncClient:
        if "client" not in state:
            state["client"] = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: only the configured upstream
                timeout=httpx.Timeout(10.0),
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
            )
        return state["client"]

    app.state.gateway_client = client

    @app.api_route(ROUTE, methods=METHODS, include_in_schema=False)
    async def proxy(session_id: str, path: str, request: Request) -> Response:
        del path  # the raw path is used, checked (upstream_path)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", session_id):
            raise _refuse(404, "unknown_session", "no such session")
        service_id, _ = core.live_access(session_id, _bearer(request.headers))
        service = _service(core, service_id, "http", "media")
        if service.delivery == "media" and request.method not in ("GET", "HEAD"):
            raise _refuse(405, "method_not_allowed", "a media service answers GET and HEAD only")
        rest = upstream_path(request.scope.get("raw_path") or request.url.path.encode(), session_id)
        target = upstream_url(service, rest, request.scope.get("query_string", b""))
        declared = request.headers.get("content-length")
        if declared is not None and is_digits(declared) and int(declared) > service.max_request_bytes:
            raise _refuse(
                413, "body_too_large", f"request bodies are limited to {service.max_request_bytes} bytes"
            )
        has_body = declared not in (None, "0") or "chunked" in request.headers.get("transfer-encoding", "")
        headers = proxying.end_to_end(list(request.scope["headers"]), NEVER_UPSTREAM)
        timeout = httpx.Timeout(10.0, read=service.read_timeout or None)
        outgoing = client().build_request(
            request.method,
            target,
            headers=headers,
            content=_limited(request, service.max_request_bytes) if has_body else None,
            timeout=timeout,
        )
        stack = contextlib.ExitStack()
        ended = stack.enter_context(connections.held(session_id))
        try:
            upstream = await client().send(outgoing, stream=True)
        except _TooLarge:
            stack.close()
            raise _refuse(
                413, "body_too_large", f"request bodies are limited to {service.max_request_bytes} bytes"
            ) from None
        except httpx.TimeoutException:
            stack.close()
            raise _refuse(504, "upstream_timeout", "the service did not answer in time") from None
        except httpx.HTTPError as exc:
            stack.close()
            log.warning("gateway: upstream of %s unreachable: %r", service_id, exc)
            raise _refuse(502, "upstream_unavailable", "the service is unreachable") from None
        except BaseException:
            stack.close()
            raise
        prefix = routes.STREAM_ACCESS.format(session_id=session_id)
        headers_back = answered_headers(upstream, service, prefix)
        return proxying.StreamedAnswer(upstream, headers_back, ended, stack.close)

    @app.websocket(ROUTE)
    async def proxy_socket(websocket: WebSocket, session_id: str, path: str) -> None:
        from websockets.exceptions import WebSocketException

        del path
        try:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", session_id):
                raise _refuse(404, "unknown_session", "no such session")
            service_id, _ = core.live_access(session_id, _bearer(websocket.headers))
            service = _service(core, service_id, "websocket")
            rest = upstream_path(websocket.scope.get("raw_path") or websocket.url.path.encode(), session_id)
            target = str(upstream_url(service, rest, websocket.scope.get("query_string", b"")))
        except ApiError as exc:
            await proxying.deny(websocket, exc.status, exc.body())
            return
        headers = proxying.end_to_end(
            list(websocket.scope["headers"]), NEVER_UPSTREAM | proxying.HANDSHAKE_HEADERS
        )
        with connections.held(session_id) as ended:
            try:
                upstream = await proxying.open_socket(target, headers, websocket.scope.get("subprotocols"))
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.warning("gateway: upstream socket of %s unreachable: %r", service_id, exc)
                body = {"code": "upstream_unavailable", "message": "the service is unreachable"}
                await proxying.deny(websocket, 502, body)
                return
            try:
                await websocket.accept(subprotocol=upstream.subprotocol)
                await proxying.pump(websocket, upstream, ended)
            finally:
                await upstream.close()

    return connections, client
