"""The app's core services for one data directory, built once and handed to whichever front end runs.

Qt-free: the GUI's composition root (``paygo_desktop.app``) and the headless commands both start here.

The network in use is read once (its record from the store, and on the Sandbox network the running
sandbox's state file: ``find_network``) and kept until the network is switched (``use_network``; the GUI's
``switch_network``, with the network it found in a worker; or a new key in the settings) or what stands
behind it changes (``invalidate_network``: a custom network saved again, the sandbox started): the GUI
asks for it on every repaint of some views, and it must cost nothing there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from paygo_desktop.money import Asset
from paygo_desktop.networks import SANDBOX, Network, with_fee_ceiling
from paygo_desktop.paths import DataDir
from paygo_desktop.settings import Settings
from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.deployments import DeploymentRepository
from paygo_desktop.store.networks import NetworkRepository

if TYPE_CHECKING:
    from paygo_desktop.history.account_history import AccountHistory
    from paygo_desktop.prices.board import PriceBoard
    from paygo_desktop.prices.feeds import Currency, FeedBook
    from paygo_desktop.prices.fiat import FiatPrice
    from paygo_desktop.sandbox.state import SandboxState
    from paygo_desktop.sessions.session_record import SessionRecord
    from paygo_desktop.wallet import Wallet
    from paygo_desktop.zcash.book import PermissionBook


@dataclass
class AppContext:
    data_dir: DataDir
    settings: Settings
    store: Store
    accounts: AccountRepository = field(init=False)
    networks: NetworkRepository = field(init=False)
    activity: ActivityLog = field(init=False)
    _network: tuple[str, Network] | None = field(default=None, init=False, repr=False)
    _sandbox: tuple[SandboxState | None] | None = field(default=None, init=False, repr=False)  # once read

    def __post_init__(self) -> None:
        self.accounts = AccountRepository(self.store)
        self.networks = NetworkRepository(self.store)
        self.activity = ActivityLog(self.store)

    @classmethod
    def open(cls, data_dir: DataDir) -> AppContext:
        data_dir.ensure()
        settings = Settings.load(data_dir.settings_file)
        store = Store.open(data_dir.database_file)
        return cls(data_dir=data_dir, settings=settings, store=store)

    @cached_property
    def wallet(self) -> Wallet:
        from paygo_desktop.wallet import Wallet

        return Wallet(self.data_dir.wallet_dir, self.accounts)

    @cached_property
    def zcash_book(self) -> PermissionBook:
        """The Zcash permissions; tokens sealed under the keys of the (unlocked) wallet's accounts.

        ``zcash_book.token_lookup(permission_id) -> str`` is what the session engine is given."""
        from paygo_desktop.zcash.book import PermissionBook

        return PermissionBook(self.store, lambda account: bytes(self.wallet.local_account(account).key))

    @property
    def network(self) -> Network:
        """The network in use (kept: see the module's docstring)."""
        key = self.settings.network
        if self._network is None or self._network[0] != key:
            self._network = (key, self.find_network(key))
        return self._network[1]

    def find_network(self, key: str) -> Network:
        """The network ``key`` as the app would use it (blocking: its record is SQL, and on the Sandbox
        network the running sandbox's state file is read, once): the Sandbox network if there is none."""
        network = self.configured(self.networks.get(key) or SANDBOX)
        state = self._sandbox_state(network)
        if state is not None:  # a running sandbox may have had to use another port
            network = replace(network, rpc_url=state.rpc_url)
        return network

    def configured(self, network: Network) -> Network:
        """``network`` with what the user set for it in the settings: its fee ceiling (no I/O)."""
        return with_fee_ceiling(network, self.settings.fee_ceilings)

    def set_fee_ceiling(self, key: str, wei: int | None) -> None:
        """Sign at most ``wei`` per unit of gas on the network ``key`` from now on (None: the network's own
        ceiling), checked (``fee_ceiling.FeeCeilingError``); the network in use takes it at once. In memory
        only (no I/O: the GUI sets it on its thread and has the settings written in a worker)."""
        self.settings.set_fee_ceiling(key, wei)
        if self._network is not None and self._network[1].key == key:
            self._network = (self._network[0], self.configured(self._network[1]))

    def switch_network(self, key: str, network: Network) -> None:
        """Use ``network`` (what ``find_network(key)`` found) from now on: the settings say so, in memory
        only (no I/O: the GUI switches on its thread and has the settings written in a worker)."""
        self.settings.network = key
        self._network = (key, network)

    def use_network(self, key: str) -> Network:
        """Switch to the network ``key`` and save the settings (blocking)."""
        self.switch_network(key, self.find_network(key))
        self.settings.save()
        return self.network

    def invalidate_network(self) -> None:
        """The network's record or the sandbox behind it may have changed: read them again when next used."""
        self._network = None
        self._sandbox = None

    def provider_urls(self) -> list[str]:
        """Providers to browse: the ones the user added, and on the Sandbox network the sandbox's own."""
        urls = list(self.settings.providers)
        state = self._sandbox_state(self.network)
        if state is not None and state.provider_url not in urls:
            urls.insert(0, state.provider_url)
        return urls

    def vault_address(self, network: Network) -> str:
        """The PayGoVault used on ``network``: the canonical one (the same address on every chain:
        ``chain.canonical``), unless one was configured for the network or deployed from this data
        directory elsewhere (an older sandbox chain's, or a test's). Whichever it is, the app uses it only
        once its code is checked on the chain (``chain.code_check``)."""
        sandbox = self._sandbox_state(network)
        if sandbox is not None:  # the running sandbox's (a chain kept from before has its own)
            return str(sandbox.vault)
        deployed = DeploymentRepository(self.store).address(network.key, network.chain_id, "PayGoVault")
        if deployed or network.vault_address:
            return str(deployed or network.vault_address)
        from paygo_desktop.chain.canonical import VAULT

        return VAULT.address

    def registry_address(self, network: Network) -> str:
        """The PayGoRegistry providers register in: the canonical one, on every network."""
        from paygo_desktop.chain.canonical import REGISTRY

        return REGISTRY.address

    def sandbox_running(self, network: Network) -> bool:
        """Whether ``network`` is the sandbox and the sandbox is running (reads its state file)."""
        return self._sandbox_state(network) is not None

    def _sandbox_state(self, network: Network) -> SandboxState | None:
        """The running sandbox's state on the Sandbox network (read once until invalidated), else None."""
        if network.key != SANDBOX.key:
            return None
        if self._sandbox is None:
            from paygo_desktop.sandbox.state import read_state

            self._sandbox = (read_state(self.data_dir.sandbox_dir),)
        return self._sandbox[0]

    def jobs_address(self, network: Network) -> str:
        """The PayGoJobs used on ``network``: the canonical one, unless one was deployed from this data
        directory elsewhere (a test's). The app checks its code before funding a job (``jobs.service``)."""
        deployed = DeploymentRepository(self.store).address(network.key, network.chain_id, "PayGoJobs")
        if deployed:
            return str(deployed)
        from paygo_desktop.chain.canonical import JOBS

        return JOBS.address

    def known_tokens(self, network: Network) -> tuple[Asset, ...]:
        """The network's tokens: its built-in list (``token_list``), on a local chain the sandbox's test
        tokens (the running sandbox's, else the ones deployed from this data directory), then the tokens
        the user added by address (``tokens.adding``)."""
        from paygo_desktop.store.custom_tokens import CustomTokenRepository

        tokens = network.tokens
        if network.is_local:
            tokens = (*tokens, *self._local_test_tokens(network))
        added = CustomTokenRepository(self.store).assets(network.key, network.chain_id)
        listed = {t.address.lower() for t in tokens if t.address}
        return (*tokens, *(a for a in added if a.address and a.address.lower() not in listed))

    def _local_test_tokens(self, network: Network) -> tuple[Asset, ...]:
        from paygo_desktop.token_list import SANDBOX_TOKENS

        sandbox = self._sandbox_state(network)
        deployed = DeploymentRepository(self.store).all(network.key, network.chain_id)
        found: dict[str, str] = dict(sandbox.tokens) if sandbox is not None else {}
        usdc = (sandbox.usdc if sandbox is not None else None) or deployed.get("TestUSDC")
        if usdc:
            found.setdefault("USDC", usdc)
        if sandbox is None or not sandbox.tokens:
            for contract, address in deployed.items():
                if contract.startswith("Token:"):
                    found.setdefault(contract.removeprefix("Token:"), address)
        decimals = {symbol: d for symbol, d, _ in SANDBOX_TOKENS}
        return tuple(Asset(s, decimals[s], a) for s, a in found.items() if s in decimals)

    def price_feeds(self, network: Network) -> FeedBook:
        """The price feeds of ``network`` (``prices.feeds``): Base's, or on a local chain the sandbox's."""
        from paygo_desktop.prices.feeds import FeedBook, base_book, sandbox_book
        from paygo_desktop.token_list import BASE_CHAIN_ID

        if network.chain_id == BASE_CHAIN_ID:
            return base_book(network.tokens)
        if network.is_local:
            sandbox = self._sandbox_state(network)
            deployed = DeploymentRepository(self.store).all(network.key, network.chain_id)
            feeds = (
                dict(sandbox.feeds)
                if sandbox is not None and sandbox.feeds
                else {c.removeprefix("Feed:"): a for c, a in deployed.items() if c.startswith("Feed:")}
            )
            tokens = {t.symbol: str(t.address) for t in self._local_test_tokens(network)}
            return sandbox_book(feeds, tokens)
        return FeedBook()

    def account_history(self, account: str) -> AccountHistory:
        """``account``'s on-chain history on the current network, valued in the display currency (SQL: call
        it off the GUI thread)."""
        from paygo_desktop.history.account_history import AccountHistory
        from paygo_desktop.prices.feeds import currency

        network = self.network
        chosen = currency(self.settings.display_currency)
        tokens = self.known_tokens(network)
        return AccountHistory(self.store, network, account, tokens, self.price_feeds(network), chosen)

    async def fiat_board(self, assets: Iterable[Asset], network: Network | None = None) -> PriceBoard:
        """What ``assets`` are worth now in the user's display currency (``prices.board.PriceBoard``),
        read from ``network``'s price feeds (the current network by default)."""
        from paygo_desktop.prices.board import read_board
        from paygo_desktop.prices.feeds import currency

        network = network or self.network
        chosen = currency(self.settings.display_currency)
        book = await asyncio.to_thread(self.price_feeds, network)  # the sandbox's feeds: from the store
        return await read_board(network.rpc_url, book, chosen, assets, network.name)

    async def session_prices(
        self, records: Iterable[SessionRecord]
    ) -> tuple[Currency, dict[str, FiatPrice | None]]:
        """Each past session's price (``sessions.values``) in the display currency when it ended, from the
        current network's feeds (its own connection, closed after)."""
        from paygo_desktop.chain.rpc import async_web3
        from paygo_desktop.prices.feeds import currency
        from paygo_desktop.prices.history import PriceHistory
        from paygo_desktop.sessions.values import session_prices
        from paygo_desktop.store.feed_readings import FeedReadings

        network = self.network
        chosen = currency(self.settings.display_currency)
        book = await asyncio.to_thread(self.price_feeds, network)
        records = list(records)
        if book.empty:
            return chosen, dict.fromkeys((r.local_id for r in records), None)
        w3 = async_web3(network.rpc_url, timeout=10)
        try:
            history = PriceHistory(w3, FeedReadings(self.store), network.chain_id, book, chosen)
            return chosen, await session_prices(records, history)
        finally:
            await w3.provider.disconnect()

    def close(self) -> None:
        self.store.close()
