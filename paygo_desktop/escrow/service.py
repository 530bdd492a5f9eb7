"""One account on one network: its balances, its escrow channels, and the transactions that move them.

``EscrowService.open(ctx, account)`` builds it from the ``AppContext`` (the network's RPC, the vault,
the known tokens, the store). Every ``plan_*`` method checks what the app can check before anything is
signed (a balance, the amount left in a channel, a withdrawal being due) and returns the ``TxRequest``s
to send, in order, through ``self.transactions`` (a ``TransactionManager``), usually via a ``TxFlow``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.app_channels import current_app_channel, own_channel
from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.code_check import check_vault
from paygo_desktop.chain.create2 import code_at
from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.chain.transactions import (
    InsufficientFunds,
    RpcUnavailable,
    TransactionError,
    TransactionManager,
    TxRequest,
)
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.balances import read_balances, token_allowance, token_balance
from paygo_desktop.escrow.channels import ChannelReader, EscrowChannel
from paygo_desktop.escrow.close import CloseRefused, plan_close
from paygo_desktop.money import Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.prices.board import PriceBoard, read_prices
from paygo_desktop.prices.feeds import Currency, FeedBook
from paygo_desktop.prices.feeds import currency as currency_named
from paygo_desktop.store.database import Store
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository
from paygo_desktop.store.vault_events import VaultEventIndex

if TYPE_CHECKING:
    from web3 import AsyncWeb3

log = logging.getLogger(__name__)
RECENT_TRANSACTIONS = 20


def default_currency() -> Currency:
    return currency_named("USD")


class NoVault(UserFacingError):
    """The network has no PayGo vault the app knows of."""


@dataclass(frozen=True)
class EscrowOverview:
    """Everything the Escrow page shows, read in one go."""

    balances: list[Amount]
    channels: list[EscrowChannel]
    open_transactions: list[TransactionRecord]
    recent_transactions: list[TransactionRecord]
    nonce_gaps: list[int]
    chain_time: int  # the latest block's timestamp: withdrawal delays count in chain time
    vault_missing: bool = False
    prices: PriceBoard | None = None  # the balances' values in the display currency (None: not read)


@dataclass(frozen=True)
class EscrowSetup:
    """What an EscrowService is made of for one network and account: read from the settings, the store
    and the sandbox's state file (``read`` is SQL and file I/O: call it off the GUI thread; it also reads
    PayGoVault's ABI into ``load_artifact``'s cache, so that ``build`` opens no file)."""

    network: Network
    account: str
    vault_address: str | None
    tokens: tuple[Asset, ...]
    feeds: FeedBook
    currency: Currency

    @classmethod
    def read(cls, ctx: Any, account: str) -> EscrowSetup:
        network = ctx.network
        load_artifact("PayGoVault")  # kept in its cache: ``build`` may run on the GUI thread
        return cls(
            network,
            account,
            ctx.vault_address(network),
            tuple(ctx.known_tokens(network)),
            ctx.price_feeds(network),
            currency_named(ctx.settings.display_currency),
        )

    @property
    def key(self) -> tuple[Any, ...]:
        """What, when it changes, makes a new service: the network, the account, the vault, the tokens."""
        return (self.network, self.account, self.vault_address, self.tokens)


class EscrowService:
    def __init__(
        self,
        w3: AsyncWeb3,
        network: Network,
        account: str,
        store: Store,
        *,
        vault_address: str | None,
        tokens: Sequence[Asset] = (),
        confirmations: int | None = None,
        feeds: FeedBook | None = None,
        currency: Currency | None = None,
    ) -> None:
        self.w3 = w3
        self.network = network
        self.account = to_checksum_address(account)
        self.tokens = tuple(tokens)
        self.feeds = feeds or FeedBook()
        self.currency = currency or default_currency()
        self.transactions = TransactionManager.for_network(
            w3, network, TransactionRepository(store), confirmations=confirmations
        )
        self.vault = VaultClient(w3, vault_address) if vault_address else None
        self._vault_delay: int | None = None
        self.reader: ChannelReader | None = None
        if self.vault is not None:
            index = VaultEventIndex(store)
            self.reader = ChannelReader(
                self.vault, index, network.chain_id, tokens=self.tokens, native=network.native
            )

    @classmethod
    def open(cls, ctx: Any, account: str, **kw: Any) -> EscrowService:
        """For the context's current network (``ctx`` is an ``AppContext``)."""
        return cls.build(ctx.store, EscrowSetup.read(ctx, account), **kw)

    @classmethod
    def build(cls, store: Store, setup: EscrowSetup, **kw: Any) -> EscrowService:
        """From what ``EscrowSetup.read`` found (no SQL or file here: the GUI thread may call it)."""
        from paygo_desktop.chain.rpc import async_web3

        return cls(
            async_web3(setup.network.rpc_url, timeout=15),
            setup.network,
            setup.account,
            store,
            vault_address=setup.vault_address,
            tokens=setup.tokens,
            feeds=setup.feeds,
            currency=setup.currency,
            **kw,
        )

    @property
    def assets(self) -> tuple[Asset, ...]:
        return (self.network.native, *self.tokens)

    def explorer_url(self, tx_hash: str) -> str | None:
        return self.network.explorer_tx_url(tx_hash)

    # -- reading ---------------------------------------------------------------------------------------
    async def overview(self) -> EscrowOverview:
        """Check the network, bring open transactions up to date, sync the vault, read it all."""
        await self.transactions.check_network()
        try:
            await self.transactions.heal(self.account)  # stored-but-unsent ones go out again
            await self.transactions.refresh_all()
            balances = await read_balances(self.w3, self.account, self.network.native, self.tokens)
            channels: list[EscrowChannel] = []
            vault_missing = not await self._vault_deployed()
            if self.reader is not None and not vault_missing:
                await self.reader.sync()
                channels = await self.reader.channels(self.account)
            gaps = await self.transactions.nonce_gaps(self.account)
            now = await self.chain_time()
            prices = await self._prices(balances)
        except TransactionError:
            raise
        except Exception as exc:
            raise RpcUnavailable(
                f"The network's RPC endpoint did not answer ({short_rpc_message(exc)})."
            ) from None
        chain_id = self.network.chain_id
        recent = await self.transactions.recent(200)
        mine = [r for r in recent if r.chain_id == chain_id and r.sender == self.account]
        return EscrowOverview(
            balances=balances,
            channels=channels,
            open_transactions=[r for r in mine if r.is_open],
            recent_transactions=mine[:RECENT_TRANSACTIONS],
            nonce_gaps=gaps,
            chain_time=now,
            vault_missing=vault_missing,
            prices=prices,
        )

    async def _prices(self, balances: list[Amount]) -> PriceBoard | None:
        """What the balances are worth now (``prices.board``); None when the feeds cannot be read."""
        if self.feeds.empty:
            return None
        try:
            assets = [b.asset for b in balances]
            return await read_prices(self.w3, self.feeds, self.currency, assets, where=self.network.name)
        except Exception as exc:
            log.info("prices not read on %s: %s", self.network.name, short_rpc_message(exc))
            return None

    async def _vault_deployed(self) -> bool:
        """Whether the network's vault has code (the canonical vault is not on every chain yet)."""
        if self.vault is None:
            return False
        return self._vault_delay is not None or bool(await code_at(self.w3, self.vault.address))

    async def chain_time(self) -> int:
        """The latest block's timestamp (a local chain's clock may run ahead of the wall clock)."""
        block = await self.w3.eth.get_block("latest")
        return int(block["timestamp"])

    async def channel(self, channel_id: str) -> EscrowChannel | None:
        if self.reader is None:
            return None
        for ch in await self.reader.channels(self.account):
            if ch.channel_id == channel_id:
                return ch
        return None

    # -- planning ----------------------------------------------------------------------------------------
    def _vault(self) -> VaultClient:
        if self.vault is None:
            raise NoVault(f"No PayGo vault is known on {self.network.name}.")
        return self.vault

    async def _need(self, amount: Amount, what: str) -> None:
        """Raise InsufficientFunds unless the account holds ``amount`` (the fee is checked by the quote)."""
        held = await token_balance(self.w3, amount.asset, self.account)
        if held < amount:
            raise InsufficientFunds(f"The account holds {held.format()}; {what} needs {amount.format()}.")

    async def new_channel(
        self, provider: str, asset: Asset, provider_min_delay: int | None = None
    ) -> Channel:
        """The channel this app uses with ``provider`` in ``asset`` now: the payer signs its own vouchers,
        the shortest withdrawal delay the vault and the provider (``provider_min_delay``, from its
        ``GET /provider``) accept, and the first salt whose channel is not closed. The same inputs always
        give the same channel, so every part of the app (and the session engine) finds it."""
        vault = self._vault()
        delay = max(await self._trusted_vault_delay(), provider_min_delay or 0)
        provider = requests.parse_recipient(provider)
        return await current_app_channel(vault, self.account, provider, asset.address, delay)

    async def _trusted_vault_delay(self) -> int:
        """The vault's MIN_WITHDRAW_DELAY, once its code is checked on this network (``chain.code_check``):
        no deposit goes into a contract that is not PayGo's vault."""
        if self._vault_delay is None:
            self._vault_delay = await check_vault(
                self.w3, self._vault().address, where=self.network.name, network_key=self.network.key
            )
        return self._vault_delay

    async def plan_deposit(
        self, channel: Channel, amount: Amount, provider_name: str = ""
    ) -> list[TxRequest]:
        """Fund or top up ``channel``: an exact approval first for a token whose allowance is short. Only
        a channel this account pays into and alone signs for (``app_channels.own_channel``): anyone can
        make a channel in this account's name with their own key as the signer, and take what goes in."""
        if not own_channel(channel, self.account):
            raise requests.RequestError(not_a_deposit_target(channel, self.account))
        vault = self._vault()
        await self._trusted_vault_delay()
        await self._need(amount, "this deposit")
        plan: list[TxRequest] = []
        if amount.asset.address is not None:
            allowance = await token_allowance(self.w3, amount.asset, self.account, vault.address)
            if allowance < amount.units:
                plan.append(requests.approve(amount, vault.address, "for the deposit that follows"))
        plan.append(requests.fund(vault, channel, amount, provider_name))
        if self.reader is not None:
            self.reader.remember(channel)
        return plan

    async def plan_top_up(self, channel: EscrowChannel, amount: Amount) -> list[TxRequest]:
        """Add ``amount`` to a listed channel: refused for one whose vouchers another key signs, one whose
        terms are unknown, or one closed for good."""
        params = self._params(channel)
        if channel.warning is not None:
            raise requests.RequestError(channel.warning)
        if channel.closed:
            raise requests.RequestError("This channel is closed for good: nothing can be added to it.")
        return await self.plan_deposit(params, amount)

    def plan_withdrawal_request(self, channel: EscrowChannel, amount: Amount) -> list[TxRequest]:
        params = self._params(channel)
        if amount.units <= 0:
            raise requests.RequestError("Enter an amount greater than zero.")
        if amount > channel.available:
            raise requests.RequestError(
                f"The channel has {channel.available.format()} left that the provider has not claimed; "
                f"{amount.format()} is more than that."
            )
        return [requests.request_withdrawal(self._vault(), params, amount)]

    async def plan_finalize(self, channel: EscrowChannel) -> list[TxRequest]:
        params = self._params(channel)
        due_in = channel.withdrawal_due_in(await self.chain_time())
        if due_in is None:
            raise requests.RequestError("There is no withdrawal request to finalize on this channel.")
        if due_in > 0:
            raise requests.RequestError(f"The withdrawal can be finalized in {describe_wait(due_in)}.")
        return [requests.finalize_withdrawal(self._vault(), params, channel.payout_if_finalized)]

    async def plan_close(
        self, channel: EscrowChannel, signer: Any, *, committed: int, provider_urls: Sequence[str]
    ) -> list[TxRequest]:
        """Close ``channel`` with its provider now (``escrow.close``): the provider is found among
        ``provider_urls`` (the one whose payTo is the channel's provider, on this vault); ``signer`` is the
        unlocked account; ``committed`` the channel's settled total in this app's books (``plan_close``)."""
        params = self._params(channel)
        if channel.closed:
            raise CloseRefused("This channel is closed already.")
        if channel.warning is not None:  # a close needs the signer's voucher: not this account's to give
            raise CloseRefused(f"{channel.warning} Request a withdrawal instead.")
        vault = self._vault()
        client, name = await self._provider_of(channel, provider_urls)
        try:
            plan = await plan_close(
                vault, client, signer, params, channel.asset, committed=committed, provider_name=name
            )
        finally:
            await client.aclose()
        return [plan.request]

    async def _provider_of(self, channel: EscrowChannel, urls: Sequence[str]) -> tuple[Any, str]:
        """A client for the channel's provider (its payTo and this vault), and its name."""
        from paygo_desktop.protocol.client import ProviderClient, ProviderError

        assert self.vault is not None
        for url in dict.fromkeys(urls):  # in order, once each
            try:
                client = ProviderClient(url, timeout=10)
            except ProviderError:
                continue
            try:
                info = await client.provider_info()
            except ProviderError:
                await client.aclose()
                continue
            here = any(
                n.chain_id == self.network.chain_id and n.vault == self.vault.address for n in info.networks
            )
            if info.pay_to == channel.provider and here:
                return client, info.name
            await client.aclose()
        raise CloseRefused(
            "None of the providers this app knows answers for this channel's provider, so it cannot sign the "
            "close. Request a withdrawal instead: it is paid after the channel's delay."
        )

    async def plan_send(self, amount: Amount, to_text: str) -> list[TxRequest]:
        to = requests.parse_recipient(to_text)
        if to == self.account:
            raise requests.RequestError("That is this account's own address.")
        await self._need(amount, "this transfer")
        return [requests.send(amount, to)]

    def _params(self, channel: EscrowChannel) -> Channel:
        if channel.params is None:
            raise requests.RequestError(
                "This channel was funded through another contract; the app cannot read its parameters, "
                "so it cannot act on it."
            )
        return channel.params

    async def aclose(self) -> None:
        provider = getattr(self.w3, "provider", None)
        disconnect = getattr(provider, "disconnect", None)
        if disconnect is not None:
            result = disconnect()
            if asyncio.iscoroutine(result):
                await result


def not_a_deposit_target(channel: Channel, account: str) -> str:
    """Why the app will not deposit into ``channel`` from ``account`` (``own_channel`` is False)."""
    if channel.payer.lower() != account.lower():
        return f"This channel's payer is {channel.payer}, not this account: nothing is deposited into it."
    return (
        f"This channel's vouchers are signed by {channel.signer}, not by this account: anyone holding that "
        "key can take what is in it, so nothing is deposited into it."
    )


def describe_wait(seconds: int) -> str:
    """“3 days 4 h”, “2 h 5 min”, “4 min 10 s”, “12 s”."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
