"""The session engine: plans starts, runs sessions (escrow vouchers or a Zcash permission), stops them with
a checked receipt, reconciles what a crash left behind, and reports events. Qt-free; the GUI and the
headless ``session`` command both drive it.

Everything runs on one asyncio loop. ``LiveSession`` objects are updated in place on that loop and are
cheap to read; callbacks given to ``subscribe`` are called on the loop thread.

The wallet's signer for the account is taken when a session starts and kept until it ends, so that an
idle auto-lock does not stop a running session from paying; it is dropped when the session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from paygo_desktop.chain.transactions import TransactionManager, TxRequest
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel, VaultDomain, verify_voucher
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests as tx_requests
from paygo_desktop.escrow.close import plan_close
from paygo_desktop.metering.meter import Meter, Price
from paygo_desktop.metering.signing_limit import SigningLimit, Terms, TermsRefused, check_quote
from paygo_desktop.money import ZEC, Amount, Asset
from paygo_desktop.networks import Network, confirmations_for
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import (
    NotFound,
    ProviderClient,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
    verify_quote,
)
from paygo_desktop.receipts.build import session_proof_fields
from paygo_desktop.sessions.channel_terms import (
    channel_withdraw_delay,
    find_session_channel,
    trusted_vault_delay,
)
from paygo_desktop.sessions.channels import channel_base, coverage, deposit, session_channel
from paygo_desktop.sessions.escrow_payer import Ending, EscrowSession
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.live import LiveSession, SessionEvent
from paygo_desktop.sessions.plan import FundingOption, SessionError, SessionPlan, StartOptions, price_of
from paygo_desktop.sessions.recovery import reconcile
from paygo_desktop.sessions.reports import RecoveryReport, SessionSummary
from paygo_desktop.sessions.runtime import Runtime, describe_error
from paygo_desktop.sessions.zcash_payer import ZcashEnding, ZcashRun
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ZcashPermissionRow, utcnow
from paygo_desktop.store.transactions import TransactionRepository

log = logging.getLogger(__name__)

TokenLookup = Callable[[str], str]
"""``token_lookup(permission_id) -> bearer token`` for a Zcash permission (the Zcash page keeps them)."""


class _OwnPermission(NamedTuple):
    permission_id: str
    rate_per_hour_zat: int  # as agreed when it was bought
    available_zat: int  # the amount less what the app metered on it
    allow_fallback: bool


@dataclass
class _Handle:
    live: LiveSession
    payer: EscrowSession | ZcashRun
    loop_task: asyncio.Task[Any] | None = None
    drive_task: asyncio.Task[Any] | None = None
    claims_task: asyncio.Task[Any] | None = None
    requested: str | None = None
    done: asyncio.Future[SessionSummary] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    plan: SessionPlan | None = None
    options: StartOptions | None = None
    start_sent: bool = False  # the start request may have reached the provider
    fallback_signer: Any = None  # a Zcash session that may continue on escrow keeps the signer for it


class SessionEngine:
    def __init__(
        self,
        *,
        store: Store,
        wallet: Any,
        account: str,
        network: Network,
        vault_address: str | None,
        w3: Any = None,
        clock: Callable[[], int] = time.monotonic_ns,
        now: Callable[[], datetime] = utcnow,
        client_factory: Callable[[str], ProviderClient] = ProviderClient,
        token_lookup: TokenLookup | None = None,
        max_sleep: float = 1.0,
        claim_poll_seconds: float = 15.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.wallet = wallet
        self.account = account
        self.network = network
        self.vault_address = vault_address
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
        self.token_lookup = token_lookup
        self.claim_poll_seconds = claim_poll_seconds
        self._w3 = w3
        self._owns_w3 = w3 is None
        self._vault: VaultClient | None = None
        self._withdraw_delay: int | None = None
        self._handles: dict[str, _Handle] = {}
        self._reserved_channels: set[str] = set()

    # ------------------------------------------------------------------ chain

    @property
    def w3(self) -> Any:
        if self._w3 is None:
            from paygo_desktop.chain.rpc import async_web3

            self._w3 = async_web3(self.network.rpc_url)
        return self._w3

    def vault(self) -> VaultClient:
        if self.vault_address is None:
            raise SessionError(
                f"No escrow vault is known on {self.network.name}: escrow sessions are not possible there."
            )
        if self._vault is None:
            self._vault = VaultClient(self.w3, self.vault_address)
        return self._vault

    async def _chain(self, what: Callable[[], Any]) -> Any:
        try:
            return await what()
        except SessionError:
            raise
        except Exception as exc:
            log.warning("chain read failed: %r", exc)
            raise SessionError(
                f"Cannot read the escrow vault on {self.network.name} ({type(exc).__name__}); "
                "check the network connection."
            ) from None

    async def channel_for(self, provider: m.ProviderInfo, asset: Asset) -> Channel:
        """The channel sessions with ``provider`` use now (the first of the app's not closed on chain)."""
        vault = self.vault()
        delay = channel_withdraw_delay(await self._min_withdraw_delay(), provider)
        return await self._chain(lambda: session_channel(vault, self.account, provider.pay_to, asset, delay))

    async def _min_withdraw_delay(self) -> int:
        """The vault's MIN_WITHDRAW_DELAY, read from its code once that code is checked (``code_check``)."""
        if self._withdraw_delay is None:
            self._withdraw_delay = await self._chain(
                lambda: trusted_vault_delay(self.w3, self.vault().address, self.network)
            )
        assert self._withdraw_delay is not None
        return self._withdraw_delay

    def transaction_manager(self) -> TransactionManager:
        return TransactionManager(
            self.w3,
            self.network.chain_id,
            TransactionRepository(self.store),
            confirmations=confirmations_for(self.network),
        )

    async def deposit_requests(self, plan: SessionPlan, amount: int) -> list[TxRequest]:
        """The transactions a deposit into the plan's channel takes, for the shared transaction dialog:
        an approval first when a token's allowance is short, then the deposit itself."""
        if amount <= 0:
            raise SessionError("A deposit must be above zero.")
        vault = self.vault()
        channel = await self.channel_for(plan.provider, plan.asset)
        deposit_amount = Amount(plan.asset, amount)
        steps: list[TxRequest] = []
        if not channel.is_native:
            token = vault.erc20(channel.token)
            allowance = await self._chain(
                lambda: token.functions.allowance(self.account, vault.address).call()
            )
            if int(allowance) < amount:
                purpose = f"a deposit for {plan.service.name}"
                steps.append(tx_requests.approve(deposit_amount, vault.address, purpose))
        steps.append(tx_requests.fund(vault, channel, deposit_amount, plan.provider.name))
        return steps

    # ------------------------------------------------------------------ planning

    async def plan(self, provider_url: str, service_id: str) -> SessionPlan:
        client = self.rt.client(provider_url)
        info = await client.provider_info()
        service = await client.get_service(service_id)
        if not service.is_active:
            raise SessionError(f"“{service.name}” is not available at the moment.")
        asset_info = next((a for a in info.assets if a.symbol == service.rate.asset), None)
        if asset_info is None:
            raise SessionError(
                f"{info.name} prices “{service.name}” in {service.rate.asset}, an asset it does not list."
            )
        asset = Asset(
            asset_info.symbol,
            asset_info.decimals,
            None if asset_info.address == ZERO_ADDRESS else asset_info.address,
        )
        price = price_of(service.rate)
        plan = SessionPlan(
            provider_url=client.base_url,
            provider=info,
            service=service,
            asset=asset,
            price=price,
            tick_seconds=service.tick_seconds,
            grace_seconds=service.grace_seconds,
            options=(),
        )
        options: list[FundingOption] = []
        if self._network_matches(info):
            options.append(await self._escrow_option(plan))
        if info.zcash:
            options.extend(await self._zcash_options(plan))
        if not options:
            raise SessionError(f"{self._no_escrow_reason(info)} It offers no Zcash permission you hold.")
        return SessionPlan(**{**plan.__dict__, "options": tuple(options)})

    def _no_escrow_reason(self, info: m.ProviderInfo) -> str:
        """Why escrow sessions with this provider are not possible here: another chain, or another vault."""
        if self.vault_address is None:
            return f"No escrow vault is known on {self.network.name}."
        same_chain = [n for n in info.networks if n.chain_id == self.network.chain_id]
        if same_chain:
            return (
                f"{info.name} takes escrow payments on {self.network.name} through the vault "
                f"{same_chain[0].vault}, not through the PayGo vault this app uses there "
                f"({self.vault_address})."
            )
        return f"{info.name} takes payments on chain {info.networks[0].chain_id}, not on {self.network.name}."

    def _network_matches(self, info: m.ProviderInfo) -> bool:
        if self.vault_address is None:
            return False
        return any(
            n.chain_id == self.network.chain_id and n.vault.lower() == self.vault_address.lower()
            for n in info.networks
        )

    async def _provider_cursor(
        self, client: ProviderClient, channel: Channel, domain: VaultDomain, key: Any = None
    ) -> int | None:
        """The cumulative the provider holds for the channel, None if none. Asked with ``key`` (the payer),
        the provider shows the voucher's signature, which is checked; without, its word (for display)."""
        try:
            info = await client.get_channel(channel.id, key)
        except NotFound:
            return None
        last = info.last_voucher
        if last is None:
            return None
        if key is not None and (
            last.signature is None
            or not verify_voucher(domain, channel, last.cumulative_amount, last.signature)
        ):
            raise SessionError("The provider reports a last voucher for your channel that you did not sign.")
        return last.cumulative_amount

    async def _escrow_option(self, plan: SessionPlan) -> FundingOption:
        channel = await self.channel_for(plan.provider, plan.asset)
        vault = self.vault()
        state = await self._chain(lambda: vault.channel_state(channel))
        domain = await self._chain(vault.domain)
        try:
            held = await self._provider_cursor(self.rt.client(plan.provider_url), channel, domain)
        except ProviderError:
            held = None
        room = max(0, coverage(state) - channel_base(held, state.claimed))
        shown = Amount(plan.asset, room).format(max_decimals=6)
        label = (
            f"Escrow channel with {plan.provider.name}: {shown} available"
            if state.deposited
            else f"Escrow channel with {plan.provider.name}: not funded yet"
        )
        return FundingOption(
            kind="escrow",
            label=label,
            available=room,
            needs_deposit=room < plan.tick_cost(),
            wallet_holds=await self._wallet_holds(plan.asset),
        )

    async def _wallet_holds(self, asset: Asset) -> int | None:
        """What the account's wallet holds of ``asset`` (for the start dialog's check); None if unread."""
        from paygo_desktop.escrow.balances import token_balance

        try:
            return (await token_balance(self.w3, asset, self.account)).units
        except Exception as exc:
            log.info("%s balance not read before a start: %r", asset.symbol, exc)
            return None

    def _own_permissions(self, provider_url: str, permission_id: str | None = None) -> list[_OwnPermission]:
        """The app's own record of this account's active permissions with ``provider_url``: the rate agreed
        when each was bought and what the app's meter says is left (never the provider's figures)."""
        from sqlalchemy import select

        query = select(ZcashPermissionRow).where(
            ZcashPermissionRow.provider_url == provider_url, ZcashPermissionRow.status == "active"
        )
        if permission_id is not None:
            query = query.where(ZcashPermissionRow.permission_id == permission_id)
        with self.store.session() as s:
            return [
                _OwnPermission(
                    r.permission_id,
                    r.rate_per_hour_zat,
                    max(0, r.amount_zat - r.metered_zat),
                    r.allow_fallback,
                )
                for r in s.scalars(query).all()
                if r.account.lower() == self.account.lower()
            ]

    async def _zcash_options(self, plan: SessionPlan) -> list[FundingOption]:
        options = []
        for permission_id, rate, available, allow_fallback in self._own_permissions(plan.provider_url):
            shown = Amount(ZEC, available).format()
            options.append(
                FundingOption(
                    kind="zcash",
                    label=f"Zcash permission {permission_id}: {shown} left",
                    available=available,
                    needs_deposit=False,
                    permission_id=permission_id,
                    asset=ZEC,
                    price=Price(rate, "per_hour"),
                    allow_fallback=allow_fallback,
                )
            )
        return options

    # ------------------------------------------------------------------ starting

    def _record_start(self, plan: SessionPlan, asset: Asset, price: Price, cap: int, **funding: Any) -> str:
        """The session's row, written before anything is sent to the provider; returns its local id."""
        local_id = uuid.uuid4().hex
        self.history.create(
            local_id=local_id,
            account=self.account,
            network=self.network.key,
            provider_url=plan.provider_url,
            provider_name=plan.provider.name,
            provider_address=plan.provider.pay_to,
            service_id=plan.service.id,
            service_name=plan.service.name,
            category=plan.service.category,
            service_type=plan.service.type.value,
            asset_symbol=asset.symbol,
            asset_address=asset.address,
            decimals=asset.decimals,
            rate_amount=price.amount,
            rate_unit=price.unit,
            tick_seconds=plan.tick_seconds,
            grace_seconds=plan.grace_seconds,
            budget=cap,
            status="starting",
            started_at=self.rt.now(),
            **funding,
        )
        return local_id

    async def start(self, plan: SessionPlan, options: StartOptions) -> LiveSession:
        if options.funding == "zcash":
            return await self._start_zcash(plan, options)
        return await self._start_escrow(plan, options)

    def _busy_message(self, plan: SessionPlan) -> str:
        return (
            f"A session is already running on your channel with {plan.provider.name}. Stop it first; "
            "sessions with other providers can run at the same time."
        )

    async def _check_rate(self, plan: SessionPlan, client: ProviderClient) -> None:
        """The service's rate, tick and grace now must be the ones the user agreed to in the plan."""
        current = await client.get_service(plan.service.id)
        if current.rate != plan.service.rate:
            raise SessionError(
                f"{plan.provider.name} changed the rate of “{plan.service.name}” from "
                f"{_rate_text(plan.service.rate, plan.asset)} to {_rate_text(current.rate, plan.asset)}. "
                "Nothing was paid; look at the new rate and start again."
            )
        if (current.tick_seconds, current.grace_seconds) != (plan.tick_seconds, plan.grace_seconds):
            raise SessionError(
                f"{plan.provider.name} changed the terms of “{plan.service.name}” (tick "
                f"{plan.tick_seconds} s → {current.tick_seconds} s, grace {plan.grace_seconds} s → "
                f"{current.grace_seconds} s). Nothing was paid; look at the new terms and start again."
            )

    @staticmethod
    def _terms(plan: SessionPlan) -> Terms:
        """The catalog's terms the user saw, within the bounds PayGo pays under."""
        try:
            return Terms(plan.price, plan.tick_seconds, plan.grace_seconds)
        except TermsRefused as exc:
            raise SessionError(f"{exc} Nothing was paid.") from None

    async def _start_escrow(
        self, plan: SessionPlan, options: StartOptions, signer: Any = None
    ) -> LiveSession:
        if not self._network_matches(plan.provider):
            raise SessionError(self._no_escrow_reason(plan.provider))
        vault = self.vault()
        channel = await self.channel_for(plan.provider, plan.asset)
        cid = "0x" + channel.id.hex()
        if cid in self._reserved_channels or any(
            h.live.channel_id == cid and h.live.is_active for h in self._handles.values()
        ):
            raise SessionError(self._busy_message(plan))
        self._reserved_channels.add(cid)
        try:
            return await self._start_escrow_on(plan, options, vault, channel, cid, signer)
        finally:
            self._reserved_channels.discard(cid)

    async def _start_escrow_on(
        self,
        plan: SessionPlan,
        options: StartOptions,
        vault: VaultClient,
        channel: Channel,
        cid: str,
        signer: Any = None,
    ) -> LiveSession:
        rt = self.rt
        client = rt.client(plan.provider_url)
        terms = self._terms(plan)
        if signer is None:
            signer = self.wallet.local_account(self.account)
        for leftover in self.history.open_on_channel(cid):
            report = await reconcile(rt, leftover, signer)
            if report.outcome == "unknown":
                raise SessionError(
                    "An earlier session on this channel is not settled yet and its provider cannot be "
                    "reached; nothing new was started."
                )
        await self._check_rate(plan, client)
        domain = await self._chain(vault.domain)
        if options.deposit:
            await deposit(
                self.transaction_manager(),
                vault,
                signer,
                channel,
                plan.asset,
                options.deposit,
                progress=self._transaction_progress,
            )
        state = await self._chain(lambda: vault.channel_state(channel))
        held = await self._provider_cursor(client, channel, domain, signer)
        base = channel_base(held, state.claimed)
        confirmed = self.history.channel_cursor(cid)
        if confirmed > base:
            raise SessionError(
                f"{plan.provider.name} reports less for your channel than it confirmed before "
                f"({Amount(plan.asset, base).format()} < {Amount(plan.asset, confirmed).format()}). "
                "Not starting, so that nothing is paid twice."
            )
        room = coverage(state) - base
        tick_cost = plan.tick_cost()
        if room < tick_cost:
            short = Amount(plan.asset, tick_cost - max(0, room)).format()
            raise SessionError(
                f"The channel with {plan.provider.name} holds {Amount(plan.asset, max(0, room)).format()} "
                f"for new sessions; one tick costs {Amount(plan.asset, tick_cost).format()}. Deposit at "
                f"least {short} more."
            )
        if room < options.budget:
            cap, cap_reason = room, "The channel's funds ran out; stopped."
        else:
            cap = options.budget
            cap_reason = f"Reached this session's budget of {Amount(plan.asset, cap).format()}; stopped."
        # the provider takes a first voucher strictly above what it holds and what was claimed (after a
        # claimed voucher ahead, the claim is above the base), and at most one tick above that
        first = min(cap, max(tick_cost, state.claimed - base + 1))
        local_id = self._record_start(
            plan,
            plan.asset,
            plan.price,
            cap,
            funding="escrow",
            chain_id=self.network.chain_id,
            channel_id=cid,
            channel_base=base,
            signed=base,
            acked=base,
        )
        live = LiveSession(
            local_id=local_id,
            service_name=plan.service.name,
            provider_name=plan.provider.name,
            asset=plan.asset,
            price=plan.price,
            budget=cap,
            tick_seconds=plan.tick_seconds,
            grace_seconds=plan.grace_seconds,
            meter=Meter(plan.price, cap, plan.tick_seconds, clock=rt.clock),
            funding="escrow",
            provider_url=plan.provider_url,
            service_id=plan.service.id,
            channel_id=cid,
        )
        payer = EscrowSession(
            rt,
            live,
            plan,
            client=client,
            vault=vault,
            domain=domain,
            channel=channel,
            signer=signer,
            base=base,
            cap_reason=cap_reason,
            limit=SigningLimit(terms, cap, prepaid=max(0, state.claimed - base)),
        )
        handle = _Handle(live=live, payer=payer, plan=plan, options=options)
        self._handles[local_id] = handle
        try:
            return await self._open_escrow(
                handle, payer, plan, client, domain, channel, cid, base, first, cap
            )
        except BaseException as exc:
            self._abandon_start(handle, exc)
            raise

    async def _open_escrow(
        self,
        handle: _Handle,
        payer: EscrowSession,
        plan: SessionPlan,
        client: ProviderClient,
        domain: VaultDomain,
        channel: Channel,
        cid: str,
        base: int,
        first: int,
        cap: int,
    ) -> LiveSession:
        """The start request with the first voucher, the quote's check, the launch (handle registered)."""
        rt, live = self.rt, handle.live
        local_id = live.local_id
        signature = await payer.sign(first)
        self.history.add_voucher(local_id, 0, base + first, signature, cid)
        live.signed = first
        handle.start_sent = True
        try:
            started = await client.start_session(plan.service.id, channel, base + first, signature)
        except (ProviderUnreachable, ProviderTimeout) as exc:
            # The start may have reached the provider: recovery asks it (GET /channels) at the next start.
            self._handles.pop(local_id, None)
            live.status = "failed"
            live.stop_reason = f"No answer to the start: {exc}"
            self.history.update(local_id, status="interrupted", stop_reason=live.stop_reason)
            self.rt.emit("failed", local_id, live.stop_reason)
            raise SessionError(
                f"{plan.provider.name} did not answer the start ({describe_error(exc)}); PayGo will settle "
                "it with the provider before the next session on this channel."
            ) from None
        except ProviderError as exc:
            self._fail_start(live, f"The provider did not start the session: {exc}")
            raise SessionError(
                f"{plan.provider.name} did not start the session: {describe_error(exc)}"
            ) from None
        live.remote_id = started.session_id
        live.access = started.access  # its token also proves the stop is ours
        self.history.update(local_id, remote_id=started.session_id)
        problem = self._quote_problem(started.quote, plan, domain, cid, base)
        if problem is not None:
            await payer.cancel_remote()
            self._fail_start(live, problem)
            raise SessionError(problem)
        self.history.ack_voucher(local_id, 0, base + first)
        live.acked = first
        # the catalog's tick and grace (the quote repeats them): never the quote's own
        live.meter = Meter(plan.price, cap, live.tick_seconds, clock=rt.clock)
        live.status = "running"
        self.history.update(
            local_id,
            status="running",
            tick_seconds=live.tick_seconds,
            grace_seconds=live.grace_seconds,
            **session_proof_fields(started.quote, plan.provider, channel),  # for its proof file
        )
        self._launch(handle)
        rt.emit(
            "started",
            local_id,
            f"Started “{plan.service.name}” with {plan.provider.name} at "
            f"{_rate_text(plan.service.rate, plan.asset)}, "
            f"up to {Amount(plan.asset, cap).format()}.",
        )
        return live

    def _quote_problem(
        self, quote: m.Quote, plan: SessionPlan, domain: VaultDomain, cid: str, base: int
    ) -> str | None:
        if not verify_quote(quote, plan.provider):
            return "The provider's quote is not signed by its key; the session was refused."
        if quote.rate != plan.service.rate:
            return (
                f"The provider quoted {_rate_text(quote.rate, plan.asset)} instead of the "
                f"{_rate_text(plan.service.rate, plan.asset)} you agreed to; the session was refused."
            )
        try:
            check_quote(self._terms(plan), price_of(quote.rate), quote.tick_seconds, quote.grace_seconds)
        except TermsRefused as exc:
            return f"{exc} The session was refused; nothing more was signed."
        if (
            quote.service_id != plan.service.id
            or quote.channel_id != cid
            or quote.chain_id != domain.chain_id
            or quote.vault.lower() != domain.vault.lower()
        ):
            return "The provider's quote names another service, channel or vault; the session was refused."
        if quote.start_cumulative != base:
            return (
                "The provider counts your channel from another amount than you do; the session was refused."
            )
        return None

    def _abandon_start(self, handle: _Handle, exc: BaseException) -> None:
        """A start that failed after its handle was registered: it leaves no handle behind, and anyone
        already waiting on it (a stop, the app's shutdown) gets a failed summary, never a wait for ever."""
        live = handle.live
        self._handles.pop(live.local_id, None)
        if live.status in ("starting", "running"):
            if not isinstance(exc, SessionError):
                log.error("session %s: the start failed: %r", live.local_id, exc)
            reason = describe_error(exc) if isinstance(exc, Exception) else "the start was cancelled"
            with contextlib.suppress(Exception):
                if handle.start_sent:  # the provider may hold it: recovery settles it with the provider
                    live.status, live.stop_reason = "failed", f"The session did not start: {reason}"
                    live.meter.stop()
                    self.history.update(live.local_id, status="interrupted", stop_reason=live.stop_reason)
                    self.rt.emit("failed", live.local_id, live.stop_reason)
                else:
                    self._fail_start(live, f"The session did not start: {reason}")
        if not handle.done.done():
            handle.done.set_result(
                SessionSummary(
                    local_id=live.local_id,
                    seconds=0,
                    cost=live.acked,
                    rate=live.price,
                    asset=live.asset,
                    receipt_ok=False,
                    receipt=None,
                    message=live.stop_reason or "The session did not start.",
                    metered=0,
                    status="failed",
                )
            )

    def _fail_start(self, live: LiveSession, reason: str) -> None:
        live.status = "failed"
        live.stop_reason = reason
        live.meter.stop()
        record = self.history.get(live.local_id)
        acked = record.acked - record.channel_base if record is not None else 0
        self.history.settle_spending(live.local_id, max(0, acked))
        self.history.update(
            live.local_id, status="failed", stop_reason=reason, cost=max(0, acked), ended_at=self.rt.now()
        )
        self._handles.pop(live.local_id, None)
        self.rt.emit("failed", live.local_id, reason)

    async def _start_zcash(self, plan: SessionPlan, options: StartOptions) -> LiveSession:
        rt = self.rt
        assert options.permission_id is not None
        option = plan.option("zcash", options.permission_id)
        if option is None or option.price is None:
            raise SessionError("That Zcash permission is not one of this provider's active permissions.")
        if self.token_lookup is None:
            raise SessionError("Zcash permissions are not available in this window.")
        if any(
            h.live.permission_id == options.permission_id and h.live.is_active for h in self._handles.values()
        ):
            raise SessionError("That Zcash permission already pays a running session.")
        client = rt.client(plan.provider_url)
        token = self.token_lookup(options.permission_id)
        own = self._own_permissions(plan.provider_url, options.permission_id)
        if not own:
            raise SessionError("That Zcash permission is not active by this app's record.")
        # the agreed rate and our own meter's room: a provider's GET cannot change what we meter
        price = Price(own[0].rate_per_hour_zat, "per_hour")
        room = own[0].available_zat
        if room <= 0:
            raise SessionError("That Zcash permission is used up.")
        cap = min(room, options.budget)
        cap_reason = f"Reached this session's budget of {Amount(ZEC, cap).format()}; stopped."
        fallback_signer = None
        if options.allow_fallback:
            fallback_signer = await self._prepare_fallback(plan, options)
        if options.allow_fallback and options.budget > room:
            exhausted_reason = "The Zcash permission ran out; continuing on the escrow channel."
        else:
            exhausted_reason = (
                "The Zcash permission ran out; stopped. Buy a new one on the Zcash page, or allow the "
                "escrow channel to take over when you start a session."
            )
        local_id = self._record_start(
            plan, ZEC, price, cap, funding="zcash", chain_id=None, zcash_permission_id=options.permission_id
        )
        try:
            remote = await client.start_zcash_session(options.permission_id, plan.service.id, token)
        except ProviderError as exc:
            self.history.update(local_id, status="failed", stop_reason=str(exc), ended_at=rt.now())
            raise SessionError(
                f"{plan.provider.name} did not start the session: {describe_error(exc)}"
            ) from None
        live = LiveSession(
            local_id=local_id,
            service_name=plan.service.name,
            provider_name=plan.provider.name,
            asset=ZEC,
            price=price,
            budget=cap,
            tick_seconds=plan.tick_seconds,
            grace_seconds=plan.grace_seconds,
            meter=Meter(price, cap, plan.tick_seconds, clock=rt.clock),
            funding="zcash",
            status="running",
            provider_url=plan.provider_url,
            service_id=plan.service.id,
            remote_id=remote.session_id,
            permission_id=options.permission_id,
        )
        self.history.update(local_id, remote_id=remote.session_id, status="running")
        payer = ZcashRun(
            rt,
            live,
            client=client,
            store=self.store,
            token=token,
            remote=remote,
            cap_reason=cap_reason,
            cap_is_permission=cap == room,
            exhausted_reason=exhausted_reason,
        )
        handle = _Handle(live=live, payer=payer, plan=plan, options=options, fallback_signer=fallback_signer)
        self._handles[local_id] = handle
        self._launch(handle)
        rt.emit(
            "started",
            local_id,
            f"Started “{plan.service.name}” with {plan.provider.name}, paid from Zcash permission "
            f"{options.permission_id} at {Amount(ZEC, price.amount).format()} per hour.",
        )
        return live

    # ------------------------------------------------------------------ running and stopping

    def _launch(self, handle: _Handle) -> None:
        handle.loop_task = asyncio.ensure_future(handle.payer.run())
        if handle.requested is not None:  # stop was asked for while it was starting
            handle.loop_task.cancel()
        handle.drive_task = asyncio.ensure_future(self._drive(handle))
        if isinstance(handle.payer, EscrowSession) and self.claim_poll_seconds > 0:
            handle.claims_task = asyncio.ensure_future(handle.payer.watch_claims(self.claim_poll_seconds))

    async def _drive(self, handle: _Handle) -> None:
        live = handle.live
        assert handle.loop_task is not None
        ending: Ending | ZcashEnding
        escrow = isinstance(handle.payer, EscrowSession)
        try:
            ending = await handle.loop_task
        except asyncio.CancelledError:
            reason = handle.requested or "Stopped."
            ending = Ending(reason) if escrow else ZcashEnding(reason)
        except Exception as exc:
            log.exception("session %s loop failed", live.local_id)
            reason = f"Something went wrong while paying ({type(exc).__name__}); stopped."
            ending = Ending(reason, failed=True) if escrow else ZcashEnding(reason, failed=True)
        live.status = "stopping"
        self.history.update(live.local_id, status="stopping")
        if handle.claims_task is not None:
            handle.claims_task.cancel()
        try:
            summary = await handle.payer.finish(ending)  # type: ignore[arg-type]
        except Exception as exc:
            log.exception("session %s stop failed", live.local_id)
            live.status = "failed"
            message = f"Stopping went wrong ({type(exc).__name__}); the session is marked failed."
            self.history.update(live.local_id, status="failed", stop_reason=message, ended_at=self.rt.now())
            summary = SessionSummary(
                local_id=live.local_id,
                seconds=live.meter.elapsed_ns() // 1_000_000_000,
                cost=live.acked,
                rate=live.price,
                asset=live.asset,
                receipt_ok=False,
                receipt=None,
                message=message,
                metered=live.meter.cost(),
                status="failed",
            )
            self.rt.emit("failed", live.local_id, message)
        if not handle.done.done():
            handle.done.set_result(summary)
        if isinstance(ending, ZcashEnding) and ending.exhausted:
            await self._fallback(handle, summary)

    async def _prepare_fallback(self, plan: SessionPlan, options: StartOptions) -> Any:
        """Before a Zcash session that may continue on escrow starts: the escrow channel must be possible
        here, the deposit asked for is made now (so the switch does not wait for a transaction), and the
        signer is taken now, so that the switch still works if the wallet locks meanwhile."""
        if not self._network_matches(plan.provider):
            raise SessionError(
                f"{plan.provider.name} does not take escrow payments on {self.network.name}, so the escrow "
                "channel cannot take over when the permission runs out. Untick that choice to start."
            )
        signer = self.wallet.local_account(self.account)
        if options.deposit:
            vault = self.vault()
            channel = await self.channel_for(plan.provider, plan.asset)
            await deposit(
                self.transaction_manager(),
                vault,
                signer,
                channel,
                plan.asset,
                options.deposit,
                progress=self._transaction_progress,
            )
        return signer

    def _transaction_progress(self, message: str) -> None:
        """A deposit's steps, as events (the headless command prints them)."""
        self.rt.emit("transaction", "", message)

    async def _fallback(self, handle: _Handle, summary: SessionSummary) -> None:
        """The permission ran out: continue on the escrow channel for the seconds the budget had left."""
        options, plan = handle.options, handle.plan
        if options is None or plan is None or not options.allow_fallback:
            return
        live = handle.live
        signer, handle.fallback_signer = handle.fallback_signer, None
        seconds_left = live.price.seconds_for(max(0, options.budget - summary.metered))
        budget = plan.price.cost_seconds(seconds_left)
        if seconds_left < plan.tick_seconds or budget <= 0:
            return  # the budget ran out with the permission: nothing left to continue
        try:
            new = await self._start_escrow(plan, StartOptions(funding="escrow", budget=budget), signer)
        except Exception as exc:
            if not isinstance(exc, SessionError):
                log.exception("session %s: the escrow fallback failed", live.local_id)
            self.rt.emit(
                "failed",
                live.local_id,
                f"The Zcash permission ran out and the escrow channel could not take over: "
                f"{describe_error(exc)}",
            )
            return
        self.rt.emit(
            "fallback",
            new.local_id,
            f"The Zcash permission ran out; “{plan.service.name}” continues on the escrow channel with "
            f"{plan.provider.name}, up to {Amount(plan.asset, new.budget).format()} "
            f"(the rest of this session's budget).",
        )

    async def stop(self, local_id: str, reason: str = "Stopped by you.") -> SessionSummary:
        handle = self._handles.get(local_id)
        if handle is None:
            record = self.history.get(local_id)
            if record is None:
                raise SessionError("There is no such session.")
            raise SessionError(f"“{record.service_name}” is not running (it is {record.status}).")
        if not handle.done.done() and handle.requested is None:
            handle.requested = reason
            if handle.loop_task is not None:
                handle.loop_task.cancel()
        return await asyncio.shield(handle.done)

    async def wait(self, local_id: str) -> SessionSummary:
        """Until the session ends by itself (cap, funds, provider) or is stopped."""
        handle = self._handles.get(local_id)
        if handle is None:
            raise SessionError("There is no such session.")
        return await asyncio.shield(handle.done)

    def live(self) -> list[LiveSession]:
        return [h.live for h in self._handles.values() if h.live.is_active]

    def session(self, local_id: str) -> LiveSession | None:
        handle = self._handles.get(local_id)
        return handle.live if handle is not None else None

    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        return self.rt.subscribe(callback)

    async def refresh_claimed(self, local_id: str) -> int:
        """Read the chain now for what the provider claimed of this session (also done every
        ``claim_poll_seconds`` while it runs)."""
        handle = self._handles.get(local_id)
        if handle is None or not isinstance(handle.payer, EscrowSession):
            raise SessionError("Only escrow sessions started in this run can be followed on chain.")
        return await handle.payer.refresh_claimed()

    async def close_request(self, local_id: str) -> TxRequest:
        """After a stop: the transaction that closes the session's channel cooperatively, for the shared
        transaction dialog. The provider's Close is asked for and checked, and the app signs its own
        voucher for the same amount (``escrow.close``): never more than this app signed on the channel."""
        record = self.history.get(local_id)
        if record is None or record.funding != "escrow" or record.channel_id is None:
            raise SessionError("Only a stopped escrow session's channel can be closed.")
        if record.is_open:
            raise SessionError("Stop the session before closing its channel.")
        if record.provider_address is None:
            raise SessionError("This session's provider address is unknown.")
        vault = self.vault()
        client = self.rt.client(record.provider_url)
        channel = await find_session_channel(
            await self._min_withdraw_delay(),
            client,
            self.account,
            record.provider_address,
            record.asset,
            bytes.fromhex(record.channel_id[2:]),
        )
        if channel is None:
            raise SessionError("This session's channel is not one of the app's channels with that provider.")
        signer = self.wallet.local_account(self.account)
        try:
            plan = await plan_close(
                vault,
                client,
                signer,
                channel,
                record.asset,
                signed_max=self.history.channel_signed(record.channel_id),
                provider_name=record.provider_name,
            )
        except (SessionError, UserFacingError):
            raise
        except Exception as exc:
            log.warning("preparing the close failed: %r", exc)
            raise SessionError(
                f"Cannot read the escrow vault on {self.network.name} ({type(exc).__name__}); "
                "nothing was sent."
            ) from None
        return plan.request

    # ------------------------------------------------------------------ recovery and exit

    async def recover(self) -> list[RecoveryReport]:
        """Reconcile the sessions an earlier run left unfinished (call at start-up, before starting any)."""
        reports = []
        signer = self._signer_if_unlocked()
        if self.vault_address is not None:
            await self._heal_transactions()
        for record in self.history.unfinished(self.account):
            if record.local_id in self._handles:
                continue
            reports.append(await reconcile(self.rt, record, signer, self.token_lookup))
        return reports

    async def _heal_transactions(self) -> None:
        """At recovery: the account's transactions an earlier run stored but never sent go out again
        (best effort: a chain that does not answer leaves them for the next start or the Escrow page)."""
        try:
            healed = await self.transaction_manager().heal(self.account)
        except Exception as exc:
            log.info("transactions not healed at recovery: %r", exc)
            return
        for line in healed.describe():
            self._transaction_progress(line)

    def _signer_if_unlocked(self) -> Any:
        """The account's key, or None while the wallet is locked: recovery then proves nothing to a
        provider (and cannot sign in to find a session whose id was never saved)."""
        try:
            return self.wallet.local_account(self.account)
        except UserFacingError:
            return None

    async def shutdown(self) -> None:
        """App exit: stop every live session cleanly, then close the provider connections."""
        handles = [h for h in self._handles.values() if h.live.is_active]
        for handle in handles:
            with contextlib.suppress(SessionError):
                await self.stop(handle.live.local_id, "Stopped because the app is closing.")
        await self.rt.close_clients()
        if self._owns_w3 and self._w3 is not None:
            with contextlib.suppress(Exception):
                await self._w3.provider.disconnect()


def _rate_text(rate: m.Rate, asset: Asset) -> str:
    per = {"per_second": "second", "per_minute": "minute", "per_hour": "hour"}[rate.unit.value]
    amount = Amount(Asset(rate.asset, asset.decimals, asset.address), rate.amount).format()
    return f"{amount} per {per}"
