"""The local x402 proxy: scripts, ``curl`` and tools call x402 endpoints through the wallet, which pays
within the user's per-site limits (``x402.payer``).

``X402Proxy`` serves ``http://127.0.0.1:<port>/<secret>/<scheme>/<host[:port]>/<path>?<query>`` and
requests ``<scheme>://<host[:port]>/<path>?<query>`` for it, paying a 402 as ``paygo-desktop x402 get``
does. It is a door for the user only, as the local session proxy is (``access_proxy``): loopback only, an
unguessable secret as the first segment (404 without it), the Host header 127.0.0.1 or localhost with its
port (403 otherwise), no cookies either way, no CORS header in its answers (a web page cannot read them).
A refused payment answers 402 with ``{"code": "refused_<reason>", "message": ...}``: nothing was signed.
A site in ask-first mode is asked about through the payer's ``confirm`` (the app's dialog, the CLI's
terminal), and refused in words without one. The answer carries ``X-PayGo-X402-Payment: <amount> <token>;
<status>`` when a payment was made. With the payer's ``sessions`` (the app's running sessions), a PayGo
provider's request that a running session can serve goes through it unpaid and says
``X-PayGo-X402-Session: <service id>``; paid although the provider also sells it by time, the answer says
so in ``X-PayGo-Session-Offer``. Bodies both ways are held in memory (``payer.MAX_BODY`` for the answer,
``MAX_REQUEST_BYTES`` for the request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import proxying
from paygo_desktop.sessions.access_proxy import door_refusal, serve_loopback
from paygo_desktop.x402.limits import X402Refused
from paygo_desktop.x402.payer import X402Payer

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 10 * 1024 * 1024
NOT_FORWARDED = frozenset({"host", "cookie", "origin", "referer", "content-length"})
NOT_ANSWERED = ("access-control-", "set-cookie", "content-length", "content-encoding")
PAYMENT_HEADER = "X-PayGo-X402-Payment"
SESSION_HEADER = "X-PayGo-X402-Session"  # served through this running session: nothing paid
OFFER_HEADER = "X-PayGo-Session-Offer"  # paid per request; a session would be cheaper for repeated calls


class X402Proxy:
    """``start`` it, hand out ``url``, ``close`` it."""

    def __init__(self, payer: X402Payer) -> None:
        self._payer = payer
        self._secret = secrets.token_urlsafe(24)
        self._hosts: set[str] = set()
        self._server: Any = None
        self._serving: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Append ``<scheme>/<host[:port]>/<path>`` to reach that URL through the wallet."""
        return f"http://127.0.0.1:{self.port}/{self._secret}/"

    async def start(self) -> str:
        server, self._serving, self.port = await serve_loopback(self, "The local x402 proxy")
        self._server = server
        self._hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        log.info("local x402 proxy on 127.0.0.1:%d", self.port)
        return self.url

    async def close(self) -> None:
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(serving, 5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        refused = door_refusal(scope, self._hosts, self._secret)
        target = None if refused is not None else _target(scope, self._secret)
        if refused is None and target is None:
            refused = 400, "bad_target", "give the URL as /<secret>/<http|https>/<host[:port]>/<path>"
        if refused is not None or target is None:
            status, code, message = refused or (400, "bad_target", "")
            await JSONResponse({"code": code, "message": message}, status_code=status)(scope, receive, send)
            return
        answer = await self._forward(Request(scope, receive), target)
        await answer(scope, receive, send)

    async def _forward(self, request: Request, target: str) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return JSONResponse({"code": "body_too_large", "message": "request body too large"}, 413)
        headers = dict(proxying.end_to_end(list(request.scope["headers"]), NOT_FORWARDED))
        try:
            answer = await self._payer.request(
                request.method, target, headers=headers, content=bytes(body) if body else None
            )
        except X402Refused as exc:
            return JSONResponse({"code": f"refused_{exc.reason}", "message": str(exc)}, status_code=402)
        except UserFacingError as exc:
            return JSONResponse({"code": "x402_failed", "message": str(exc)}, status_code=502)
        back = [
            (name, value)
            for name, value in answer.headers.items()
            if name.lower() not in proxying.HOP_BY_HOP and not name.lower().startswith(NOT_ANSWERED)
        ]
        if answer.payment is not None:
            paid = Amount(Asset(answer.payment.asset_symbol, answer.payment.decimals), answer.payment.moved)
            back.append((PAYMENT_HEADER, f"{paid.format(grouping=False)}; {answer.payment.status}"))
        if answer.via_session and answer.offer is not None:
            back.append((SESSION_HEADER, answer.offer.service_id))
        elif answer.hint is not None:
            back.append((OFFER_HEADER, answer.hint.encode("ascii", "replace").decode("ascii")))
        response = Response(content=answer.body, status_code=answer.status)
        for name, value in back:
            response.headers.append(name, value)
        return response


def _target(scope: Scope, secret: str) -> str | None:
    """The URL a proxied path names, or None."""
    raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    rest = raw[len(secret) + 2 :]  # after "/<secret>/"
    scheme, _, rest = rest.partition("/")
    host, slash, path = rest.partition("/")
    if scheme not in ("http", "https") or not host or "@" in host:
        return None
    if proxying.path_problem("/" + path) is not None:
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    del slash  # "<scheme>/<host>" alone names the site's root
    return f"{scheme}://{host}/{path}" + (f"?{query}" if query else "")
