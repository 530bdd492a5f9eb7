"""The local session proxy: a running session's service on a loopback URL that needs no token, for the
user's browser, media player, ``curl`` or scripts.

``AccessProxy`` serves ``http://127.0.0.1:<port>/<secret>/…`` for one session and forwards each request or
WebSocket to that session's gateway on its provider (``Access.service_url``), adding the session's access
token. It is a door for the user only:

* it listens on 127.0.0.1 only, on a port of its own;
* the URL's first segment is an unguessable per-session secret (compared in constant time); without it:
  404, and nothing is forwarded;
* the Host header must be ``127.0.0.1:<port>`` or ``localhost:<port>`` (a web page that rebinds its own
  name to 127.0.0.1 sends its own name): else 403;
* it sends no CORS headers (and drops the gateway's), so a web page cannot read its answers; no
  cookies pass either way (a browser's cookies for 127.0.0.1 belong to every local port);
* it forwards only to the session's gateway, on the provider the session was started with (an
  ``Access.service_url`` elsewhere is refused when the proxy is made), with the path checked as the
  gateway checks it;
* once the session ends (``close``) or the gateway says 410, it answers 410 and closes its open sockets;
  ``close`` then stops listening.

The token is never logged, and neither is the URL's secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from paygo_desktop.errors import UserFacingError
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import proxying
from paygo_desktop.sessions.live import LiveSession

log = logging.getLogger(__name__)

# never passed on to the provider: the client's own credentials or the browser's cross-site headers
NOT_FORWARDED = frozenset({"host", "authorization", "cookie", "origin", "referer"})
# no CORS header ever reaches the client (a prefix), nor a cookie for 127.0.0.1 (shared by every port)
NOT_ANSWERED = ("access-control-", "set-cookie")


class AccessProxyError(UserFacingError):
    """The session's service cannot be offered locally."""


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def door_refusal(scope: Scope, hosts: set[str], secret: str) -> tuple[int, str, str] | None:
    """Why a local proxy's request is refused at the door (status, code, message), or None: the Host
    must be one of ``hosts`` (127.0.0.1 or localhost with the proxy's port), the path's first segment
    ``secret``."""
    host = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), "")
    if host.lower() not in hosts:
        return 403, "wrong_host", "this address answers only to 127.0.0.1 or localhost"
    raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    first, _, _ = raw[1:].partition("/")
    if not secrets.compare_digest(first.encode(), secret.encode()) or not raw[1:].startswith(first + "/"):
        return 404, "not_found", "no such address"
    return None


class _QuietServer(uvicorn.Server):
    """uvicorn inside the app's or the CLI's own loop: their signal handling stays theirs."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_loopback(app: Any, what: str) -> tuple[_QuietServer, asyncio.Task[None], int]:
    """Serve the ASGI ``app`` on a free 127.0.0.1 port in this loop: the server, its task and the port."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,  # the app's logging stays the app's
        access_log=False,
        server_header=False,
        lifespan="off",
        ws_max_size=proxying.MAX_WS_MESSAGE,
        ws_max_queue=proxying.MAX_WS_QUEUE,
        ws_per_message_deflate=False,
    )
    server = _QuietServer(config)
    proxying.quiet_deliberate_cuts()
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises why it could not listen
            raise AccessProxyError(f"{what} could not start.")
        await asyncio.sleep(0.01)
    return server, serving, int(server.servers[0].sockets[0].getsockname()[1])


class AccessProxy:
    """One running session's local proxy: ``start`` it, hand out ``url``, ``close`` it when the session
    ends."""

    def __init__(self, access: m.Access, provider_url: str) -> None:
        if not access.service_url or access.delivery is None:
            raise AccessProxyError("This service delivers nothing through the provider's gateway.")
        if not _same_origin(access.service_url, provider_url):
            raise AccessProxyError(
                "The provider named a service address on another server; it is not opened."
            )
        self.access = access
        self.delivery = access.delivery
        self._target = httpx.URL(access.service_url)
        self._secret = secrets.token_urlsafe(24)
        self._hosts: set[str] = set()
        self._ended = asyncio.Event()
        self._server: _QuietServer | None = None
        self._serving: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(10.0, read=None)
        )
        self.port = 0

    @property
    def url(self) -> str:
        """The session's service on this machine (its secret included); HTTP, or ws:// for a socket."""
        scheme = "ws" if self.delivery is m.Delivery.websocket else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{self._secret}/"

    @property
    def open_url(self) -> str:
        """What the user opens: ``url``, or for a media service the file or playlist below it that the
        provider named (``Access.entry``: what a browser or media player plays)."""
        entry = self.access.entry
        if self.delivery is m.Delivery.media and entry and proxying.path_problem("/" + entry) is None:
            return self.url + entry
        return self.url

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def start(self) -> str:
        """Listen on a free loopback port; returns ``url``."""
        self._server, self._serving, self.port = await serve_loopback(self, "The local session proxy")
        self._hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        log.info("local session proxy on 127.0.0.1:%d (%s)", self.port, self.delivery.value)
        return self.url

    async def close(self) -> None:
        """The session ended: refuse everything, cut what is open, stop listening."""
        self._ended.set()
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(serving, 5)
        await self._client.aclose()

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        refusal = self._refusal(scope)
        if scope["type"] == "websocket":
            websocket = WebSocket(scope, receive, send)
            if refusal is not None:
                await proxying.deny(websocket, refusal[0], {"code": refusal[1], "message": refusal[2]})
                return
            await self._socket(websocket)
            return
        if refusal is not None:
            status, code, message = refusal
            await JSONResponse({"code": code, "message": message}, status_code=status)(scope, receive, send)
            return
        await self._http(Request(scope, receive), scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        refused = door_refusal(scope, self._hosts, self._secret)
        if refused is not None:
            return refused
        if self._ended.is_set():
            return 410, "access_revoked", "the session has ended"
        if proxying.path_problem("/" + self._rest(scope)) is not None:
            return 400, "bad_path", "this path is refused"
        return None

    def _rest(self, scope: Scope) -> str:
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        return raw[len(self._secret) + 2 :]  # after "/<secret>/"

    def _target_url(self, scope: Scope, scheme: str) -> str:
        query = scope.get("query_string", b"").decode("latin-1")
        raw = self._target.raw_path.decode("latin-1").partition("?")[0] + self._rest(scope)
        url = self._target.copy_with(raw_path=(raw + ("?" + query if query else "")).encode("latin-1"))
        return str(url.copy_with(scheme=scheme)) if scheme != url.scheme else str(url)

    def _headers(self, scope: Scope, drop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        headers = proxying.end_to_end(list(scope["headers"]), NOT_FORWARDED | drop)
        return [*headers, ("Authorization", f"Bearer {self.access.token}")]

    def _location(self, text: str) -> str:
        gateway = self._target.raw_path.decode("latin-1")
        for prefix in (str(self._target), gateway):
            if text.startswith(prefix):
                return f"/{self._secret}/" + text[len(prefix) :]
        return text

    async def _http(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        has_body = request.headers.get("content-length", "0") != "0" or "chunked" in request.headers.get(
            "transfer-encoding", ""
        )
        outgoing = self._client.build_request(
            request.method,
            self._target_url(scope, self._target.scheme),
            headers=self._headers(scope),
            content=request.stream() if has_body else None,
        )
        try:
            answer = await self._client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            log.warning("local session proxy: the provider is unreachable: %s", type(exc).__name__)
            await JSONResponse(
                {"code": "provider_unreachable", "message": "the provider is unreachable"}, status_code=502
            )(scope, receive, send)
            return
        if answer.status_code == 410:  # the gateway says the session is over: so is this door
            await answer.aclose()  # its body unread: it could be anything, of any size
            self._ended.set()
            status, code, message = 410, "access_revoked", "the session has ended"
            await JSONResponse({"code": code, "message": message}, status_code=status)(scope, receive, send)
            return
        headers = proxying.answer_headers(answer, self._location, NOT_ANSWERED)
        await proxying.StreamedAnswer(answer, headers, self._ended)(scope, receive, send)

    async def _socket(self, websocket: WebSocket) -> None:
        from websockets.exceptions import InvalidStatus, WebSocketException

        scheme = "wss" if self._target.scheme == "https" else "ws"
        try:
            upstream: Any = await proxying.open_socket(
                self._target_url(websocket.scope, scheme),
                self._headers(websocket.scope, proxying.HANDSHAKE_HEADERS),
                websocket.scope.get("subprotocols"),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 410:
                self._ended.set()
            await proxying.deny(websocket, status, {"code": "refused", "message": "the provider refused"})
            return
        except (OSError, TimeoutError, WebSocketException) as exc:
            log.warning("local session proxy: the provider's socket is unreachable: %s", type(exc).__name__)
            body = {"code": "provider_unreachable", "message": "the provider is unreachable"}
            await proxying.deny(websocket, 502, body)
            return
        try:
            await websocket.accept(subprotocol=upstream.subprotocol)
            await proxying.pump(websocket, upstream, self._ended)
        finally:
            await upstream.close()


class LocalAccess:
    """The local proxies of the running sessions, by local id: opened when a session starts (for a service
    its provider delivers through the gateway), closed when it ends."""

    def __init__(self) -> None:
        self._proxies: dict[str, AccessProxy] = {}

    async def open(self, live: LiveSession) -> AccessProxy | None:
        """The session's proxy, started (None when its service delivers nothing through the gateway, or
        it has ended meanwhile)."""
        if live.local_id in self._proxies:
            return self._proxies[live.local_id]
        if live.access is None or not live.access.service_url or not live.is_active:
            return None
        proxy = AccessProxy(live.access, live.terms.provider_url)
        self._proxies[live.local_id] = proxy
        await proxy.start()
        if not live.is_active or self._proxies.get(live.local_id) is not proxy:  # ended while starting
            if self._proxies.get(live.local_id) is proxy:
                del self._proxies[live.local_id]
            await proxy.close()
            return None
        return proxy

    def holds(self, local_id: str) -> bool:
        return local_id in self._proxies

    def get(self, local_id: str) -> AccessProxy | None:
        proxy = self._proxies.get(local_id)
        return proxy if proxy is not None and proxy.port and not proxy.ended else None

    async def close(self, local_id: str) -> None:
        proxy = self._proxies.pop(local_id, None)
        if proxy is not None:
            await proxy.close()

    async def close_all(self) -> None:
        for local_id in list(self._proxies):
            await self.close(local_id)
