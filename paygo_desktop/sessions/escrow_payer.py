"""Paying a session from an escrow channel: opening it (the first voucher and the quote's check), the
voucher loop, the stop. What comes before the session's row (leftovers settled, the rate, the deposit, the
channel's state and the provider's cursor, the cap) is ``escrow_prepare.prepare_escrow``'s.

Rules (``Meter`` does the arithmetic, on the engine's monotonic clock; ``SigningLimit`` holds the promise
that nothing is ever signed past the meter plus one tick of the catalog's terms):

* Vouchers are cumulative on the channel: ``base`` (what the provider already holds for the channel, or
  claimed on chain) plus this session's amount. Each pays through the end of the next tick
  (``Meter.voucher_due``), never past the cap; each is written to the store before it is sent.
* A voucher the provider does not confirm is sent again (a new ``seq``, the same amount and signature) at
  the next wake-up, and nothing higher is signed until it is confirmed. When no confirmation covers the
  time any more (the last confirmed amount paid up to some second, plus the catalog's grace) the
  session ends, failed, and says so: the provider died or hangs. What was signed but never confirmed is
  one voucher, one tick ahead.
* Every voucher, the final one included, passes ``SigningLimit.permit`` before it is signed.
* The session stops at the cap (``prepare_escrow`` sets it). Under 20% left, one ``low_funds`` event.
* Stop: the meter stops. The final amount is the metered cost, but never more than one tick past what
  the provider acknowledged (when acknowledgements stopped coming, the session ends there and the summary
  says so). If it is above the signed amount (a late loop), a voucher tops it up to it; if the vouchers
  paid ahead of it (the usual case: one tick ahead), PATCH stop carries a final voucher for exactly it
  and the provider settles the session at it. A 402 for a voucher is a normal end only when the chain
  confirms that the escrow no longer covers it. The
  provider's signed receipt is checked against its key, our vouchers and our meter: the number shown,
  the vouchers and the receipt agree to the base unit. A provider that refuses the final voucher bills
  what it holds (at most one tick ahead), and the summary says so. The session's cost is what the
  provider's receipt holds it to. A stop with a final voucher that gets no answer (a timeout, the network)
  may have settled there: the session is left interrupted, and recovery asks the provider what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, ClassVar

from paygo_desktop.chain.channel_state_reader import ChannelStateReader
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, sign_voucher
from paygo_desktop.errors import describe_error
from paygo_desktop.metering.signing_limit import (
    SigningLimit,
    SigningRefused,
    TermsRefused,
    check_quote,
)
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import (
    PaymentRequired,
    ProviderClient,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeout,
    ProviderUnreachable,
    SessionGone,
    verify_quote,
)
from paygo_desktop.receipts.build import session_proof_fields
from paygo_desktop.sessions.escrow_receipt import EscrowReceipt
from paygo_desktop.sessions.payer import Ending, Outcome, Payer
from paygo_desktop.sessions.plan import EscrowFacts, SessionError, SessionPlan, price_of
from paygo_desktop.sessions.reports import SessionSummary
from paygo_desktop.sessions.runtime import (
    NS_PER_SECOND,
    Runtime,
    hex_sig,
)
from paygo_desktop.sessions.status import EventKind, SessionStatus
from paygo_desktop.sessions.terms import SessionTerms

log = logging.getLogger(__name__)


class AckTimeout(Exception):
    pass


class EscrowPayer(EscrowReceipt, Payer):
    """One escrow-funded session: its opening, its loop, its stop (``prepare_escrow`` makes one)."""

    checks_receipts: ClassVar[bool] = True

    def __init__(
        self,
        rt: Runtime,
        plan: SessionPlan,
        terms: SessionTerms,
        *,
        client: ProviderClient,
        vault: VaultClient,
        escrow: EscrowFacts,
        signer: Any,
        limit: SigningLimit,
        cap_reason: str,
        first: int,
    ) -> None:
        super().__init__(rt, cap_reason)
        self.plan = plan
        self.terms = terms
        self.client = client
        self.vault = vault
        self.domain: VaultDomain = escrow.domain
        self.channel: Channel = escrow.channel
        self.channel_hex = escrow.channel_id
        self.signer: Any = signer
        self.base = terms.channel_base
        self.limit = limit
        self.first = first  # the start voucher's amount
        self.seq = 0
        self.lock = asyncio.Lock()
        self.stop_response: m.StopResponse | None = None
        self.final_voucher: int | None = None  # the session amount of the final voucher sent with stop
        self.settle_refused: str | None = None  # the provider's reason, when it did not settle at it

    # ------------------------------------------------------------------ opening

    def session_terms(self) -> SessionTerms:
        return self.terms

    async def open(self) -> None:
        """The start request with the first voucher (stored before it is sent), the quote's check."""
        live, rt, plan = self.session, self.rt, self.plan
        signature = await self.sign(self.first)
        await rt.db(
            rt.history.add_voucher, live.local_id, 0, self.base + self.first, signature, self.channel_hex
        )
        live.signed = self.first
        self.start_sent = True
        try:
            started = await self.client.start_session(
                plan.service.id, self.channel, self.base + self.first, signature
            )
        except (ProviderUnreachable, ProviderTimeout) as exc:
            # The start may have reached the provider: recovery asks it (GET /channels) at the next start.
            await self.fail(f"No answer to the start: {exc}", interrupted=True)
            raise SessionError(
                f"{plan.provider.name} did not answer the start ({describe_error(exc)}); PayGo will settle "
                "it with the provider before the next session on this channel."
            ) from None
        except ProviderError as exc:
            await self.fail(f"The provider did not start the session: {exc}")
            raise SessionError(
                f"{plan.provider.name} did not start the session: {describe_error(exc)}"
            ) from None
        live.remote_id = started.session_id
        live.access = started.access  # its token also proves the stop is ours
        await rt.db(rt.history.update, live.local_id, remote_id=started.session_id)
        problem = self._quote_problem(started.quote)
        if problem is not None:
            await self.cancel_remote()
            await self.fail(problem)
            raise SessionError(problem)
        await rt.db(rt.history.ack_voucher, live.local_id, 0, self.base + self.first)
        live.acked = self.first
        live.meter = self.new_meter(self.terms)  # the meter starts with the provider's session
        await rt.db(
            rt.history.update,
            live.local_id,
            status=SessionStatus.RUNNING,
            **session_proof_fields(started.quote, plan.provider, self.channel),  # for its proof file
        )
        live.status = SessionStatus.RUNNING
        self.emit(
            EventKind.STARTED,
            f"Started “{plan.service.name}” with {plan.provider.name} at {plan.rate_text()}, "
            f"up to {self.terms.amount(self.terms.cap)}.",
        )

    def _quote_problem(self, quote: m.Quote) -> str | None:
        plan = self.plan
        if not verify_quote(quote, plan.provider):
            return "The provider's quote is not signed by its key; the session was refused."
        if quote.rate != plan.service.rate:
            return (
                f"The provider quoted {plan.rate_text(quote.rate)} instead of the "
                f"{plan.rate_text()} you agreed to; the session was refused."
            )
        try:
            check_quote(self.limit.terms, price_of(quote.rate), quote.tick_seconds, quote.grace_seconds)
        except TermsRefused as exc:
            return f"{exc} The session was refused; nothing more was signed."
        if (
            quote.service_id != plan.service.id
            or quote.channel_id != self.channel_hex
            or quote.chain_id != self.domain.chain_id
            or quote.vault.lower() != self.domain.vault.lower()
        ):
            return "The provider's quote names another service, channel or vault; the session was refused."
        if quote.start_cumulative != self.base:
            return (
                "The provider counts your channel from another amount than you do; the session was refused."
            )
        return None

    def release_key(self) -> None:
        self.signer = None

    # ------------------------------------------------------------------ vouchers

    async def sign(self, amount: int, *, acked: int | None = None) -> str:
        """Sign the channel-wide cumulative ``base + amount`` off the event loop, if the signing limit
        permits it now (``acked``: the stop's rule, at most one tick past what was acknowledged)."""
        self.limit.permit(amount, self.session.meter.elapsed_ns(), acked=acked)
        cumulative = self.base + amount
        signature = await asyncio.to_thread(sign_voucher, self.signer, self.domain, self.channel, cumulative)
        return hex_sig(signature)

    def ack_deadline_ns(self) -> int:
        """Meter time after which no confirmed voucher pays for the service any more, grace included."""
        return self.limit.ack_deadline_ns(self.session.acked)

    async def pay(self, amount: int, *, final: bool = False) -> Ending | None:
        """Sign (or re-send) the voucher for this session's ``amount`` and wait for the provider's ack."""
        async with self.lock:
            live = self.session
            if amount < live.signed:
                amount = live.signed
            try:
                signature = await self.sign(amount, acked=live.acked if final else None)
            except SigningRefused as exc:
                log.error("session %s: %s", live.local_id, exc)
                return Ending(
                    "PayGo refused to sign more than the meter plus one tick; stopped.", failed=True
                )
            self.seq += 1
            seq = self.seq
            cumulative = self.base + amount
            await self.rt.db(
                self.rt.history.add_voucher, live.local_id, seq, cumulative, signature, self.channel_hex
            )
            resend = amount == live.signed
            live.signed = amount
            if not resend:
                self.emit(EventKind.VOUCHER, f"Signed {self.terms.amount(amount)} in total.")
            assert live.remote_id is not None
            task = asyncio.ensure_future(self.client.send_voucher(live.remote_id, seq, cumulative, signature))
            try:
                ack = await self._await_ack(task, final=final)
            except AckTimeout:
                return self._no_ack_ending()
            except SessionGone as exc:
                return Ending(
                    f"The provider ended the session ({exc.provider_message}).",
                    failed=True,
                    provider_gone=True,
                )
            except PaymentRequired:
                return await self._payment_required(cumulative)
            except (ProviderUnreachable, ProviderTimeout) as exc:
                log.info("voucher %d of %s not delivered: %s", seq, live.local_id, exc)
                return None  # sent again at the next wake-up, until the ack deadline
            except ProviderHTTPError as exc:
                return Ending(f"The provider refused a voucher: {exc.provider_message}", failed=True)
            except ProviderError as exc:
                return Ending(f"The provider's answer to a voucher was not usable: {exc}", failed=True)
            finally:
                if not task.done():
                    task.cancel()
            if ack.cumulative_amount < cumulative:
                return Ending("The provider confirmed less than the voucher said.", failed=True)
            await self.rt.db(self.rt.history.ack_voucher, live.local_id, seq, cumulative)
            live.acked = max(live.acked, amount)
            self.emit(EventKind.ACKED, f"The provider confirmed {self.terms.amount(amount)}.")
            return None

    async def _payment_required(self, cumulative: int) -> Ending:
        """A 402 for a voucher: a normal end only if the chain says the escrow no longer covers it."""
        try:
            state = await self.vault.channel_state(self.channel)
        except Exception as exc:
            log.info("channel state not read after a 402 for %s: %r", self.session.local_id, exc)
            return Ending(
                "The provider said the channel's escrow no longer covers the next voucher, and the chain "
                "could not be read to check it; stopped.",
                failed=True,
            )
        if state.coverage < cumulative:
            return Ending("The channel's escrow no longer covers the next voucher; stopped.")
        return Ending(
            f"The provider refused a voucher for lack of escrow, but the channel covers it on chain "
            f"({self.terms.amount(state.coverage - self.base)} left for this session); stopped.",
            failed=True,
        )

    async def _await_ack(self, task: asyncio.Future[m.VoucherAck], *, final: bool) -> m.VoucherAck:
        """The ack, or ``AckTimeout`` once the meter passes the ack deadline (for the final voucher: the
        request timeout)."""
        if final:
            try:
                return await asyncio.wait_for(task, timeout=self.rt.request_timeout)
            except TimeoutError:
                raise AckTimeout() from None
        meter = self.session.meter
        while True:
            remaining = self.ack_deadline_ns() - meter.elapsed_ns()
            if remaining <= 0:
                raise AckTimeout()
            timeout = min(self.rt.max_sleep, max(0.01, self.rt.seconds_to(remaining)))
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if done:
                return task.result()

    def _no_ack_ending(self) -> Ending:
        waited = self.terms.tick_seconds + self.terms.grace_seconds
        return Ending(
            f"The provider stopped confirming payments: no confirmation covered the last "
            f"{waited} s (tick + grace). Stopped to pay nothing more.",
            failed=True,
            provider_gone=True,
        )

    # ------------------------------------------------------------------ the loop

    async def run(self) -> Ending:
        live, meter = self.session, self.session.meter
        tick_ns = self.terms.tick_seconds * NS_PER_SECOND
        exhausted_at = self._exhausted_at_ns()
        while True:
            if meter.is_exhausted():
                return Ending(self.cap_reason)
            if live.acked < live.signed:
                # an unconfirmed voucher is sent again as it is; nothing more is signed until it is taken
                ending = await self.pay(live.signed)
            elif meter.voucher_due() > live.signed:
                ending = await self.pay(meter.voucher_due())
            else:
                ending = None
            if ending is not None:
                return ending
            self.warn_if_low()
            elapsed = meter.elapsed_ns()
            deadline = self.ack_deadline_ns()
            if elapsed > deadline:
                return self._no_ack_ending()
            next_tick = (elapsed // tick_ns + 1) * tick_ns
            wake = min(next_tick, deadline + 1, exhausted_at)
            await asyncio.sleep(min(self.rt.max_sleep, self.rt.seconds_to(wake - elapsed)))

    def _exhausted_at_ns(self) -> int:
        """Meter time at which the cost reaches the cap (the cost rounds up, so one ns past the last
        instant it is below)."""
        price = self.terms.price
        unit_ns = price.unit_seconds * NS_PER_SECOND
        return (self.terms.cap - 1) * unit_ns // price.amount + 1

    async def follow_chain(self, every: float) -> None:
        """Follow what the provider claimed on chain for this session (a background task)."""
        while self.session.is_active:
            await asyncio.sleep(every)
            await self.refresh_claimed()

    @functools.cached_property
    def states(self) -> ChannelStateReader:
        """The poll of what the provider claimed: one raw eth_call (~0.4 ms of CPU, not web3's ~2.3 ms)."""
        return ChannelStateReader(self.vault.w3, self.vault.address)

    async def refresh_claimed(self) -> int:
        try:
            state = await self.states.channel_state(self.channel.id)
        except Exception as exc:
            log.info("claimed not read for %s: %r", self.session.local_id, exc)
            return self.session.claimed
        claimed = min(self.session.signed, max(0, state.claimed - self.base))
        if claimed > self.session.claimed:
            self.session.claimed = claimed
            self.emit(EventKind.CLAIMED, f"The provider claimed {self.terms.amount(claimed)} on chain.")
        return self.session.claimed

    # ------------------------------------------------------------------ stop

    async def finish(self, ending: Ending) -> SessionSummary:
        """Stop the meter, send the final voucher if needed, get and check the receipt, settle the books."""
        live = self.session
        metered = live.meter.stop()
        # what the session ends at: the meter, but never more than one tick past what was acknowledged
        due = min(metered, self.limit.final_ceiling(live.meter.elapsed_ns(), live.acked))
        if not ending.provider_gone and due > live.signed:
            final = await self.pay(due, final=True)
            if final is not None:
                ending = Ending(f"{ending.reason} The final voucher was not confirmed: {final.reason}", True)
        receipt: m.Receipt | None = None
        problem: str | None = None
        # a stop with a final voucher and no answer may have settled there, below what the provider had
        # confirmed: recovery asks it (booked at what it confirmed, the channel's cursor would stay above
        # the provider's, and every later start on the channel would be refused)
        unanswered = False
        try:
            self.stop_response = await self._stop_remote(due, settle=not ending.provider_gone)
            receipt = self.stop_response.receipt
        except (ProviderUnreachable, ProviderTimeout, TimeoutError) as exc:
            unanswered = self.final_voucher is not None
            problem = f"No receipt: {describe_error(exc) if isinstance(exc, ProviderError) else 'timeout'}."
        except ProviderError as exc:
            problem = f"No receipt: {describe_error(exc)}"
        seconds = self.elapsed_seconds()
        if ending.provider_gone:  # the service ran until the last acknowledged payment, not past it
            seconds = min(seconds, self.terms.price.seconds_for(live.acked))
        receipt_ok = False
        cost = live.acked
        if receipt is not None:
            receipt_ok, cost, problem = self.check_receipt(receipt, seconds)
            if receipt_ok and self.settled(receipt):
                await self.rt.db(self.rt.history.settle_final, live.local_id, receipt.final_cumulative)
        credit = await self._paid_ahead_credit()
        status = SessionStatus.FAILED if ending.failed else SessionStatus.STOPPED
        if status is SessionStatus.STOPPED and not receipt_ok:
            # forged, contradicting our meter, or missing: not a clean stop
            status = SessionStatus.RECEIPT_INVALID
        exposure = live.signed - max(live.acked, cost)
        message = self._message(ending, status, seconds, cost, metered, receipt_ok, problem, exposure)
        if credit:
            message += (
                f" {self.terms.amount(credit)} is paid ahead on chain (the provider claimed a voucher one "
                "tick ahead before the session settled lower): paid ahead, used by your next session on "
                "this channel."
            )
        if due < metered:
            message += (
                f" The provider had confirmed payments for {self.terms.amount(live.acked)} only (it stopped "
                f"acknowledging): the session ends there, at most one tick past it, not at the meter's "
                f"{self.terms.amount(metered)}."
            )
        if unanswered:
            message += (
                f" PayGo asks {self.terms.provider_name} what it holds before the next session on this "
                "channel (or at the next start) and settles the session there: at most "
                f"{self.terms.amount(live.signed)}."
            )
        await self._note_provider(receipt, receipt_ok, metered, problem)
        return await self.conclude(
            Outcome(
                status,
                ending.reason,
                message,
                seconds=seconds,
                metered=metered,
                # unanswered: the provider may hold the final voucher, or still run the session; the books
                # stay at what it confirmed until recovery learns what it holds
                cost=None if unanswered else cost,
                receipt=receipt,
                receipt_ok=receipt_ok,
                paid_ahead_credit=credit,
                interrupted=unanswered,
            )
        )

    async def _paid_ahead_credit(self) -> int:
        """What the chain has paid the provider beyond this app's settled sessions on the channel, now
        (best effort: 0 when the chain cannot be read)."""
        try:
            state = await self.vault.channel_state(self.channel)
        except Exception as exc:
            log.info("claimed not read at the end of %s: %r", self.session.local_id, exc)
            return 0
        return await self.rt.db(self.rt.history.paid_ahead_credit, self.channel_hex, state.claimed)

    async def _stop_remote(self, metered: int, *, settle: bool) -> m.StopResponse:
        """PATCH stop; with a final voucher for exactly ``metered`` (the session's due amount) when the
        vouchers paid ahead of it.

        A provider that refuses the final voucher (a 4xx) is asked again without it and bills what it
        holds; its reason is kept for the summary."""
        live = self.session
        assert live.remote_id is not None
        final: tuple[int, int, str] | None = None
        if settle and metered < live.signed:
            async with self.lock:
                signature = await self.sign(metered, acked=live.acked)
                self.seq += 1
                cumulative = self.base + metered
                await self.rt.db(
                    self.rt.history.add_voucher,
                    live.local_id,
                    self.seq,
                    cumulative,
                    signature,
                    self.channel_hex,
                )
                final = (self.seq, cumulative, signature)
                self.final_voucher = metered
        timeout = self.rt.request_timeout
        token = self.access_token
        try:
            return await asyncio.wait_for(
                self.client.stop_session(live.remote_id, final, access_token=token), timeout
            )
        except ProviderHTTPError as exc:
            if final is None or exc.status >= 500:
                raise
            log.info("final voucher of %s refused: %s", live.local_id, exc.provider_message)
            self.settle_refused = exc.provider_message
            self.final_voucher = None
            return await asyncio.wait_for(
                self.client.stop_session(live.remote_id, access_token=token), timeout
            )

    @property
    def access_token(self) -> str | None:
        """The session's access token from the start response: the provider's proof that a stop is ours."""
        return self.session.access.token if self.session.access is not None else None

    async def cancel_remote(self) -> None:
        """Best effort: end the provider's session after a refused start (bad quote)."""
        if self.session.remote_id is None:
            return
        with contextlib.suppress(ProviderError, TimeoutError):
            await asyncio.wait_for(
                self.client.stop_session(self.session.remote_id, access_token=self.access_token),
                self.rt.request_timeout,
            )
