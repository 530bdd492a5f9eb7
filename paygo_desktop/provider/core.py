"""Session logic of the reference provider: quotes, voucher checks, expiry, receipts and Close signatures.

Rules (server clock, injectable):

* A voucher is accepted only if it is a valid EIP-712 Voucher by the channel's signer, the channel is
  funded on chain with this provider, and ``cumulativeAmount <= deposited - withdrawn - pendingWithdraw``.
* Within a session, ``cumulativeAmount - startCumulative <= rate.cost(ceil(elapsed)) + rate.cost(tick)``.
* ``servedUntil = startedAt + seconds paid``; the session expires (access revoked) once
  ``now > servedUntil + graceSeconds``. Checked by a background task and lazily on each request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from paygo_desktop.chain.vault import ChannelState, VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, sign_close, verify_voucher
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.signing import sign_model, unsigned
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.store import ChannelRow, ServiceRow, SessionRow, Store

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, channel: m.ChannelStateOut | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.channel = channel

    def body(self) -> dict[str, Any]:
        return m.ErrorBody(code=self.code, message=self.message, channel=self.channel).model_dump(
            mode="json", exclude_none=True
        )


def state_out(channel_id: bytes, st: ChannelState) -> m.ChannelStateOut:
    return m.ChannelStateOut(
        channel_id="0x" + channel_id.hex(),
        deposited=st.deposited,
        claimed=st.claimed,
        withdrawn=st.withdrawn,
        pending_withdraw=st.pending_withdraw,
        close_nonce=st.close_nonce,
        coverage=coverage(st),
    )


def coverage(st: ChannelState) -> int:
    """The most the provider is sure to collect on this channel: escrow minus the pending withdrawal."""
    return max(0, st.escrow - st.pending_withdraw)


def service_model(row: ServiceRow, vendor: m.VendorInfo) -> m.Service:
    return m.Service(
        id=row.id,
        name=row.name,
        description=row.description,
        category=row.category,
        type=m.ServiceType(row.type),
        rate=m.Rate(amount=int(row.rate_amount), asset=row.rate_asset, unit=m.RateUnit(row.rate_unit)),
        tick_seconds=row.tick_seconds,
        grace_seconds=row.grace_seconds,
        is_active=row.is_active,
        vendor=vendor,
    )


def session_rate(row: SessionRow) -> m.Rate:
    return m.Rate(amount=int(row.rate_amount), asset=row.asset, unit=m.RateUnit(row.rate_unit))


def session_info(row: SessionRow) -> m.SessionInfo:
    return m.SessionInfo(
        session_id=row.id,
        service_id=row.service_id,
        channel_id=row.channel_id,
        payer=row.payer,
        status=m.SessionStatus(row.status),
        started_at=int(row.started_at),
        ended_at=None if row.ended_at is None else int(row.ended_at),
        served_until=int(row.served_until),
        start_cumulative=int(row.start_cumulative),
        cumulative_amount=int(row.cumulative),
        amount=int(row.cumulative) - int(row.start_cumulative),
        seq=row.seq,
        asset=row.asset,
    )


@dataclass
class Runtime:
    """Chain-side objects, created inside the server's event loop (lifespan)."""

    vault: VaultClient
    domain: VaultDomain


class ProviderCore:
    def __init__(self, config: ProviderConfig, store: Store, account: LocalAccount, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.account = account
        self.clock = clock
        self.runtime: Runtime | None = None
        self.lock = asyncio.Lock()
        self.vendor = m.VendorInfo(name=config.name, address=account.address)

    # ------------------------------------------------------------------ chain helpers

    @property
    def rt(self) -> Runtime:
        if self.runtime is None:
            raise ApiError(503, "chain_unavailable", "the provider is not connected to its chain yet")
        return self.runtime

    async def channel_state(self, channel_id: bytes) -> ChannelState:
        try:
            return await self.rt.vault.channel_state(channel_id)
        except ApiError:
            raise
        except Exception as exc:
            log.warning("channel_state failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot reach its chain node") from None

    # ------------------------------------------------------------------ expiry

    def _expire_if_late(self, row: SessionRow, ch: ChannelRow | None, now: float) -> bool:
        if row.status == m.SessionStatus.live.value and now > row.served_until + row.grace_seconds:
            row.status = m.SessionStatus.expired.value
            row.ended_at = min(now, row.served_until + row.grace_seconds)
            if ch is not None and ch.live_session_id == row.id:
                ch.live_session_id = None
            log.info("session %s expired: no voucher in time", row.id)
            return True
        return False

    def expire_late_sessions(self) -> int:
        now = self.clock()
        count = 0
        with self.store.tx() as db:
            for row in db.scalars(select(SessionRow).where(SessionRow.status == m.SessionStatus.live.value)):
                count += self._expire_if_late(row, db.get(ChannelRow, row.channel_id), now)
        return count

    # ------------------------------------------------------------------ sessions

    async def start(self, req: m.StartRequest) -> m.StartResponse:
        rt = self.rt
        with self.store.tx() as db:
            svc = db.get(ServiceRow, req.service_id)
            if svc is None or svc.deleted or not svc.is_active:
                raise ApiError(404, "unknown_service", "no such active service")
            service = service_model(svc, self.vendor)
        channel = req.channel.to_channel()
        if channel.provider != self.account.address:
            raise ApiError(400, "wrong_provider", "the channel's provider is not this provider's payTo")
        asset = self.config.asset_by_address(channel.token)
        if asset is None or asset.symbol != service.rate.asset:
            raise ApiError(400, "wrong_asset", f"this service is paid in {service.rate.asset}")
        cid = channel.id
        cid_hex = "0x" + cid.hex()
        amount = req.voucher.cumulative_amount
        if not verify_voucher(rt.domain, channel, amount, req.voucher.signature):
            raise ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
        async with self.lock:
            now = self.clock()
            with self.store.tx() as db:
                ch = db.get(ChannelRow, cid_hex)
                if ch is not None and ch.live_session_id is not None:
                    live = db.get(SessionRow, ch.live_session_id)
                    if live is not None and not self._expire_if_late(live, ch, now):
                        raise ApiError(409, "channel_busy", "this channel already has a live session")
                known = int(ch.last_cumulative) if ch is not None else 0
            st = await self.channel_state(cid)
            if st.deposited == 0:
                raise ApiError(402, "channel_not_funded", "the channel has no escrow", state_out(cid, st))
            baseline = max(known, st.claimed)
            tick_cost = service.rate.cost(service.tick_seconds)
            if coverage(st) < baseline + tick_cost:
                raise ApiError(
                    402, "insufficient_escrow", "the escrow does not cover the first tick", state_out(cid, st)
                )
            if amount < baseline:
                raise ApiError(409, "stale_voucher", f"the voucher must total at least {baseline}")
            if amount > baseline + tick_cost:
                raise ApiError(422, "amount_exceeds_usage", "the first voucher may prepay at most one tick")
            session_id = "s_" + secrets.token_urlsafe(18)
            token = secrets.token_urlsafe(32)
            served_until = now + service.rate.seconds_paid(amount - baseline)
            with self.store.tx() as db:
                ch = db.get(ChannelRow, cid_hex)
                if ch is None:
                    ch = ChannelRow(
                        id=cid_hex,
                        payer=channel.payer,
                        signer=channel.signer,
                        provider=channel.provider,
                        token=channel.token,
                        withdraw_delay=channel.withdraw_delay,
                        salt="0x" + channel.salt.hex(),
                        last_cumulative="0",
                        claimed_cumulative="0",
                        last_seq=0,
                    )
                    db.add(ch)
                ch.last_cumulative = str(amount)
                ch.last_signature = req.voucher.signature
                ch.last_seq = 0
                ch.live_session_id = session_id
                db.add(
                    SessionRow(
                        id=session_id,
                        service_id=service.id,
                        channel_id=cid_hex,
                        payer=channel.payer,
                        asset=service.rate.asset,
                        rate_amount=str(service.rate.amount),
                        rate_unit=service.rate.unit.value,
                        tick_seconds=service.tick_seconds,
                        grace_seconds=service.grace_seconds,
                        status=m.SessionStatus.live.value,
                        started_at=now,
                        served_until=served_until,
                        start_cumulative=str(baseline),
                        cumulative=str(amount),
                        seq=0,
                        access_token=token,
                    )
                )
        quote = sign_model(
            self.account,
            unsigned(
                m.Quote,
                session_id=session_id,
                service_id=service.id,
                rate=service.rate,
                tick_seconds=service.tick_seconds,
                grace_seconds=service.grace_seconds,
                chain_id=rt.domain.chain_id,
                vault=rt.domain.vault,
                channel_id=cid_hex,
                start_cumulative=baseline,
                issued_at=int(now),
            ),
        )
        access = m.Access(
            url=self.config.public_base_url.rstrip("/") + routes.STREAM_CONTENT.format(session_id=session_id),
            token=token,
            expires_at=int(served_until + service.grace_seconds),
        )
        return m.StartResponse(session_id=session_id, quote=quote, access=access)

    def _load(self, db: Any, session_id: str) -> tuple[SessionRow, ChannelRow]:
        row = db.get(SessionRow, session_id)
        if row is None:
            raise ApiError(404, "unknown_session", "no such session")
        ch = db.get(ChannelRow, row.channel_id)
        assert ch is not None
        return row, ch

    @staticmethod
    def _channel_of(ch: ChannelRow) -> Channel:
        return Channel(
            payer=ch.payer,
            signer=ch.signer,
            provider=ch.provider,
            token=ch.token,
            withdraw_delay=ch.withdraw_delay,
            salt=bytes.fromhex(ch.salt[2:]),
        )

    async def voucher(self, session_id: str, req: m.VoucherRequest) -> m.VoucherAck:
        rt = self.rt
        async with self.lock:
            now = self.clock()
            with self.store.tx() as db:
                row, ch = self._load(db, session_id)
                self._expire_if_late(row, ch, now)
                if row.status != m.SessionStatus.live.value:
                    raise ApiError(410, "session_over", f"the session is {row.status}")
                channel = self._channel_of(ch)
                rate = session_rate(row)
                start, last, last_seq = int(row.start_cumulative), int(row.cumulative), row.seq
                started_at, tick = row.started_at, row.tick_seconds
            if req.seq <= last_seq:
                raise ApiError(409, "seq_not_monotonic", f"seq must be greater than {last_seq}")
            if req.cumulative_amount < last:
                raise ApiError(409, "amount_not_monotonic", f"cumulativeAmount must be at least {last}")
            if not verify_voucher(rt.domain, channel, req.cumulative_amount, req.signature):
                raise ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
            elapsed = max(0, math.ceil(now - started_at))
            allowed = start + rate.cost(elapsed) + rate.cost(tick)
            if req.cumulative_amount > allowed:
                raise ApiError(
                    422,
                    "amount_exceeds_usage",
                    f"at most {allowed} may be signed for so far (rate x time + a tick)",
                )
            st = await self.channel_state(channel.id)
            if req.cumulative_amount > coverage(st):
                raise ApiError(
                    402,
                    "insufficient_escrow",
                    "the escrow does not cover this voucher",
                    state_out(channel.id, st),
                )
            with self.store.tx() as db:
                row, ch = self._load(db, session_id)
                if self._expire_if_late(row, ch, self.clock()) or row.status != m.SessionStatus.live.value:
                    raise ApiError(410, "session_over", f"the session is {row.status}")
                row.seq = req.seq
                row.cumulative = str(req.cumulative_amount)
                row.served_until = row.started_at + rate.seconds_paid(req.cumulative_amount - start)
                ch.last_cumulative = str(req.cumulative_amount)
                ch.last_signature = req.signature
                ch.last_seq = req.seq
                return m.VoucherAck(
                    seq=row.seq,
                    cumulative_amount=req.cumulative_amount,
                    served_until=int(row.served_until),
                    expires_at=int(row.served_until + row.grace_seconds),
                )

    async def stop(self, session_id: str) -> m.StopResponse:
        rt = self.rt
        async with self.lock:
            now = self.clock()
            with self.store.tx() as db:
                row, ch = self._load(db, session_id)
                self._expire_if_late(row, ch, now)
                if row.status == m.SessionStatus.live.value:
                    row.status = m.SessionStatus.ended.value
                    row.ended_at = min(now, max(row.served_until, row.started_at))
                    if ch.live_session_id == row.id:
                        ch.live_session_id = None
                if row.receipt_json is None:
                    ended = int(row.ended_at if row.ended_at is not None else now)
                    receipt = sign_model(
                        self.account,
                        unsigned(
                            m.Receipt,
                            session_id=row.id,
                            service_id=row.service_id,
                            channel_id=row.channel_id,
                            started_at=int(row.started_at),
                            ended_at=max(ended, int(row.started_at)),
                            seconds=max(0, ended - int(row.started_at)),
                            amount=int(row.cumulative) - int(row.start_cumulative),
                            final_cumulative=int(row.cumulative),
                        ),
                    )
                    row.receipt_json = receipt.model_dump_json(by_alias=True)
                receipt = m.Receipt.model_validate_json(row.receipt_json)
                channel = self._channel_of(ch)
                final = int(ch.last_cumulative)
        st = await self.channel_state(channel.id)
        sig = sign_close(self.account, rt.domain, channel, final, st.close_nonce)
        close = m.CloseAuth(
            channel_id="0x" + channel.id.hex(),
            final_amount=final,
            nonce=st.close_nonce,
            signature="0x" + sig.hex(),
        )
        return m.StopResponse(receipt=receipt, close=close)

    def session(self, session_id: str) -> m.SessionInfo:
        with self.store.tx() as db:
            row, ch = self._load(db, session_id)
            self._expire_if_late(row, ch, self.clock())
            return session_info(row)

    def content(self, session_id: str, token: str | None) -> m.ContentResponse:
        with self.store.tx() as db:
            row = db.get(SessionRow, session_id)
            if row is None or token is None or not secrets.compare_digest(row.access_token, token):
                raise ApiError(401, "bad_access_token", "missing or wrong access token")
            ch = db.get(ChannelRow, row.channel_id)
            self._expire_if_late(row, ch, self.clock())
            if row.status != m.SessionStatus.live.value:
                raise ApiError(410, "access_revoked", f"the session is {row.status}")
            return m.ContentResponse(
                session_id=row.id,
                served_until=int(row.served_until),
                payload=f"demo content for {row.service_id}",
            )

    async def channel_info(self, channel_id: str) -> m.ChannelInfo:
        with self.store.tx() as db:
            ch = db.get(ChannelRow, channel_id)
            if ch is None:
                raise ApiError(404, "unknown_channel", "this provider has no voucher for that channel")
            last = (
                m.LastVoucher(
                    cumulative_amount=int(ch.last_cumulative), signature=ch.last_signature, seq=ch.last_seq
                )
                if ch.last_signature
                else None
            )
            live = ch.live_session_id
        cid = bytes.fromhex(channel_id[2:])
        st = await self.channel_state(cid)
        return m.ChannelInfo(
            channel_id=channel_id,
            last_voucher=last,
            claimed=st.claimed,
            live_session_id=live,
            state=state_out(cid, st),
        )

    def sessions(self, *, payer: str | None = None, limit: int = 200) -> m.SessionList:
        self.expire_late_sessions()
        with self.store.tx() as db:
            query = select(SessionRow).order_by(SessionRow.started_at.desc()).limit(limit)
            if payer is not None:
                query = query.where(SessionRow.payer == payer)
            return m.SessionList(items=[session_info(r) for r in db.scalars(query)])


def receipt_from_json(text: str) -> m.Receipt:
    return m.Receipt.model_validate(json.loads(text))
