"""The session engine: the conductor of every session. Qt-free; the GUI and the headless ``session``
command both drive it.

One session's path::

    plan ─ Planner: the provider's terms, the ways to pay (the channel and the domain carried along)
    start ─ a payer prepares (prepare_escrow: leftovers settled, rate checked, deposit, cursor, cap;
            ZcashPayer: the permission's own record), records the row, is registered here, opens the
            session at the provider (escrow: the first voucher, stored before it is sent; the quote checked)
    tick ─ the payer's loop: a voucher one tick ahead (stored, sent, acknowledged), or the permission
           followed, until an Ending (the cap, the funds, the user, the provider)
    stop ─ the payer's finish: the final voucher at the metered cost, the receipt checked against the meter
    end ─ Payer.conclude, the one epilogue: books settled, row closed, event reported → SessionSummary

A Zcash permission that runs out may hand the rest of the budget to the escrow channel (``_fallback``);
``recover`` settles what a crash left. Everything runs on one asyncio loop; the store is reached through
its worker, off the loop; ``LiveSession`` objects are updated in place and are cheap to read; callbacks
given to ``subscribe`` are called on the loop thread. The account's key is taken when a session starts and
dropped when it ends, so an idle auto-lock does not stop a running session from paying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from paygo_desktop.chain.transactions import TxRequest
from paygo_desktop.errors import UserFacingError, describe_error
from paygo_desktop.networks import Network
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.escrow_chain import EscrowChain
from paygo_desktop.sessions.escrow_payer import EscrowPayer
from paygo_desktop.sessions.escrow_prepare import prepare_escrow
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.payer import Ending, Payer
from paygo_desktop.sessions.plan import SessionError, SessionPlan, StartOptions
from paygo_desktop.sessions.planner import Planner
from paygo_desktop.sessions.recovery import reconcile
from paygo_desktop.sessions.reports import RecoveryReport, SessionSummary
from paygo_desktop.sessions.runtime import Runtime
from paygo_desktop.sessions.status import EventKind, SessionEvent, SessionStatus
from paygo_desktop.sessions.terms import Funding
from paygo_desktop.sessions.zcash_payer import TokenLookup, ZcashPayer
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import utcnow

if TYPE_CHECKING:
    from web3 import AsyncWeb3

    from paygo_desktop.wallet import Wallet

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """One session this engine conducts."""

    seat: str  # what it occupies: its escrow channel, or its Zcash permission
    payer: Payer
    plan: SessionPlan
    options: StartOptions
    successor_key: Any = None  # a Zcash session that may continue on escrow keeps the signer for it
    loop_task: asyncio.Task[Ending] | None = None
    drive_task: asyncio.Task[None] | None = None
    claims_task: asyncio.Task[None] | None = None
    requested: str | None = None  # a stop asked for, with its reason
    done: asyncio.Future[SessionSummary] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SessionEngine:
    def __init__(
        self,
        *,
        store: Store,
        wallet: Wallet,
        account: str,
        network: Network,
        vault_address: str | None,
        w3: AsyncWeb3 | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        now: Callable[[], datetime] = utcnow,
        client_factory: Callable[[str], ProviderClient] = ProviderClient,
        token_lookup: TokenLookup | None = None,
        max_sleep: float = 1.0,
        claim_poll_seconds: float = 15.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.store, self.wallet, self.account, self.network = store, wallet, account, network
        self.history = SessionHistory(store)
        self.rt = Runtime(
            history=self.history,
            account=account,
            network_key=network.key,
            chain_id=network.chain_id,
            clock=clock,
            now=now,
            client_factory=client_factory,
            max_sleep=max_sleep,
            request_timeout=request_timeout,
        )
        self.chain = EscrowChain(store, network, vault_address, account, w3)
        self.planner = Planner(self.rt, self.chain, store)
        self.token_lookup = token_lookup
        self.claim_poll_seconds = claim_poll_seconds
        self._runs: dict[str, _Run] = {}
        self._seats: set[str] = set()  # held from a start's first check until its run is registered

    def use_network(self, network: Network) -> None:
        """The same network with other terms the user set since (its fee ceiling): every transaction from
        now on (a deposit, a close) is held to them; a running session keeps its channel and vouchers."""
        if (network.key, network.chain_id, network.rpc_url) != (
            self.network.key,
            self.network.chain_id,
            self.network.rpc_url,
        ):
            raise ValueError("use_network takes the same network (key, chain and node) with new terms")
        self.network = self.chain.network = network

    async def plan(self, provider_url: str, service_id: str) -> SessionPlan:
        return await self.planner.plan(provider_url, service_id)

    # ------------------------------------------------------------------ starting

    async def start(self, plan: SessionPlan, options: StartOptions, signer: Any = None) -> LiveSession:
        """Start a session as the user chose; ``signer``: the key a Zcash session kept for its fallback."""
        seat = self._take_seat(plan, options)
        try:
            payer, successor_key = await self._prepare(plan, options, signer)
            live = await payer.record()
            run = self._runs[live.local_id] = _Run(seat, payer, plan, options, successor_key)
        finally:
            self._seats.discard(seat)
        try:
            await payer.open()
        except BaseException as exc:
            await self._abandon(run, exc)
            raise
        self._launch(run)
        return live

    def _take_seat(self, plan: SessionPlan, options: StartOptions) -> str:
        """One session per escrow channel and per Zcash permission."""
        if options.funding is Funding.ZCASH:
            seat, busy = (
                f"zcash:{options.permission_id}",
                "That Zcash permission already pays a running session.",
            )
        elif plan.escrow is None or not self.chain.matches(plan.provider):
            raise SessionError(self.chain.no_escrow_reason(plan.provider))
        else:
            seat = plan.escrow.channel_id
            busy = (
                f"A session is already running on your channel with {plan.provider.name}. Stop it first; "
                "sessions with other providers can run at the same time."
            )
        if seat in self._seats or any(
            r.seat == seat and r.payer.session.is_active for r in self._runs.values()
        ):
            raise SessionError(busy)
        self._seats.add(seat)
        return seat

    async def _prepare(self, plan: SessionPlan, options: StartOptions, signer: Any) -> tuple[Payer, Any]:
        if options.funding is Funding.ESCROW:

            async def given() -> Any:
                return signer

            key = self._signer if signer is None else given
            payer = await prepare_escrow(self.rt, self.chain, plan, options, key, self._progress)
            return payer, None
        zcash = await ZcashPayer.prepare(self.rt, self.store, plan, options, self.token_lookup)
        return zcash, (await self._prepare_fallback(plan, options) if options.allow_fallback else None)

    async def _prepare_fallback(self, plan: SessionPlan, options: StartOptions) -> Any:
        """Before a Zcash session that may continue on escrow starts: the escrow channel must be possible
        here, the deposit asked for is made now (so the switch does not wait for a transaction), and the
        signer is taken now, so that the switch still works if the wallet locks meanwhile."""
        if plan.escrow is None or not self.chain.matches(plan.provider):
            raise SessionError(
                f"{plan.provider.name} does not take escrow payments on {self.network.name}, so the escrow "
                "channel cannot take over when the permission runs out. Untick that choice to start."
            )
        signer = await self._signer()
        if options.deposit:
            await self.chain.deposit(signer, plan.escrow.channel, plan.asset, options.deposit, self._progress)
        return signer

    async def _abandon(self, run: _Run, exc: BaseException) -> None:
        """A start that failed after its run was registered: it leaves no run behind, and anyone already
        waiting on it (a stop, the app's shutdown) gets a failed summary, never a wait for ever."""
        self._runs.pop(run.payer.session.local_id, None)
        summary = run.payer.summary
        if summary is None:
            with contextlib.suppress(Exception):
                summary = await run.payer.abandon(exc)
        if not run.done.done() and summary is not None:
            run.done.set_result(summary)

    async def _signer(self) -> Any:
        """The account's key (``WalletLocked`` while the wallet is locked), looked up off the event loop."""
        return await asyncio.to_thread(self.wallet.local_account, self.account)

    def _progress(self, message: str) -> None:
        """A deposit's steps, as events (the headless command prints them)."""
        self.rt.emit(EventKind.TRANSACTION, "", message)

    # ------------------------------------------------------------------ running and stopping

    def _launch(self, run: _Run) -> None:
        run.loop_task = asyncio.ensure_future(run.payer.run())
        if run.requested is not None:  # stop was asked for while it was starting
            run.loop_task.cancel()
        run.drive_task = asyncio.ensure_future(self._drive(run))
        if self.claim_poll_seconds > 0:
            run.claims_task = asyncio.ensure_future(run.payer.follow_chain(self.claim_poll_seconds))

    async def _drive(self, run: _Run) -> None:
        payer, live = run.payer, run.payer.session
        assert run.loop_task is not None
        try:
            ending = await run.loop_task
        except asyncio.CancelledError:
            ending = Ending(run.requested or "Stopped.")
        except Exception as exc:
            log.exception("session %s loop failed", live.local_id)
            ending = Ending(
                f"Something went wrong while paying ({type(exc).__name__}); stopped.", failed=True
            )
        live.status = SessionStatus.STOPPING
        await self.rt.db(self.history.update, live.local_id, status=SessionStatus.STOPPING)
        if run.claims_task is not None:
            run.claims_task.cancel()
        try:
            summary = await payer.finish(ending)
        except Exception as exc:
            summary = await payer.fail_while_stopping(exc)
        if not run.done.done():
            run.done.set_result(summary)
        if ending.exhausted:
            await self._fallback(run, summary)

    async def _fallback(self, run: _Run, summary: SessionSummary) -> None:
        """The permission ran out: continue on the escrow channel for the seconds the budget had left."""
        plan, options, live = run.plan, run.options, run.payer.session
        if not options.allow_fallback:
            return
        signer, run.successor_key = run.successor_key, None
        seconds_left = live.terms.price.seconds_for(max(0, options.budget - summary.metered))
        budget = plan.price.cost_seconds(seconds_left)
        if seconds_left < plan.tick_seconds or budget <= 0:
            return  # the budget ran out with the permission: nothing left to continue
        try:
            new = await self.start(plan, StartOptions(Funding.ESCROW, budget=budget), signer)
        except Exception as exc:
            if not isinstance(exc, SessionError):
                log.exception("session %s: the escrow fallback failed", live.local_id)
            self.rt.emit(
                EventKind.FAILED,
                live.local_id,
                "The Zcash permission ran out and the escrow channel could not take over: "
                + describe_error(exc),
            )
            return
        self.rt.emit(
            EventKind.FALLBACK,
            new.local_id,
            f"The Zcash permission ran out; “{plan.service.name}” continues on the escrow channel with "
            f"{plan.provider.name}, up to {new.terms.amount(new.terms.cap)} "
            "(the rest of this session's budget).",
        )

    async def stop(self, local_id: str, reason: str = "Stopped by you.") -> SessionSummary:
        run = self._runs.get(local_id)
        if run is None:
            record = await self.rt.db(self.history.get, local_id)
            if record is None:
                raise SessionError("There is no such session.")
            raise SessionError(f"“{record.terms.service_name}” is not running (it is {record.status.value}).")
        if not run.done.done() and run.requested is None:
            run.requested = reason
            if run.loop_task is not None:
                run.loop_task.cancel()
        return await asyncio.shield(run.done)

    async def wait(self, local_id: str) -> SessionSummary:
        """Until the session ends by itself (cap, funds, provider) or is stopped."""
        run = self._runs.get(local_id)
        if run is None:
            raise SessionError("There is no such session.")
        return await asyncio.shield(run.done)

    def live(self) -> list[LiveSession]:
        return [r.payer.session for r in self._runs.values() if r.payer.session.is_active]

    def session(self, local_id: str) -> LiveSession | None:
        run = self._runs.get(local_id)
        return run.payer.session if run is not None else None

    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        return self.rt.subscribe(callback)

    async def refresh_claimed(self, local_id: str) -> int:
        """Read the chain now for what the provider claimed of this session (also done every
        ``claim_poll_seconds`` while it runs)."""
        run = self._runs.get(local_id)
        if run is None or not isinstance(run.payer, EscrowPayer):
            raise SessionError("Only escrow sessions started in this run can be followed on chain.")
        return await run.payer.refresh_claimed()

    async def close_request(self, local_id: str) -> TxRequest:
        """After a stop: the transaction that closes the session's channel cooperatively, for the shared
        transaction dialog (``EscrowChain.close_request``)."""
        record = await self.rt.db(self.history.get, local_id)
        if record is None or record.terms.funding is not Funding.ESCROW or record.terms.channel_id is None:
            raise SessionError("Only a stopped escrow session's channel can be closed.")
        if record.is_open:
            raise SessionError("Stop the session before closing its channel.")
        committed = await self.rt.db(self.history.channel_committed, record.terms.channel_id)
        client = self.rt.client(record.terms.provider_url)
        return await self.chain.close_request(record, await self._signer(), client, committed)

    # ------------------------------------------------------------------ recovery and exit

    async def recover(self) -> list[RecoveryReport]:
        """Reconcile the sessions an earlier run left unfinished (call at start-up, before starting any)."""
        try:  # while the wallet is locked, recovery proves nothing to a provider
            signer = await self._signer()
        except UserFacingError:
            signer = None
        if self.chain.vault_address is not None:
            await self._heal_transactions()
        reports = []
        for record in await self.rt.db(self.history.unfinished, self.account):
            run = self._runs.get(record.local_id)
            if run is None or not run.payer.session.is_active:  # one of this run's that ended interrupted
                reports.append(await reconcile(self.rt, record, signer, self.token_lookup))
        return reports

    async def _heal_transactions(self) -> None:
        """At recovery: the account's transactions an earlier run stored but never sent go out again
        (best effort: a chain that does not answer leaves them for the next start or the Escrow page). A
        deposit among them counts toward the next start's (``EscrowChain.channel_now``), not twice."""
        try:
            healed = await self.chain.heal()
        except Exception as exc:
            log.info("transactions not healed at recovery: %r", exc)
            return
        for line in healed.describe():
            self._progress(line)

    async def shutdown(self) -> None:
        """App exit: stop every live session cleanly, then close the provider connections."""
        for run in [r for r in self._runs.values() if r.payer.session.is_active]:
            with contextlib.suppress(SessionError):
                await self.stop(run.payer.session.local_id, "Stopped because the app is closing.")
        await self.rt.close_clients()
        await self.chain.aclose()
