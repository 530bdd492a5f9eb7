"""Paying a session from a prepaid Zcash spending permission (POST /api/v1/sessions, /sessions/end).

The start reads the app's own record of the permission (the rate agreed when it was bought, what its
meter says is left: never the provider's figures), caps the session there or at the budget, and opens it
with the permission's bearer token.

The provider bills the permission at the permission's own ``ratePerHourZat`` on its total used seconds; the
app meters the session itself on its monotonic clock at the rate agreed when the permission was bought
(``LiveSession.signed`` is our metered amount, as there are no vouchers) and follows what the provider
deducted (``LiveSession.acked``, from GET
/sessions/{id} once a tick: while the session is live that is the permission's spending beyond what it
had spent when the session started, at the end the session's own amount). A provider that stops answering
for tick + grace ends the session, failed. When the permission runs out — our meter reaches what it had
left, or the provider ends the session as exhausted while our meter has at most one tick of it left
(``trust.exhaustion_agrees``), whichever comes first — the session ends with ``exhausted`` set, so the
engine can continue on the escrow channel if the user allowed it. A provider that says "exhausted" while
our meter has more left does not get that: the session ends failed, saying so, with no escrow session after
it, and the claim stays flagged on the permission (``cross_check.record_exhaustion_claim``). At the end the
session is booked at what the provider deducted, but never beyond our meter plus one tick; more than that
is an over-claim on the provider's record (``cross_check.note_over_deduction``). At the start,
once a tick and at the end, the permission's row in the store gets our meter (seconds and zatoshi) and the
provider's answer beside it, never over it (``zcash.cross_check``); whatever the provider reports that
disagrees with our record is flagged on the Zcash page and in the activity log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import ClassVar

from paygo_desktop.changes import Changes
from paygo_desktop.errors import describe_error
from paygo_desktop.metering.meter import Price, short_duration
from paygo_desktop.money import ZEC, Amount
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import ProviderClient, ProviderError, ProviderTimeout, ProviderUnreachable
from paygo_desktop.sessions.payer import Ending, Outcome, Payer
from paygo_desktop.sessions.plan import SessionError, SessionPlan, StartOptions
from paygo_desktop.sessions.recovery import reconcile
from paygo_desktop.sessions.reports import RecoveryOutcome, SessionSummary
from paygo_desktop.sessions.runtime import NS_PER_SECOND, Runtime
from paygo_desktop.sessions.status import EventKind, SessionStatus
from paygo_desktop.sessions.terms import Funding, SessionTerms
from paygo_desktop.store.database import Store
from paygo_desktop.zcash import cross_check, trust

log = logging.getLogger(__name__)

TokenLookup = Callable[[str], str]
"""``token_lookup(permission_id) -> bearer token`` for a Zcash permission (the Zcash page keeps them);
blocking (the store, a decryption): called in a worker thread."""


class ZcashPayer(Payer):
    changes: ClassVar[Changes] = Changes(permissions=True)

    def __init__(
        self,
        rt: Runtime,
        plan: SessionPlan,
        terms: SessionTerms,
        *,
        store: Store,
        token: str,
        cap_reason: str,
        cap_is_permission: bool,
        exhausted_reason: str,
        metered_before: tuple[int, int],
        room: int,
        allow_fallback: bool,
    ) -> None:
        """``cap_is_permission``: the meter's cap is what the permission had left (not the user's budget),
        so reaching it means the permission ran out; ``exhausted_reason`` then says what happens next.
        ``room``: what the permission had left at the start by the app's record (bought less metered)."""
        super().__init__(rt, cap_reason)
        self.plan = plan
        self.terms = terms
        self.client: ProviderClient = rt.client(plan.provider_url)
        self.store = store
        self._token = token  # the permission's bearer token: ending the session needs it (never logged)
        self.cap_is_permission = cap_is_permission
        self.exhausted_reason = exhausted_reason
        self.remote: zm.ZcashSession | None = None
        self._last_ok_ns = 0
        self._spent_at_start = 0
        self._metered_before, self._used_before = metered_before
        self._room = room
        self._allow_fallback = allow_fallback
        self._agreed = True  # no report of the provider's disagreed with the app's record (this session)

    # ------------------------------------------------------------------ opening

    @classmethod
    async def prepare(
        cls,
        rt: Runtime,
        store: Store,
        plan: SessionPlan,
        options: StartOptions,
        token_lookup: TokenLookup | None,
    ) -> ZcashPayer:
        assert options.permission_id is not None
        option = plan.option(Funding.ZCASH, options.permission_id)
        if option is None or option.price is None:
            raise SessionError("That Zcash permission is not one of this provider's active permissions.")
        if token_lookup is None:
            raise SessionError("Zcash permissions are not available in this window.")
        # the sealed token is read from the store and opened with the account's key: off the event loop
        token = await asyncio.to_thread(token_lookup, options.permission_id)
        leftovers = await rt.db(rt.history.open_on_permission, plan.provider_url, options.permission_id)
        for leftover in leftovers:  # a session a crash or a lost answer left on it may still run there
            report = await reconcile(rt, leftover, None, token_lookup)
            if report.outcome is RecoveryOutcome.UNKNOWN:
                raise SessionError(
                    "An earlier session on this Zcash permission is not settled yet and its provider cannot "
                    "be reached; nothing new was started."
                )
        own = await rt.db(
            cross_check.own_permissions, store, rt.account, plan.provider_url, options.permission_id
        )
        if not own:
            raise SessionError("That Zcash permission is not active by this app's record.")
        # the agreed rate and our own meter's room: a provider's GET cannot change what we meter
        price = Price(own[0].rate_per_hour_zat, "per_hour")
        room = own[0].available_zat
        if room <= 0:
            raise SessionError("That Zcash permission is used up.")
        cap = min(room, options.budget)
        if options.allow_fallback and options.budget > room:
            exhausted_reason = "The Zcash permission ran out; continuing on the escrow channel."
        else:
            exhausted_reason = (
                "The Zcash permission ran out; stopped. Buy a new one on the Zcash page, or allow the "
                "escrow channel to take over when you start a session."
            )
        terms = plan.terms(
            account=rt.account,
            network=rt.network_key,
            funding=Funding.ZCASH,
            cap=cap,
            asset=ZEC,
            price=price,
            permission_id=options.permission_id,
        )
        return cls(
            rt,
            plan,
            terms,
            store=store,
            token=token,
            cap_reason=f"Reached this session's budget of {Amount(ZEC, cap).format()}; stopped.",
            cap_is_permission=cap == room,
            exhausted_reason=exhausted_reason,
            metered_before=await rt.db(
                cross_check.metered_before, store, plan.provider_url, options.permission_id
            ),
            room=room,
            allow_fallback=options.allow_fallback,
        )

    def session_terms(self) -> SessionTerms:
        return self.terms

    async def open(self) -> None:
        live, rt, plan = self.session, self.rt, self.plan
        assert self.terms.permission_id is not None
        self.start_sent = True
        try:
            remote = await self.client.start_zcash_session(
                self.terms.permission_id, plan.service.id, self._token
            )
        except (ProviderUnreachable, ProviderTimeout) as exc:
            # The start may have reached the provider, whose session would run until the permission is used
            # up: recovery asks it for the permission's live session (before the next session on the
            # permission, or at the next start) and ends it.
            await self.fail(f"No answer to the start: {exc}", interrupted=True, announce=False)
            raise SessionError(
                f"{plan.provider.name} did not answer the start ({describe_error(exc)}); PayGo will end any "
                "session it opened on the permission before the next one."
            ) from None
        except ProviderError as exc:
            await self.fail(str(exc), announce=False)
            raise SessionError(
                f"{plan.provider.name} did not start the session: {describe_error(exc)}"
            ) from None
        self.remote = remote
        self._spent_at_start = remote.permission.spent_zat
        live.remote_id = remote.session_id
        live.access = remote.access  # its own key to the provider's gateway (None: no service there)
        await rt.db(
            rt.history.update, live.local_id, remote_id=remote.session_id, status=SessionStatus.RUNNING
        )
        live.status = SessionStatus.RUNNING
        self.emit(
            EventKind.STARTED,
            f"Started “{plan.service.name}” with {plan.provider.name}, paid from Zcash permission "
            f"{self.terms.permission_id} at {Amount(ZEC, self.terms.price.amount).format()} per hour.",
        )

    # ------------------------------------------------------------------ the loop

    async def run(self) -> Ending:
        live, meter = self.session, self.session.meter
        assert self.remote is not None
        await self._record_meter(self.remote, 0, 0)
        terms = self.terms
        tick_ns = terms.tick_seconds * NS_PER_SECOND
        next_check = tick_ns
        while True:
            if meter.is_exhausted():
                if self.cap_is_permission:
                    return Ending(self.exhausted_reason, exhausted=True)
                return Ending(self.cap_reason)
            live.signed = meter.cost()
            self.warn_if_low()
            elapsed = meter.elapsed_ns()
            if elapsed >= next_check:
                next_check = (elapsed // tick_ns + 1) * tick_ns
                ending = await self._check_remote()
                if ending is not None:
                    return ending
            if elapsed - self._last_ok_ns > (terms.tick_seconds + terms.grace_seconds) * NS_PER_SECOND:
                return Ending(
                    f"The provider stopped answering for {terms.tick_seconds + terms.grace_seconds} s "
                    "(tick + grace); stopped.",
                    failed=True,
                )
            await asyncio.sleep(min(self.rt.max_sleep, self.rt.seconds_to(next_check - elapsed)))

    async def _check_remote(self) -> Ending | None:
        live = self.session
        assert live.remote_id is not None
        try:
            remote = await self.client.get_zcash_session(live.remote_id)
        except (ProviderUnreachable, ProviderTimeout) as exc:
            log.info("zcash session %s not checked: %s", live.local_id, exc)
            return None
        except ProviderError as exc:
            return Ending(f"The provider's answer was not usable: {describe_error(exc)}", failed=True)
        self._last_ok_ns = live.meter.elapsed_ns()
        await self._record_deduction(remote)
        await self._record_meter(remote, live.meter.cost(), self._seconds())
        if remote.status is zm.ZcashSessionStatus.live:
            return None
        if remote.status is zm.ZcashSessionStatus.exhausted:
            return await self._provider_says_exhausted()
        return Ending(f"The provider ended the session ({remote.status.value}).", failed=True)

    async def _provider_says_exhausted(self) -> Ending:
        """The provider ended the session as exhausted: the permission ran out only if our meter agrees
        within a tick; otherwise the session ends failed and the escrow channel does not take over (the
        user would pay again, on chain, for time the permission prepaid)."""
        terms = self.terms
        left = max(0, self._room - self.session.meter.cost())
        if trust.exhaustion_agrees(left, terms.price.amount, terms.tick_seconds):
            return Ending(self.exhausted_reason, exhausted=True)
        self._agreed = False
        assert terms.permission_id is not None
        await self.rt.db(
            cross_check.record_exhaustion_claim, self.store, terms.provider_url, terms.permission_id, left
        )
        bought = self._room + self._metered_before
        return Ending(
            "The provider says the Zcash permission is used up, but by this app's meter "
            f"{terms.amount(left)} of {terms.amount(bought)} is left; "
            + ("not continuing on the escrow channel." if self._allow_fallback else "stopped."),
            failed=True,
        )

    def _deducted(self, remote: zm.ZcashSession) -> int:
        """What the provider has deducted for this session: its own amount once ended; while live, what
        the permission spent since the session started (the provider counts the live session in)."""
        if remote.status is zm.ZcashSessionStatus.live:
            return max(0, remote.permission.spent_zat - self._spent_at_start)
        return remote.amount_zat

    def _bookable(self, deducted: int, metered: int) -> int:
        """What of the provider's deduction the books take: at most our meter plus one tick (and the
        provider's rounding to whole seconds), the allowance ``zcash.trust`` gives a fair provider."""
        terms = self.terms
        return min(deducted, metered + trust.allowance_zat(terms.price.amount, terms.tick_seconds))

    async def _record_deduction(self, remote: zm.ZcashSession) -> None:
        live, rt = self.session, self.rt
        self.remote = remote
        deducted = self._deducted(remote)
        if deducted > live.acked:
            await rt.db(rt.history.update, live.local_id, acked=deducted, signed=live.signed)
            booked = self._bookable(deducted, live.meter.cost())
            await rt.db(rt.history.settle_spending, live.local_id, booked)
            live.acked = deducted
            self.emit(EventKind.ACKED, f"The provider deducted {self.terms.amount(deducted)}.")

    # ------------------------------------------------------------------ stop

    async def finish(self, ending: Ending) -> SessionSummary:
        live = self.session
        metered = live.meter.stop()
        live.signed = metered
        assert live.remote_id is not None and self.remote is not None
        problem = None
        unanswered = False  # the session may still run there, paid from the permission: recovery ends it
        try:
            remote = await asyncio.wait_for(
                self.client.end_zcash_session(live.remote_id, self._token), timeout=self.rt.request_timeout
            )
            await self._record_deduction(remote)
        except (ProviderError, TimeoutError) as exc:
            unanswered = isinstance(exc, ProviderUnreachable | ProviderTimeout | TimeoutError)
            problem = "The provider did not confirm the end: " + (
                describe_error(exc) if isinstance(exc, ProviderError) else "timeout."
            )
            if unanswered:
                problem += (
                    " PayGo ends it with the provider before the next session on this permission (or at the "
                    "next start) and books what it deducted."
                )
            remote = self.remote
        deducted = remote.amount_zat
        cost = self._bookable(deducted, metered)  # never beyond our meter plus one tick
        seconds = self.elapsed_seconds()
        status = SessionStatus.FAILED if ending.failed else SessionStatus.STOPPED
        await self._record_meter(remote, metered, self._seconds())
        ended_there = problem is None and remote.status is not zm.ZcashSessionStatus.live
        over_claimed = cost < deducted and not unanswered  # (unanswered: recovery books it later)
        if over_claimed:
            await self.rt.db(
                cross_check.note_over_deduction,
                self.store,
                self.terms.provider_url,
                self.terms.provider_name,
                live.local_id,
                remote.permission_id,
                deducted,
                metered,
                cost,
            )
        elif ended_there and self._agreed:
            await self.rt.db(
                cross_check.note_agreement,
                self.store,
                self.terms.provider_url,
                self.terms.provider_name,
                live.local_id,
                remote,
                metered,
            )
        parts = [
            f"{'Stopped' if status is SessionStatus.STOPPED else 'Failed'}: {short_duration(seconds)} of "
            f"{self.terms.service_name}; the provider deducted {self.terms.amount(deducted)} from the "
            f"permission (our meter: {self.terms.amount(metered)}).",
            ending.reason,
        ]
        if over_claimed:
            parts.append(
                "That is more than this app's meter plus one tick allows: booked at "
                f"{self.terms.amount(cost)}; the {self.terms.amount(deducted - cost)} more is kept as an "
                "over-claim on the provider's record."
            )
        if problem:
            parts.append(problem)
        return await self.conclude(
            Outcome(
                status,
                ending.reason,
                " ".join(parts),
                seconds=seconds,
                metered=metered,
                cost=None if unanswered else cost,
                receipt=remote,
                receipt_ok=ended_there and cost == deducted,
                interrupted=unanswered,
                columns={"signed": metered, "acked": deducted},
            )
        )

    # ------------------------------------------------------------------ the permission's row

    def _seconds(self) -> int:
        """The whole seconds our meter charged this session for (never beyond what its budget buys)."""
        meter = self.session.meter
        return min(meter.elapsed_ns() // NS_PER_SECOND, meter.price.seconds_for(meter.budget))

    async def _record_meter(self, remote: zm.ZcashSession, metered: int, seconds: int) -> None:
        """Our meter (earlier sessions + this one so far) on the permission's row, and the provider's
        answer beside it (``zcash.cross_check``); a disagreement (or no row to compare with) means this
        session leaves no "agreed" on the provider's record."""
        found = await self.rt.db(
            cross_check.record_session,
            self.store,
            self.terms.provider_url,
            remote,
            self._used_before + seconds,
            self._metered_before + metered,
            int(self.rt.now().timestamp()),
        )
        if found is None or found:
            self._agreed = False
