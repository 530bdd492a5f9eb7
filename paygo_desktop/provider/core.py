"""Session logic of the reference provider: a running session's voucher checks and its expiry, and what
the session code shares (chain reads, request proofs, the refused channels). ``ProviderCore`` is this with
the start (its funding checks, the Quote: ``provider.session_start``), the reads (``provider.session_reads``)
and stop, its receipt and the Close (``provider.session_ending``).

A Close is signed only on the payer's request (``close``), never with a stop: it carries a deadline, and
the channel takes no session until that deadline has passed.

Rules (server clock, injectable):

* A voucher is accepted only if it is a valid EIP-712 Voucher by the channel's signer (ECDSA, or for a
  contract signer its EIP-1271 ``isValidSignature`` asked as the vault asks it: provider.voucher_signatures),
  the channel is funded on chain with this provider, the vault has not refused the channel's signatures
  (``Store.refuse_channel``, by the claimer), and ``cumulativeAmount <= deposited - withdrawn -
  pendingWithdraw`` read from the chain for that voucher.
* A session starts only on a channel funded for its first voucher, within one tick above what the provider
  holds or was paid for the channel (the rules of a start: ``provider.session_start``).
* Within a session, ``cumulativeAmount - startCumulative <= rate.cost(ceil(elapsed)) + rate.cost(tick)``.
* A voucher (a first one too) signed by a contract (EIP-1271) totals at most
  ``max_unclaimed_contract_signed`` seconds of service at the session's rate above what the vault has paid
  out for the channel (``claimed`` at the head): past it 409 ``unclaimed_limit`` until a claim lands (no
  eth_call proves the wallet lets the claim through; the claimer claims such vouchers every
  ``contract_signer_claim_interval``).
* ``servedUntil = startedAt + seconds paid``; the session expires (access revoked) once
  ``now > servedUntil + graceSeconds``. Checked by a background task and lazily on each request.
* Stop needs proof that the caller acts for the payer (``Proof``): the session's access token, a request
  signed by the channel's payer or signer, or a new final voucher by the signer. It settles a live session
  at the payer's final voucher for exactly its metered cost, which may be below the vouchers signed one
  tick ahead, when it covers the seconds counted here (``_settle``). The channel's cursor moves down to
  it; the next session starts from the cursor (else from what is claimed).
* ``GET /channels/{id}`` shows the voucher signature and the live session id only to the channel's payer
  or signer (a signed request); anybody else learns nothing they could act on.

Concurrency. Awaited work (the signature check, chain reads) comes first; then each operation is one
database transaction that takes its channel's lock (``Store.lock``: a PostgreSQL advisory lock, so
several worker processes serialise a channel's start, vouchers, stop, close and expiry in the database;
nothing session-critical lives in one process's memory), re-reads the rows, checks and writes. Sessions
of different channels run concurrently. ``_session_meta`` only caches what never changes (a session's
channel); the refused channels are read from the database in the voucher's own transaction.

Chain reads. Every voucher with a valid signature is checked against its channel's on-chain state at the
chain's head (``provider.chain_view``: read once per channel per block, dropped when a new head is seen,
at most ``2 × head_poll_interval`` stale), so a withdrawal request lowers the coverage of every voucher
checked once the provider has seen its block. ``stop`` and ``close`` read the same way.

Session starts need no proof beyond their voucher; the node calls anybody's starts may cause are bounded
(``provider.session_start``, ``provider.start_guard``).

Lateness (``provider.load``). A voucher is judged on when it reached the provider (``queued``: the seconds
it waited here before being handled), never on when a busy worker got to it; the expiry sweep holds back
by the queueing of every live worker (``slack``), so a session paying on time is never expired because
the provider was slow.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import and_, select

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.auth import AuthMessage
from paygo_desktop.provider.api_error import ApiError, channel_refused
from paygo_desktop.provider.chain_runtime import Runtime
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.load import arrival
from paygo_desktop.provider.row_models import state_out
from paygo_desktop.provider.session_ending import SessionEnding
from paygo_desktop.provider.session_reads import SessionMeta, SessionReads, ZcashAccess
from paygo_desktop.provider.session_start import SessionStart
from paygo_desktop.provider.start_guard import StartGuard
from paygo_desktop.provider.store import (
    ChannelRow,
    RefusedChannelRow,
    SessionRow,
    Store,
    channel_of,
)
from paygo_desktop.provider.voucher_signatures import Signed
from paygo_desktop.provider.voucher_sql import (
    EXPIRE_SESSION,
    FREE_CHANNEL,
    LIVE,
    SET_CHANNEL,
    SET_SESSION,
    VOUCHER_ROW,
    VoucherRow,
)

log = logging.getLogger(__name__)
Clock = Callable[[], float]


NONCES_PER_WALLET = 300  # unexpired auth nonces one wallet may hold (the provider's own key: no limit)
# unexpired auth nonces of all wallets but the provider's, past which only wallets with a stake here (a
# channel, an accepted job: Store.has_stake) may sign requests: keys made up for nothing lock no one out
NONCES_IN_ALL = 20_000


class ProviderCore(SessionStart, SessionReads, SessionEnding):
    def __init__(self, config: ProviderConfig, store: Store, account: LocalAccount, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.account = account
        self.clock = clock
        self.runtime: Runtime | None = None
        self._meta: dict[str, SessionMeta] = {}  # a cache of what never changes: a session's channel
        self.vendor = m.VendorInfo(name=config.name, address=account.address)
        # seconds the expiry sweep holds back for vouchers that arrived but wait in some worker
        # (provider.load.LoadMonitor.slack when served)
        self.slack: Callable[[], float] = lambda: 0.0
        self.zcash_access: ZcashAccess | None = None  # set when the provider takes Zcash permissions
        # the node calls session starts may cause, per client address and per channel
        self.start_guard = StartGuard(config.start_node_calls_per_client, config.start_latest_interval)

    # ------------------------------------------------------------------ chain helpers

    @property
    def rt(self) -> Runtime:
        if self.runtime is None:
            raise ApiError(503, "chain_unavailable", "the provider is not connected to its chain yet")
        return self.runtime

    async def channel_state(
        self, channel_id: bytes, *, latest: bool = False, shared: bool = False
    ) -> ChannelState:
        """The channel's state at the head (``chain_view``), or at ``latest`` (a fresh read; ``shared``: one
        on its way for another caller will do)."""
        try:
            return await self.rt.states.channel_state(channel_id, latest=latest, shared=shared)
        except ApiError:
            raise
        except Exception as exc:
            log.warning("channel_state failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot reach its chain node") from None

    async def voucher_signed(self, channel: Channel, amount: int, signature: str) -> Signed | None:
        """``"ecdsa"`` by the channel's signer, or ``"contract"`` (a contract signer's EIP-1271 approval,
        read on chain); None when neither."""
        try:
            return await self.rt.signatures.check(channel, amount, signature)
        except ApiError:
            raise
        except Exception as exc:
            log.warning("EIP-1271 signature check failed: %r", exc)
            raise ApiError(
                503, "chain_unavailable", "the provider cannot reach its chain node to check the signature"
            ) from None

    # ------------------------------------------------------------------ proofs

    def spend_nonce(self, msg: AuthMessage) -> None:
        """Record a checked request signature's nonce (once only). Wallets other than the provider's own
        key hold at most ``NONCES_PER_WALLET`` unexpired nonces each; past ``NONCES_IN_ALL`` in all, only
        those with a stake here may add one (``Store.use_nonce``)."""
        vendor = msg.address == self.account.address
        status = self.store.use_nonce(
            msg.nonce,
            msg.address,
            msg.expires_at,
            int(time.time()),  # the messages' own clock: real time, like their check (not the session clock)
            per_address=None if vendor else NONCES_PER_WALLET,
            total=None if vendor else NONCES_IN_ALL,
        )
        if status == "reused":
            raise ApiError(401, "nonce_reused", "this auth nonce was already used")
        if status == "busy":
            raise ApiError(429, "too_many_requests", "too many signed requests lately; try again in a minute")

    def _prove_party(self, channel: Channel, msg: AuthMessage) -> None:
        """The request is signed by the channel's payer or signer (403 otherwise); its nonce is spent."""
        if msg.address not in (channel.payer, channel.effective_signer):
            raise ApiError(
                403, "not_channel_party", "the request is not signed by this channel's payer or signer"
            )
        self.spend_nonce(msg)

    def end_refused(self, channel_id: str) -> None:
        """The vault refused this channel's signatures (the claimer recorded it): its live session ends."""
        now = self.clock()
        with self.store.tx() as db:
            self.store.lock(db, channel_id)
            ch = db.get(ChannelRow, channel_id)
            if ch is None or ch.live_session_id is None:
                return
            row = db.get(SessionRow, ch.live_session_id)
            ch.live_session_id = None
            if row is not None and row.status == m.SessionStatus.live.value:
                row.status = m.SessionStatus.ended.value
                row.ended_at = min(now, max(row.served_until, row.started_at))
                log.warning("session %s ended: the vault refuses its channel's signatures", row.id)

    def _refuse_if_refused(self, channel_hex: str) -> None:
        with self.store.tx() as db:
            if db.get(RefusedChannelRow, channel_hex) is not None:
                raise channel_refused()

    def _session_meta(self, session_id: str) -> SessionMeta:
        meta = self._meta.get(session_id)
        if meta is None:
            with self.store.tx() as db:
                _, ch = self._load(db, session_id)
                channel = channel_of(ch)
            meta = SessionMeta(channel=channel, channel_id=channel.id, channel_hex=ch.id)
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

    def expiry_now(self) -> float:
        """The session clock's now, less the time a voucher that arrived may still wait in some worker
        (``slack``): a session is expired only when it was late by then."""
        return self.clock() - max(0.0, self.slack())

    def expire_late_sessions(self) -> int:
        """Expire the live sessions whose last voucher ran out (each in its channel's transaction)."""
        now = self.expiry_now()
        with self.store.tx() as db:
            due = db.execute(
                select(SessionRow.id, SessionRow.channel_id).where(
                    and_(
                        SessionRow.status == m.SessionStatus.live.value,
                        SessionRow.served_until + SessionRow.grace_seconds < now,
                    )
                )
            ).all()
        count = 0
        for session_id, channel_id in due:
            with self.store.tx() as db:
                self.store.lock(db, channel_id)
                row = db.get(SessionRow, session_id)
                if row is not None:
                    count += self._expire_if_late(row, db.get(ChannelRow, channel_id), now)
        return count

    # ------------------------------------------------------------------ vouchers

    def _load(self, db: Any, session_id: str) -> tuple[SessionRow, ChannelRow]:
        row = db.get(SessionRow, session_id)
        if row is None:
            raise ApiError(404, "unknown_session", "no such session")
        ch = db.get(ChannelRow, row.channel_id)
        assert ch is not None
        return row, ch

    async def voucher(self, session_id: str, req: m.VoucherRequest, queued: float = 0.0) -> m.VoucherAck:
        """Take a session's next voucher. ``queued``: the seconds it waited in this provider before it was
        handled (provider.load); its lateness is judged at its arrival, ``now - queued``."""
        self.rt  # noqa: B018 - 503 when not connected
        meta = self._session_meta(session_id)
        # the costly part (ECDSA recovery, or a contract wallet's EIP-1271 answer) and the chain read run
        # before the transaction; the verdicts are applied in rule order there (a forged voucher costs no
        # chain read: it is refused without the state)
        signed = await self.voucher_signed(meta.channel, req.cumulative_amount, req.signature)
        st = await self.channel_state(meta.channel_id) if signed else None
        if st is not None and req.cumulative_amount > st.coverage:
            # the head's state may be a block behind a top-up: refuse only on a fresh read
            st = await self.channel_state(meta.channel_id, latest=True)
        result = self._apply_voucher(session_id, req, signed, meta, st, queued)
        if isinstance(result, ApiError):
            raise result
        return result

    def _apply_voucher(
        self,
        session_id: str,
        req: m.VoucherRequest,
        signed: Signed | None,
        meta: SessionMeta,
        st: ChannelState | None,
        queued: float,
    ) -> m.VoucherAck | ApiError:
        """One transaction under the channel's lock: the checks, then the write (``st``: the channel's
        state at the head; None only for a voucher with a bad signature, refused before the coverage is
        looked at; ``signed``: how its signature is valid, a contract's capped by
        ``max_unclaimed_contract_signed``). It goes straight through the database driver
        (``Store.hot_tx``): one read, two writes.

        Errors are returned, not raised, so that an expiry noticed here is committed.
        """
        with self.store.hot_tx(meta.channel_hex, VOUCHER_ROW, {"sid": session_id}) as tx:
            now = self.clock()
            arrived = arrival(now, queued)
            if tx.row is None:
                return ApiError(404, "unknown_session", "no such session")
            row = VoucherRow(*tx.row)
            if row.refused is not None:
                return channel_refused()
            status = row.status
            deadline = row.served_until + row.grace_seconds
            if status == LIVE and arrived > deadline:
                tx.write(EXPIRE_SESSION, {"sid": session_id, "ended": deadline})
                tx.write(FREE_CHANNEL, {"cid": row.channel_id, "sid": session_id})
                log.info("session %s expired: no voucher in time", session_id)
                status = m.SessionStatus.expired.value
            if status != LIVE:
                return ApiError(410, "session_over", f"the session is {status}")
            start, last = int(row.start_cumulative), int(row.cumulative)
            if req.seq <= row.seq:
                return ApiError(409, "seq_not_monotonic", f"seq must be greater than {row.seq}")
            if req.cumulative_amount < last:
                return ApiError(409, "amount_not_monotonic", f"cumulativeAmount must be at least {last}")
            if signed is None:
                return ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
            rate = m.Rate(amount=int(row.rate_amount), asset=row.asset, unit=m.RateUnit(row.rate_unit))
            # what may be signed for grows with time: counted up to now (lateness, above, at the arrival)
            elapsed = max(0, math.ceil(now - row.started_at))
            allowed = start + rate.cost(elapsed) + rate.cost(row.tick_seconds)
            if req.cumulative_amount > allowed:
                return ApiError(
                    422,
                    "amount_exceeds_usage",
                    f"at most {allowed} may be signed for so far (rate x time + a tick)",
                )
            assert st is not None
            if req.cumulative_amount > st.coverage:
                return ApiError(
                    402,
                    "insufficient_escrow",
                    "the escrow does not cover this voucher",
                    state_out(meta.channel_id, st),
                )
            if signed == "contract":
                refusal = self._unclaimed_refusal(meta.channel_id, st, req.cumulative_amount, rate)
                if refusal is not None:
                    return refusal
            served_until = row.started_at + rate.seconds_paid(req.cumulative_amount - start)
            amount = str(req.cumulative_amount)
            values = {
                "sid": session_id,
                "cid": meta.channel_hex,
                "seq": req.seq,
                "cum": amount,
                "until": served_until,
                "sig": req.signature,
            }
            tx.write(SET_SESSION, values)
            tx.write(SET_CHANNEL, values)
            return m.VoucherAck(
                seq=req.seq,
                cumulative_amount=req.cumulative_amount,
                served_until=int(served_until),
                expires_at=int(served_until + row.grace_seconds),
            )

    def _unclaimed_refusal(
        self, channel_id: bytes, st: ChannelState, amount: int, rate: m.Rate
    ) -> ApiError | None:
        """A contract-signed voucher may total at most ``max_unclaimed_contract_signed`` seconds of service
        (at ``rate``) above what the vault has paid out for its channel: no eth_call proves the wallet will
        let the claim through, so what rides on its signatures is capped until a claim lands (the claimer
        claims contract-signed vouchers every ``contract_signer_claim_interval``). None when within."""
        seconds = self.config.max_unclaimed_contract_signed
        cap = rate.cost(seconds)
        if amount - st.claimed <= cap:
            return None
        return ApiError(
            409,
            "unclaimed_limit",
            f"this channel's signer is a contract: its vouchers may total at most {cap} base units "
            f"({seconds} s of service) above what the vault has paid out ({st.claimed}); this one is taken "
            f"once a claim of the channel lands (about every "
            f"{math.ceil(self.config.contract_signer_claim_interval)} s)",
            state_out(channel_id, st),
            headers={"Retry-After": str(max(1, math.ceil(self.config.contract_signer_claim_interval)))},
        )
