"""How a session starts in the reference provider: the first voucher judged against the channel's on-chain
funding with as few chain node calls as ``provider.start_guard`` allows, then the session's rows, its signed
Quote and its access. ``ProviderCore`` is built from this, ``SessionReads`` and ``SessionEnding``; the rules
every voucher keeps (a first one too) are in ``provider.core``'s docstring.

Rules of a start (server clock, injectable):

* A session starts only on a channel whose ``withdrawDelay`` leaves the claimer time to claim after it sees
  a withdrawal request (``ProviderConfig.min_withdraw_delay``), with a first voucher strictly above what the
  provider already holds or was paid for the channel (a voucher anyone has seen, e.g. in a claim
  transaction, starts nothing) and at most one tick above it. A first voucher that pays for less than one
  tick gets no grace: it buys exactly the seconds it pays.
* A channel with a signed Close takes no session until ``CLOSE_CLOCK_MARGIN`` after the Close's deadline.

Session starts need no proof beyond their voucher, so anybody's cost node calls only within bounds
(``provider.start_guard``: per client address, per channel; 429 ``too_many_starts`` past them): a start is
judged first on what needs no call (the head view's channel state, ECDSA, a contract signature approved
before), a channel the head view shows closed, unfunded or short is refused there (or on one ``latest`` read
per channel every ``start_latest_interval``: a deposit the head poll has not seen yet), and a contract
signer is asked (EIP-1271) last, only on a channel funded for the voucher (``_start_state``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.signing import sign_model, unsigned
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.chain_runtime import Runtime
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.row_models import channel_row, service_model, state_out
from paygo_desktop.provider.service_upstreams import gateway_service
from paygo_desktop.provider.start_guard import StartGuard, later
from paygo_desktop.provider.store import ChannelRow, ServiceRow, SessionRow, Store
from paygo_desktop.provider.voucher_signatures import Signed

# A channel with a signed Close takes no session until this long after the Close's deadline: the chain's
# block time may lag this provider's clock, and the Close must be dead on chain before a new voucher counts.
CLOSE_CLOCK_MARGIN = 120


class SessionStart:
    """The start of ``ProviderCore`` (what it uses of the core is declared here)."""

    if TYPE_CHECKING:
        config: ProviderConfig
        store: Store
        account: LocalAccount
        clock: Any
        vendor: m.VendorInfo
        start_guard: StartGuard

        @property
        def rt(self) -> Runtime: ...

        def _refuse_if_refused(self, channel_hex: str) -> None: ...

        def _expire_if_late(self, row: SessionRow, ch: ChannelRow | None, now: float) -> bool: ...

        def expiry_now(self) -> float: ...

        async def channel_state(
            self, channel_id: bytes, *, latest: bool = False, shared: bool = False
        ) -> ChannelState: ...

        async def voucher_signed(self, channel: Channel, amount: int, signature: str) -> Signed | None: ...

        def _unclaimed_refusal(
            self, channel_id: bytes, st: ChannelState, amount: int, rate: m.Rate
        ) -> ApiError | None: ...

    async def _start_state(
        self,
        channel_id: bytes,
        channel_hex: str,
        amount: int,
        known: int | None,
        tick_cost: int,
        client: str | None,
    ) -> tuple[ChannelState, bool]:
        """The channel's state for a start and whether it was read at ``latest`` just now; a channel not
        funded for the start is refused (``_funding_refusal``). As few node calls as it takes, each first
        allowed by ``start_guard`` (per client address, per channel):

        * the head view's state, when it holds one, costs nothing: a channel it shows closed is refused
          there, one it shows funded enough is started on it (within the age bound of every voucher check);
        * a channel not read at the head yet is read at ``latest`` (as every start was: a payer's first
          start after funding is answered by one fresh read), at most once per ``start_latest_interval``
          per channel (a start that succeeds gives its read back: ``start``), else at the head (kept for
          the block; callers at once share one read);
        * a state read at ``latest`` by a start of the last interval, at a block after the head's
          (``start_guard.later``: a deposit the head poll has not seen yet), is used instead of the head's;
        * a channel still shown not funded or short of escrow is read at ``latest`` on the same terms (the
          payer may have paid in a moment ago); otherwise that answer is given.
        """
        guard = self.start_guard
        st = self.rt.states.held(channel_id)
        fresh = False
        if st is None:
            guard.spend(client)
            fresh = guard.take_latest(channel_hex)
            st = await self.channel_state(channel_id, latest=fresh, shared=True)
        if fresh:
            guard.remember(channel_hex, st)
        else:
            seen = guard.seen(channel_hex)  # a read at latest a moment ago, at a block after the head's?
            if seen is not None and later(seen, st):
                st = seen
        refusal = _funding_refusal(st, channel_id, amount, known, tick_cost)
        if refusal is not None and refusal.code in _PAID_IN_SINCE and not fresh:
            guard.spend(client)
            fresh = guard.take_latest(channel_hex)
            if fresh:
                st = await self.channel_state(channel_id, latest=True, shared=True)
                guard.remember(channel_hex, st)
                refusal = _funding_refusal(st, channel_id, amount, known, tick_cost)
        if refusal is not None:
            raise refusal
        return st, fresh

    async def start(self, req: m.StartRequest, client: str | None = None) -> m.StartResponse:
        """Start a session on the request's first voucher. ``client``: the caller's address, whose starts
        may cause only so many node calls (``start_guard``). What needs no node call is checked first (the
        head view's channel state, ECDSA): a start on a channel the head shows unfunded, short or closed,
        or signed by a contract that has not approved this voucher before, costs a node call only within
        those bounds (``_start_state``; the EIP-1271 check last, on a channel funded for it)."""
        rt = self.rt
        with self.store.tx() as db:
            svc = db.get(ServiceRow, req.service_id)
            if svc is None or svc.deleted or not svc.is_active:
                raise ApiError(404, "unknown_service", "no such active service")
            service = service_model(svc, self.vendor)
            gateway = gateway_service(self.config, svc, svc.id)
        if service.rate.unit is m.RateUnit.per_request:
            raise ApiError(
                409, "per_request_service", "this service is paid per request with x402, not in sessions"
            )
        channel = req.channel.to_channel()
        if channel.provider != self.account.address:
            raise ApiError(400, "wrong_provider", "the channel's provider is not this provider's payTo")
        asset = self.config.asset_by_address(channel.token)
        if asset is None or asset.symbol != service.rate.asset:
            raise ApiError(400, "wrong_asset", f"this service is paid in {service.rate.asset}")
        if channel.withdraw_delay < self.config.min_withdraw_delay:
            raise ApiError(
                400,
                "withdraw_delay_too_short",
                f"this provider needs channels with a withdrawal delay of at least "
                f"{self.config.min_withdraw_delay} s, to claim before a withdrawal can be finalized",
            )
        cid = channel.id
        cid_hex = "0x" + cid.hex()
        self._refuse_if_refused(cid_hex)
        amount = req.voucher.cumulative_amount
        tick_cost = service.rate.cost(service.tick_seconds)
        with self.store.tx() as db:  # what this provider holds (read again under the channel's lock below)
            held = db.get(ChannelRow, cid_hex)
            cursor = int(held.last_cumulative) if held is not None and held.last_signature else None
        signed = rt.signatures.known(channel, amount, req.voucher.signature)
        if signed is None:
            self.start_guard.check_free(cid_hex)  # no chain read for a check that could not be made
        st, fresh = await self._start_state(cid, cid_hex, amount, cursor, tick_cost, client)
        if signed is None:  # only the signer contract can tell: one EIP-1271 call, within the bounds
            self.start_guard.spend(client)
            self.start_guard.signature_check(cid_hex)
            signed = await self.voucher_signed(channel, amount, req.voucher.signature)
        if signed is None:
            raise ApiError(400, "bad_signature", "the voucher is not signed by the channel's signer")
        if not fresh:
            # signed by the channel's signer: worth a read at latest (within the caller's budget), so a
            # channel closed, drained or asked back since the head view last read it is not started on
            self.start_guard.spend(client)
            st = await self.channel_state(cid, latest=True, shared=True)
            self.start_guard.remember(cid_hex, st)
        with self.store.tx() as db:
            self.store.lock(db, cid_hex)
            now = self.clock()
            ch = db.get(ChannelRow, cid_hex)
            if ch is not None and ch.live_session_id is not None:
                live = db.get(SessionRow, ch.live_session_id)
                if live is not None and not self._expire_if_late(live, ch, self.expiry_now()):
                    raise ApiError(409, "channel_busy", "this channel already has a live session")
            known = int(ch.last_cumulative) if ch is not None and ch.last_signature else None
            closing = ch.close_deadline if ch is not None else None
            if closing is not None and now <= closing + CLOSE_CLOCK_MARGIN:
                raise ApiError(
                    409, "channel_closing", f"a Close was signed for this channel: {_until(closing)}"
                )
            refusal = _funding_refusal(st, cid, amount, known, tick_cost) or _amount_refusal(
                st, amount, known, tick_cost
            )
            if refusal is not None:
                raise refusal
            if signed == "contract":
                refusal = self._unclaimed_refusal(cid, st, amount, service.rate)
                if refusal is not None:
                    raise refusal
            # the cursor this provider holds (after a settled stop it can be below what was claimed: the
            # difference was paid ahead and is credited to this session), else what was claimed
            baseline = known if known is not None else st.claimed
            session_id = "s_" + secrets.token_urlsafe(18)
            token = secrets.token_urlsafe(32)
            served_until = now + service.rate.seconds_paid(amount - baseline)
            # the grace is for late vouchers of a session that pays its ticks; one that pays less than a
            # tick up front (a budget below one tick) is served exactly what it paid
            grace = service.grace_seconds if amount - baseline >= tick_cost else 0
            if ch is None:
                ch = channel_row(channel)
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
                    grace_seconds=grace,
                    status=m.SessionStatus.live.value,
                    started_at=now,
                    served_until=served_until,
                    start_cumulative=str(baseline),
                    cumulative=str(amount),
                    seq=0,
                    access_token=token,
                )
            )
        if fresh:  # a payer's own start: its latest read does not count against the channel
            self.start_guard.give_back_latest(cid_hex)
        quote = sign_model(
            self.account,
            unsigned(
                m.Quote,
                session_id=session_id,
                service_id=service.id,
                rate=service.rate,
                tick_seconds=service.tick_seconds,
                grace_seconds=grace,
                chain_id=rt.domain.chain_id,
                vault=rt.domain.vault,
                channel_id=cid_hex,
                start_cumulative=baseline,
                issued_at=int(now),
            ),
        )
        base = self.config.public_base_url.rstrip("/")
        access = m.Access(
            url=base + routes.STREAM_CONTENT.format(session_id=session_id),
            token=token,
            expires_at=int(served_until + grace),
            service_url=None
            if gateway is None
            else base + routes.STREAM_ACCESS.format(session_id=session_id) + "/",
            delivery=None if gateway is None else m.Delivery(gateway.delivery),
            entry="" if gateway is None else gateway.entry,
        )
        return m.StartResponse(session_id=session_id, quote=quote, access=access)


_PAID_IN_SINCE = frozenset({"channel_not_funded", "insufficient_escrow"})  # a refusal a deposit may lift


def _funding_refusal(
    st: ChannelState, channel_id: bytes, amount: int, known: int | None, tick_cost: int
) -> ApiError | None:
    """A first voucher of ``amount`` against the channel's on-chain funding ``st`` (``known``: the cursor
    this provider holds for it, if any): closed, not funded, or short of escrow; None when funded for it."""
    if st.closed:
        return ApiError(409, "channel_closed", "this channel is closed: open the next one")
    if st.deposited == 0:
        return ApiError(402, "channel_not_funded", "the channel has no escrow", state_out(channel_id, st))
    # the cursor this provider holds (after a settled stop it can be below what was claimed: the difference
    # was paid ahead and is credited to this session), else what was claimed
    baseline = known if known is not None else st.claimed
    if st.coverage < baseline + tick_cost:
        return ApiError(
            402, "insufficient_escrow", "the escrow does not cover the first tick", state_out(channel_id, st)
        )
    if amount > st.coverage:
        return ApiError(
            402, "insufficient_escrow", "the escrow does not cover this voucher", state_out(channel_id, st)
        )
    return None


def _amount_refusal(st: ChannelState, amount: int, known: int | None, tick_cost: int) -> ApiError | None:
    """A first voucher must total more than what is held and paid, by at most one tick."""
    baseline = known if known is not None else st.claimed
    # strictly above what is held and what was paid: every voucher up to there may have been seen by others
    # (a claim transaction publishes it), and one equal to it would pay nothing
    floor = max(baseline, st.claimed)
    if amount <= floor:
        return ApiError(409, "stale_voucher", f"the first voucher must total more than {floor}")
    if amount > floor + tick_cost:
        return ApiError(422, "amount_exceeds_usage", "the first voucher may prepay at most one tick")
    return None


def _until(deadline: int) -> str:
    when = datetime.fromtimestamp(deadline + CLOSE_CLOCK_MARGIN, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"no new session on it until {when}"
