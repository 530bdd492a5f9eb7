"""Session logic of the reference provider: quotes, voucher checks, expiry, receipts and Close signatures.

Rules (server clock, injectable):

* A voucher is accepted only if it is a valid EIP-712 Voucher by the channel's signer (ECDSA, or for a
  contract signer its EIP-1271 ``isValidSignature``: provider.voucher_signatures), the channel is
  funded on chain with this provider, and ``cumulativeAmount <= deposited - withdrawn - pendingWithdraw``.
* Within a session, ``cumulativeAmount - startCumulative <= rate.cost(ceil(elapsed)) + rate.cost(tick)``.
* ``servedUntil = startedAt + seconds paid``; the session expires (access revoked) once
  ``now > servedUntil + graceSeconds``. Checked by a background task and lazily on each request.
* Stop settles a live session at the payer's final voucher for exactly its metered cost, which may be
  below the vouchers signed one tick ahead, when it covers the seconds counted here (``_settle``). The
  channel's cursor moves down to it; the next session starts from the cursor (else from what is claimed).

Concurrency and chain reads: the voucher signature is checked before any lock; sessions of different
channels run concurrently (one asyncio lock per channel). The channel's on-chain state is cached
(``ChainStateCache``) and trusted only while the claimer's vault-event watch is live: every event that
can lower a channel's coverage (WithdrawRequested, Withdrawn, Closed) drops its entry, and a voucher
above the cached coverage (e.g. after a top-up) triggers a fresh chain read before it is refused. So a
voucher is never accepted beyond ``escrow - pendingWithdraw`` as last known, and a withdrawal request is
reflected within one event poll. ``start`` and ``stop`` always read the chain. Every chain read of a
channel is one raw ``eth_call`` (``chain.channel_state_reader``), never a cached answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from sqlalchemy import and_, select

from paygo_desktop.chain.vault import ChannelState, VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, sign_close
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.signing import sign_model, unsigned
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.store import ChannelRow, ServiceRow, SessionRow, Store, channel_of
from paygo_desktop.provider.voucher_signatures import VoucherSignatures

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


class ChainStateCache:
    """Last known on-chain state per channel, usable only while the vault-event watch is live.

    The watcher (``Claimer.poll_withdrawals``) calls ``polled()`` after each successful poll and
    ``invalidate()`` with the channels of every event it read. ``get`` returns nothing while the watch
    is not live (never started, or no successful poll for ``stale_after`` seconds). A chain read stores
    its result only if no invalidation happened while it was in flight (``epoch``), so a read that
    started before an event cannot outlive the event's invalidation.
    """

    MAX_ENTRIES = 100_000

    def __init__(self, stale_after: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.stale_after = stale_after
        self.monotonic = monotonic
        self._states: dict[bytes, ChannelState] = {}
        self._epoch = 0
        self._live_until = -math.inf

    @property
    def live(self) -> bool:
        return self.monotonic() < self._live_until

    @property
    def epoch(self) -> int:
        return self._epoch

    def polled(self) -> None:
        """The watcher read the vault's events up to the latest block."""
        if not self.live:  # (re)starting: forget everything, void the reads in flight
            self._states.clear()
            self._epoch += 1
        self._live_until = self.monotonic() + self.stale_after

    def invalidate(self, channel_ids: Iterable[bytes]) -> None:
        for cid in channel_ids:
            self._states.pop(cid, None)
        self._epoch += 1

    def get(self, channel_id: bytes) -> ChannelState | None:
        return self._states.get(channel_id) if self.live else None

    def put(self, channel_id: bytes, st: ChannelState, epoch: int) -> None:
        if epoch != self._epoch or not self.live:
            return
        if len(self._states) >= self.MAX_ENTRIES:
            self._states.clear()
        self._states[channel_id] = st


@dataclass(frozen=True)
class _SessionMeta:
    """What never changes about a session: its channel."""

    channel: Channel
    channel_id: bytes
    channel_hex: str


class ChannelStates(Protocol):
    """Fresh on-chain channel states (``chain.channel_state_reader.ChannelStateReader`` when served)."""

    async def channel_state(self, channel_id: bytes) -> ChannelState: ...


@dataclass
class Runtime:
    """Chain-side objects, created inside the server's event loop (lifespan)."""

    vault: VaultClient
    domain: VaultDomain
    states: ChannelStates
    signatures: VoucherSignatures = field(init=False)

    def __post_init__(self) -> None:
        self.signatures = VoucherSignatures(self.vault, self.domain)


class ProviderCore:
    def __init__(self, config: ProviderConfig, store: Store, account: LocalAccount, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.account = account
        self.clock = clock
        self.runtime: Runtime | None = None
        self.chain = ChainStateCache(stale_after=3 * config.event_poll_interval + 2)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._meta: dict[str, _SessionMeta] = {}
        self.vendor = m.VendorInfo(name=config.name, address=account.address)

    # ------------------------------------------------------------------ chain helpers

    @property
    def rt(self) -> Runtime:
        if self.runtime is None:
            raise ApiError(503, "chain_unavailable", "the provider is not connected to its chain yet")
        return self.runtime

    async def channel_state(self, channel_id: bytes) -> ChannelState:
        try:
            return await self.rt.states.channel_state(channel_id)
        except ApiError:
            raise
        except Exception as exc:
            log.warning("channel_state failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot reach its chain node") from None

    async def fresh_state(self, channel_id: bytes) -> ChannelState:
        """Read the channel from the chain and remember it (unless an event arrived meanwhile)."""
        epoch = self.chain.epoch
        st = await self.channel_state(channel_id)
        self.chain.put(channel_id, st, epoch)
        return st

    async def voucher_signed(self, channel: Channel, amount: int, signature: str) -> bool:
        """ECDSA by the channel's signer, or (a contract signer) its EIP-1271 approval, read on chain."""
        try:
            return await self.rt.signatures.valid(channel, amount, signature)
        except ApiError:
            raise
        except Exception as exc:
            log.warning("EIP-1271 signature check failed: %r", exc)
            raise ApiError(
                503, "chain_unavailable", "the provider cannot reach its chain node to check the signature"
            ) from None

    def channel_lock(self, channel_hex: str) -> asyncio.Lock:
        lock = self._locks.get(channel_hex)
        if lock is None:
            lock = self._locks[channel_hex] = asyncio.Lock()
        return lock

    def _session_meta(self, session_id: str) -> _SessionMeta:
        meta = self._meta.get(session_id)
        if meta is None:
            with self.store.tx() as db:
                _, ch = self._load(db, session_id)
                channel = channel_of(ch)
            meta = _SessionMeta(channel=channel, channel_id=channel.id, channel_hex=ch.id)
            if len(self._meta) >= 100_000:
                self._meta.clear()
            self._meta[session_id] = meta
        return meta

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
            due = select(SessionRow).where(
                and_(
                    SessionRow.status == m.SessionStatus.live.value,
                    SessionRow.served_until + SessionRow.grace_seconds < now,
                )
            )
            for row in db.scalars(due):
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
        if not await self.voucher_signed(channel, amount, req.voucher.signature):
            raise ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
        async with self.channel_lock(cid_hex):
            now = self.clock()
            with self.store.tx() as db:
                ch = db.get(ChannelRow, cid_hex)
                if ch is not None and ch.live_session_id is not None:
                    live = db.get(SessionRow, ch.live_session_id)
                    if live is not None and not self._expire_if_late(live, ch, now):
                        raise ApiError(409, "channel_busy", "this channel already has a live session")
                known = int(ch.last_cumulative) if ch is not None and ch.last_signature else None
            st = await self.fresh_state(cid)
            if st.deposited == 0:
                raise ApiError(402, "channel_not_funded", "the channel has no escrow", state_out(cid, st))
            # the cursor this provider holds (after a settled stop it can be below what was claimed: the
            # difference was paid ahead and is credited to this session), else what was claimed
            baseline = known if known is not None else st.claimed
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

    async def voucher(self, session_id: str, req: m.VoucherRequest) -> m.VoucherAck:
        self.rt  # noqa: B018 - 503 when not connected
        meta = self._session_meta(session_id)
        # the costly part (ECDSA recovery, or a contract wallet's EIP-1271 answer) runs before any lock; its
        # verdict is applied in rule order below
        sig_ok = await self.voucher_signed(meta.channel, req.cumulative_amount, req.signature)
        async with self.channel_lock(meta.channel_hex):
            st = self.chain.get(meta.channel_id)
            fresh = False
            if st is None:  # nothing trusted for this channel (or the event watch is not live)
                st = await self.fresh_state(meta.channel_id)
                fresh = True
            while True:
                result = self._apply_voucher(session_id, req, sig_ok, meta.channel_id, st, fresh)
                if isinstance(result, m.VoucherAck):
                    return result
                if isinstance(result, ApiError):
                    raise result
                # above the last known coverage (or nothing known): ask the chain once, then decide
                st = await self.fresh_state(meta.channel_id)
                fresh = True

    def _apply_voucher(
        self,
        session_id: str,
        req: m.VoucherRequest,
        sig_ok: bool,
        cid: bytes,
        st: ChannelState | None,
        fresh: bool,
    ) -> m.VoucherAck | ApiError | None:
        """One transaction: the checks, then the write. None: a fresh chain state is needed first.

        Errors are returned, not raised, so that an expiry noticed here is committed.
        """
        now = self.clock()
        with self.store.tx() as db:
            row, ch = self._load(db, session_id)
            self._expire_if_late(row, ch, now)
            if row.status != m.SessionStatus.live.value:
                return ApiError(410, "session_over", f"the session is {row.status}")
            start, last = int(row.start_cumulative), int(row.cumulative)
            if req.seq <= row.seq:
                return ApiError(409, "seq_not_monotonic", f"seq must be greater than {row.seq}")
            if req.cumulative_amount < last:
                return ApiError(409, "amount_not_monotonic", f"cumulativeAmount must be at least {last}")
            if not sig_ok:
                return ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
            rate = session_rate(row)
            elapsed = max(0, math.ceil(now - row.started_at))
            allowed = start + rate.cost(elapsed) + rate.cost(row.tick_seconds)
            if req.cumulative_amount > allowed:
                return ApiError(
                    422,
                    "amount_exceeds_usage",
                    f"at most {allowed} may be signed for so far (rate x time + a tick)",
                )
            if st is None or req.cumulative_amount > coverage(st):
                if not fresh or st is None:
                    return None
                return ApiError(
                    402, "insufficient_escrow", "the escrow does not cover this voucher", state_out(cid, st)
                )
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

    async def stop(self, session_id: str, final: m.VoucherRequest | None = None) -> m.StopResponse:
        """End a session: its signed receipt and a Close for the channel's cursor.

        ``final``, the payer's voucher for exactly its metered cost, settles a live session at that total
        (see ``_settle``); without it the session is billed at the highest voucher held.
        """
        rt = self.rt
        meta = self._session_meta(session_id)
        sig_ok = final is None or await self.voucher_signed(
            meta.channel, final.cumulative_amount, final.signature
        )
        async with self.channel_lock(meta.channel_hex):
            now = self.clock()
            with self.store.tx() as db:
                row, ch = self._load(db, session_id)
                self._expire_if_late(row, ch, now)
                if row.status == m.SessionStatus.live.value:
                    if final is not None:
                        self._settle(row, ch, final, sig_ok, now)
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
                            # the seconds paid for: an expired session's grace is not service
                            seconds=max(0, min(ended, int(row.served_until)) - int(row.started_at)),
                            amount=int(row.cumulative) - int(row.start_cumulative),
                            final_cumulative=int(row.cumulative),
                        ),
                    )
                    row.receipt_json = receipt.model_dump_json(by_alias=True)
                receipt = m.Receipt.model_validate_json(row.receipt_json)
                channel = channel_of(ch)
                final_amount = int(ch.last_cumulative)
        st = await self.channel_state(channel.id)
        sig = sign_close(self.account, rt.domain, channel, final_amount, st.close_nonce)
        close = m.CloseAuth(
            channel_id="0x" + channel.id.hex(),
            final_amount=final_amount,
            nonce=st.close_nonce,
            signature="0x" + sig.hex(),
        )
        return m.StopResponse(receipt=receipt, close=close)

    def _settle(
        self, row: SessionRow, ch: ChannelRow, final: m.VoucherRequest, sig_ok: bool, now: float
    ) -> None:
        """Take the payer's final voucher as the live session's total, or raise a 4xx saying why not.

        It must be signed by the channel's signer, come after the last voucher, lie between the session's
        start and the most already signed (a final voucher pays no more than the vouchers did), and cover
        the seconds this provider counted, less ``settle_tolerance_seconds`` for the payer's meter
        starting one round trip later and stopping one earlier. It then becomes the channel's cursor:
        the voucher signed one tick ahead is never claimed, and the next session on the channel starts
        from this total (if that voucher was claimed already, the next session's first seconds are the
        credit).
        """
        start, last = int(row.start_cumulative), int(row.cumulative)
        if not sig_ok:
            raise ApiError(400, "bad_signature", "the final voucher is not signed by the channel's signer")
        if final.seq <= row.seq:
            raise ApiError(409, "seq_not_monotonic", f"seq must be greater than {row.seq}")
        if not start <= final.cumulative_amount <= last:
            raise ApiError(
                422,
                "final_voucher_out_of_range",
                f"the final voucher must total between {start} and {last}, what the vouchers signed",
            )
        rate = session_rate(row)
        counted = max(0, math.floor(min(now, row.served_until) - row.started_at))
        owed = rate.cost(max(0, counted - self.config.settle_tolerance_seconds))
        if final.cumulative_amount - start < owed:
            raise ApiError(
                422,
                "final_voucher_too_low",
                f"the final voucher pays for less than the {counted} s counted (at least {start + owed})",
            )
        row.seq = final.seq
        row.cumulative = str(final.cumulative_amount)
        row.served_until = row.started_at + rate.seconds_paid(final.cumulative_amount - start)
        ch.last_cumulative = str(final.cumulative_amount)
        ch.last_signature = final.signature
        ch.last_seq = final.seq

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
