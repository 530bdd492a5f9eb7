"""How a session ends and a channel closes, in the reference provider: stop (its proof, the final voucher's
settlement, the signed receipt) and the Close signed on the payer's request. ``ProviderCore`` is built from
this, ``SessionStart`` and ``SessionReads``; the rules are in ``provider.core``'s docstring.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import Channel, sign_close
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.auth import AuthMessage
from paygo_desktop.protocol.signing import sign_model, unsigned
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.chain_runtime import Runtime
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.load import arrival
from paygo_desktop.provider.proofs import Proof, same_token
from paygo_desktop.provider.row_models import channel_row, session_rate
from paygo_desktop.provider.session_reads import SessionMeta
from paygo_desktop.provider.store import ChannelRow, SessionRow, Store
from paygo_desktop.provider.voucher_signatures import Signed

log = logging.getLogger(__name__)


class SessionEnding:
    """Stop and Close of ``ProviderCore`` (what they use of the core is declared here)."""

    if TYPE_CHECKING:
        config: ProviderConfig
        store: Store
        account: LocalAccount
        clock: Any

        @property
        def rt(self) -> Runtime: ...

        def _session_meta(self, session_id: str) -> SessionMeta: ...

        def _load(self, db: Any, session_id: str) -> tuple[SessionRow, ChannelRow]: ...

        def _expire_if_late(self, row: SessionRow, ch: ChannelRow | None, now: float) -> bool: ...

        def expiry_now(self) -> float: ...

        def _prove_party(self, channel: Channel, msg: AuthMessage) -> None: ...

        async def channel_state(self, channel_id: bytes, *, latest: bool = False) -> ChannelState: ...

        async def voucher_signed(self, channel: Channel, amount: int, signature: str) -> Signed | None: ...

    async def _authorize_stop(
        self, meta: SessionMeta, session_id: str, proof: Proof, final: m.VoucherRequest | None, sig_ok: bool
    ) -> None:
        """Stopping a session takes its access token, a request signed by the channel's payer or signer,
        or a final voucher by the signer that nobody else can have seen: above what was claimed on chain
        (a claim transaction publishes its vouchers). 401 without any of them."""
        with self.store.tx() as db:
            row, ch = self._load(db, session_id)
            token_ok = same_token(row.access_token, proof.token)
            claimed_here = int(ch.claimed_cumulative)
        if token_ok:
            return
        if proof.wallet is not None:
            self._prove_party(meta.channel, proof.wallet)
            return
        if final is not None and sig_ok:
            st = await self.channel_state(meta.channel_id, latest=True)
            if final.cumulative_amount > max(st.claimed, claimed_here):
                return
            raise ApiError(
                401,
                "proof_required",
                "a final voucher at or below what was claimed on chain proves nothing (claimed vouchers are "
                "public); send the session's access token or a request signed by the channel's payer",
            )
        raise ApiError(
            401,
            "proof_required",
            "stopping a session takes its access token (Authorization: Bearer), a request signed by the "
            "channel's payer or signer, or a new final voucher signed by the channel's signer",
        )

    async def stop(
        self,
        session_id: str,
        final: m.VoucherRequest | None = None,
        proof: Proof | None = None,
        queued: float = 0.0,
    ) -> m.StopResponse:
        """End a session: its signed receipt (a Close is asked for separately: ``close``).

        ``proof`` shows the caller acts for the payer (``_authorize_stop``; 401 without). ``final``, the
        payer's voucher for exactly its metered cost, settles a live session at that total (see
        ``_settle``); without it the session is billed at the highest voucher held. ``queued``: as for
        ``voucher``, the stop is judged at its arrival.
        """
        self.rt  # noqa: B018 - 503 when not connected
        meta = self._session_meta(session_id)
        sig_ok = final is None or (
            await self.voucher_signed(meta.channel, final.cumulative_amount, final.signature) is not None
        )
        await self._authorize_stop(meta, session_id, proof or Proof(), final, sig_ok)
        with self.store.tx() as db:
            self.store.lock(db, meta.channel_hex)
            now = arrival(self.clock(), queued)
            row, ch = self._load(db, session_id)
            self._expire_if_late(row, ch, now)
            if row.status == m.SessionStatus.live.value:
                if final is not None:
                    self._settle(db, row, ch, final, sig_ok, now)
                row.status = m.SessionStatus.ended.value
                row.ended_at = min(now, max(row.served_until, row.started_at))
                if ch.live_session_id == row.id:
                    ch.live_session_id = None
            if row.receipt_json is None:
                ended_at = row.ended_at if row.ended_at is not None else now
                ended = int(ended_at)
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
                        # (whole seconds of the time between them: each end cut to a whole second apart
                        # could lose one, as a start and a stop judged at their arrival have fractions)
                        seconds=max(0, math.floor(min(ended_at, row.served_until) - row.started_at)),
                        amount=int(row.cumulative) - int(row.start_cumulative),
                        final_cumulative=int(row.cumulative),
                    ),
                )
                row.receipt_json = receipt.model_dump_json(by_alias=True)
            receipt = m.Receipt.model_validate_json(row.receipt_json)
        return m.StopResponse(receipt=receipt)

    def _settle(
        self,
        db: Session,
        row: SessionRow,
        ch: ChannelRow,
        final: m.VoucherRequest,
        sig_ok: bool,
        now: float,
    ) -> None:
        """Take the payer's final voucher as the live session's total, or raise a 4xx saying why not.

        It must be signed by the channel's signer, come after the last voucher, lie between the session's
        start and the most already signed (a final voucher pays no more than the vouchers did), and pay
        for the time this provider served, to the millisecond, less what the payer's meter could not have
        seen: it starts one round trip after this provider's count and stops one trip before. That
        shortfall is forgiven up to ``settle_tolerance_seconds`` for all of a channel's sessions that end
        within ``settle_tolerance_window`` together, not for each session: forgiven for each, a payer who
        stops and starts again every few seconds, each final voucher short by the tolerance, would be
        served for nothing. (An honest payer falls short by its round trips, a fraction of a second a
        session; past the allowance its final voucher is refused, and it stops without one, billed the
        voucher held, which it signed.) The voucher then becomes the channel's cursor: the voucher signed
        one tick ahead is never claimed, and the next session on the channel starts from this total (if
        that voucher was claimed already, the next session's first seconds are the credit).
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
        unit_ms = rate.unit.seconds * 1000
        served_ms = max(0, math.floor((min(now, row.served_until) - row.started_at) * 1000))
        paid_ms = (final.cumulative_amount - start) * unit_ms // rate.amount
        short_ms = max(0, served_ms - paid_ms)
        allowed_ms = self._tolerance_left_ms(db, row, now)
        if short_ms > allowed_ms:
            least = start + -(-rate.amount * (served_ms - allowed_ms) // unit_ms)
            raise ApiError(
                422,
                "final_voucher_too_low",
                f"the final voucher pays for less than the {served_ms / 1000:.3f} s served "
                f"(at least {least})",
            )
        row.forgiven_ms = short_ms
        row.seq = final.seq
        row.cumulative = str(final.cumulative_amount)
        row.served_until = row.started_at + rate.seconds_paid(final.cumulative_amount - start)
        ch.last_cumulative = str(final.cumulative_amount)
        ch.last_signature = final.signature
        ch.last_seq = final.seq

    def _tolerance_left_ms(self, db: Session, row: SessionRow, now: float) -> int:
        """What may still be forgiven of ``row``'s final voucher: the tolerance, less what the channel's
        sessions that ended within the window were forgiven."""
        since = now - self.config.settle_tolerance_window
        used = db.scalar(
            select(func.coalesce(func.sum(SessionRow.forgiven_ms), 0)).where(
                SessionRow.channel_id == row.channel_id,
                SessionRow.id != row.id,
                SessionRow.ended_at >= since,
            )
        )
        return max(0, self.config.settle_tolerance_seconds * 1000 - int(used or 0))

    async def close(self, channel_hex: str, channel: Channel, requester: str) -> m.CloseAuth:
        """Sign a Close for the channel at the cursor this provider holds (else at what is claimed on chain),
        valid for ``close_validity_seconds``, for its payer or signer (``requester``, authenticated).

        A Close says "this provider holds nothing above finalAmount". It stays true only while no session
        runs on the channel, so none may be live now, and none starts until the deadline has passed
        (``start``: 409 channel_closing). The vault needs the signer's own voucher for finalAmount too, so
        the payer never pays more than it signed; the deadline (no nonce) lets an unused Close die.
        """
        rt = self.rt
        cid = channel.id
        if "0x" + cid.hex() != channel_hex:
            raise ApiError(422, "channel_mismatch", "the channel's terms do not hash to the channel id")
        if channel.provider != self.account.address:
            raise ApiError(400, "wrong_provider", "the channel's provider is not this provider's payTo")
        if requester not in (channel.payer, channel.effective_signer):
            raise ApiError(403, "forbidden", "only the channel's payer or signer may ask for its Close")
        st = await self.channel_state(cid, latest=True)
        # one transaction under the channel's lock: no session may start between the check and the record
        with self.store.tx() as db:
            self.store.lock(db, channel_hex)
            now = self.clock()
            ch = db.get(ChannelRow, channel_hex)
            if ch is not None and ch.live_session_id is not None:
                live = db.get(SessionRow, ch.live_session_id)
                if live is not None and not self._expire_if_late(live, ch, self.expiry_now()):
                    raise ApiError(409, "channel_busy", "the channel has a live session: stop it first")
            held = int(ch.last_cumulative) if ch is not None and ch.last_signature else None
            if st.closed:
                raise ApiError(409, "channel_closed", "this channel is closed already")
            final_amount = st.claimed if held is None else held
            deadline = int(now) + self.config.close_validity_seconds
            if ch is None:  # recorded before the signature leaves this provider
                ch = channel_row(channel)
                db.add(ch)
            ch.close_deadline = max(deadline, ch.close_deadline or 0)
        sig = sign_close(self.account, rt.domain, channel, final_amount, deadline)
        log.info("signed a Close for %s at %s, valid until %s", channel_hex, final_amount, deadline)
        return m.CloseAuth(
            channel_id=channel_hex, final_amount=final_amount, deadline=deadline, signature="0x" + sig.hex()
        )
