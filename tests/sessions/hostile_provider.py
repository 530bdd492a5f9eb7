"""A deliberately hostile provider for the session engine's tests, on loopback HTTP (uvicorn in a thread).

It speaks the provider API with the real signing key of the test chain's provider account, so its quotes
and receipts carry valid signatures, but it says what a ``Script`` tells it: a quote whose tick, grace or
rate differ from its own catalog, acknowledgements that are late, lie, never come or are 402s, receipts
that are forged or missing. It reads nothing from the chain (the app funds the channel on anvil itself).
A fake provider, on purpose: the reference provider cannot be made to misbehave like this.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from paygo_desktop.chain.vouchers import sign_close
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.signing import sign_model, unsigned
from tests.provider.conftest import run_server
from tests.sessions.conftest import Env, _free_port

SERVICE_ID = "hostile-feed"


@dataclass
class Script:
    """What the hostile provider says. Catalog terms first, then what its quote claims instead."""

    rate: int = 1000  # base units of USDC per second, in the catalog
    tick: int = 1
    grace: int = 5
    quote_rate: int | None = None
    quote_tick: int | None = None
    quote_grace: int | None = None
    # the answer to voucher 1, 2, ... (the last one repeats): ack, never, lie_low, 402
    acks: list[str] = field(default_factory=lambda: ["ack"])
    # good; grace (counts the unpaid grace of an expired session as served, as the reference provider did);
    # forged (signed by another key); missing (a 500 instead); dribble (its answer comes a byte every 0.2 s,
    # never ending)
    receipt: str = "good"
    start_hangs: bool = False  # the start is taken, but its answer never comes
    asset_decimals: int = 6  # what it says the test USDC's decimals are (the contract's: 6)
    # what GET /channels reports as its cursor: none (404, as if it held nothing); reneging (the highest
    # voucher it ever took, our own signature, though its receipt settled lower at our final voucher)
    cursor: str = "none"
    # the finalAmount of its signed Close: held (what its last session settled at); highest (the highest
    # voucher it ever took, above its receipt's total when the session settled lower)
    close_at: str = "held"


@dataclass
class Session:
    session_id: str
    channel_id: str
    payer: str
    started_at: float
    start: int
    held: int
    seq: int = 0
    status: str = "live"
    receipt: dict[str, Any] | None = None


class HostileProvider:
    def __init__(self, env: Env, script: Script, clock: Callable[[], float]) -> None:
        self.env = env
        self.script = script
        self.clock = clock
        self.key = env.provider
        self.sessions: dict[str, Session] = {}
        self.received: list[int] = []  # every cumulative amount the app sent, in order
        self.finals: list[int] = []  # final vouchers sent with a stop
        self.signatures: dict[int, str] = {}  # every voucher the app sent: cumulative → signature
        self.stops = 0
        self.closing = False
        self.app = Starlette(
            routes=[
                Route(routes.PROVIDER, self.provider_info),
                Route(routes.SERVICE, self.service),
                Route(routes.CHANNEL, self.channel),
                Route(routes.CHANNEL_CLOSE, self.close, methods=["POST"]),
                Route(routes.MY_SESSIONS, self.my_sessions),
                Route(routes.STREAM_START, self.start, methods=["POST"]),
                Route(routes.STREAM_VOUCHERS, self.voucher, methods=["POST"]),
                Route(routes.STREAM_STOP, self.stop, methods=["PATCH"]),
                Route(routes.STREAM, self.session),
            ]
        )

    # -- helpers
    def _json(self, model: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(model.model_dump(mode="json", by_alias=True), status_code=status)

    @staticmethod
    def _error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"code": code, "message": message}, status_code=status)

    def _rate(self, amount: int) -> m.Rate:
        return m.Rate(amount=amount, asset="USDC", unit=m.RateUnit.per_second)

    def _info(self, s: Session) -> m.SessionInfo:
        return m.SessionInfo(
            session_id=s.session_id,
            service_id=SERVICE_ID,
            channel_id=s.channel_id,
            payer=s.payer,
            status=m.SessionStatus(s.status),
            started_at=int(s.started_at),
            served_until=int(s.started_at),
            start_cumulative=s.start,
            cumulative_amount=s.held,
            amount=s.held - s.start,
            seq=s.seq,
            asset="USDC",
        )

    # -- routes
    async def provider_info(self, request: Request) -> Response:
        return self._json(
            m.ProviderInfo(
                name="Hostile provider",
                pay_to=self.key.address,
                networks=[m.NetworkInfo(chain_id=self.env.chain_id, vault=self.env.vault.address)],
                assets=[
                    m.AssetInfo(symbol="USDC", address=self.env.usdc, decimals=self.script.asset_decimals)
                ],
                signing_key=self.key.address,
            )
        )

    async def service(self, request: Request) -> Response:
        s = self.script
        return self._json(
            m.Service(
                id=SERVICE_ID,
                name="Hostile feed",
                category="data",
                type=m.ServiceType.data,
                rate=self._rate(s.rate),
                tick_seconds=s.tick,
                grace_seconds=s.grace,
                is_active=True,
                vendor=m.VendorInfo(name="Hostile provider", address=self.key.address),
            )
        )

    async def channel(self, request: Request) -> Response:
        if self.script.cursor != "reneging" or not self.signatures:
            return self._error(404, "unknown_channel", "this provider has no voucher for that channel")
        top = max(self.signatures)  # not the settled final voucher: the one signed a tick ahead of it
        voucher = m.LastVoucher(cumulative_amount=top, signature=self.signatures[top], seq=1)
        info = m.ChannelInfo(channel_id=request.path_params["channel_id"], last_voucher=voucher, claimed=0)
        return self._json(info)

    async def close(self, request: Request) -> Response:
        channel = m.CloseRequest.model_validate(await request.json()).channel.to_channel()
        if self.script.close_at == "highest":
            final = max(self.signatures)
        else:
            final = max((s.held for s in self.sessions.values()), default=0)
        deadline = self.env.chain_time() + 3600
        signature = sign_close(self.key, self.env.domain(), channel, final, deadline)
        auth = m.CloseAuth(
            channel_id="0x" + channel.id.hex(),
            final_amount=final,
            deadline=deadline,
            signature="0x" + signature.hex(),
        )
        return self._json(auth)

    async def my_sessions(self, request: Request) -> Response:
        return self._json(m.SessionList(items=[self._info(s) for s in self.sessions.values()]))

    async def start(self, request: Request) -> Response:
        body = await request.json()
        cumulative = int(body["voucher"]["cumulativeAmount"])
        self.received.append(cumulative)
        self.signatures[cumulative] = body["voucher"]["signature"]
        channel = m.ChannelParams.model_validate(body["channel"]).to_channel()
        cid = "0x" + channel.id.hex()
        s = self.script
        sid = "s_" + secrets.token_urlsafe(12)
        start = cumulative - s.rate * s.tick if cumulative >= s.rate * s.tick else 0
        session = Session(sid, cid, channel.payer, self.clock(), start, cumulative)
        self.sessions[sid] = session
        quote = sign_model(
            self.key,
            unsigned(
                m.Quote,
                session_id=sid,
                service_id=SERVICE_ID,
                rate=self._rate(s.quote_rate if s.quote_rate is not None else s.rate),
                tick_seconds=s.quote_tick if s.quote_tick is not None else s.tick,
                grace_seconds=s.quote_grace if s.quote_grace is not None else s.grace,
                chain_id=self.env.chain_id,
                vault=self.env.vault.address,
                channel_id=cid,
                start_cumulative=start,
                issued_at=int(time.time()),
            ),
        )
        if s.start_hangs:
            while not self.closing:
                await asyncio.sleep(0.05)
            return Response(status_code=503)
        access = m.Access(url="http://127.0.0.1/content", token="t" * 16, expires_at=int(time.time()) + 60)
        return self._json(m.StartResponse(session_id=sid, quote=quote, access=access), 201)

    async def voucher(self, request: Request) -> Response:
        session = self.sessions[request.path_params["session_id"]]
        body = await request.json()
        seq, cumulative = int(body["seq"]), int(body["cumulativeAmount"])
        self.received.append(cumulative)
        self.signatures[cumulative] = body["signature"]
        acks = self.script.acks
        answer = acks[seq - 1] if seq - 1 < len(acks) else acks[-1]
        if answer == "never":
            while not self.closing:
                await asyncio.sleep(0.05)
            return Response(status_code=503)
        if answer == "402":
            return self._error(402, "insufficient_escrow", "the escrow does not cover this voucher")
        session.held, session.seq = cumulative, seq
        said = cumulative - 1 if answer == "lie_low" else cumulative
        return self._json(m.VoucherAck(seq=seq, cumulative_amount=said, served_until=0, expires_at=0))

    async def stop(self, request: Request) -> Response:
        self.stops += 1
        session = self.sessions[request.path_params["session_id"]]
        raw = await request.body()
        if raw:
            final = (await request.json()).get("finalVoucher")
            if final:
                session.held = int(final["cumulativeAmount"])
                self.signatures[session.held] = final["signature"]
                self.finals.append(session.held)
                self.received.append(session.held)
        if self.script.receipt == "missing":
            return self._error(500, "internal_error", "internal error")
        if self.script.receipt == "dribble":
            return StreamingResponse(self._dribble(), media_type="application/json")
        if session.status == "live":
            session.status = "ended"
        if session.receipt is None:
            paid = (session.held - session.start) // self.script.rate  # whole seconds, at a per-second rate
            ended = self.clock()
            if session.status == "expired":  # it ran out at the end of what was paid, plus the grace
                ended = session.started_at + paid + self.script.grace
            seconds = min(int(ended - session.started_at), paid)
            if self.script.receipt == "grace":
                seconds = paid + self.script.grace
            signer = self.key if self.script.receipt != "forged" else Account.from_key("0x" + "13" * 32)
            session.receipt = sign_model(
                signer,
                unsigned(
                    m.Receipt,
                    session_id=session.session_id,
                    service_id=SERVICE_ID,
                    channel_id=session.channel_id,
                    started_at=int(session.started_at),
                    ended_at=int(ended),
                    seconds=seconds,
                    amount=session.held - session.start,
                    final_cumulative=session.held,
                ),
            ).model_dump(mode="json", by_alias=True)
        close = {"channelId": session.channel_id, "finalAmount": str(session.held), "nonce": 0}
        close["signature"] = "0x" + "11" * 65
        return JSONResponse({"receipt": session.receipt, "close": close})

    async def _dribble(self) -> AsyncIterator[bytes]:
        while not self.closing:
            yield b" "
            await asyncio.sleep(0.2)

    async def session(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["session_id"])
        if session is None:
            return self._error(404, "unknown_session", "no such session")
        return self._json(self._info(session))


@contextlib.contextmanager
def hostile_provider(env: Env, script: Script, clock: Callable[[], float] = time.time) -> Iterator[Any]:
    provider = HostileProvider(env, script, clock)
    port = _free_port()
    server, thread = run_server(provider.app, port)
    provider.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        yield provider
    finally:
        provider.closing = True
        server.should_exit = True
        thread.join(timeout=10)
