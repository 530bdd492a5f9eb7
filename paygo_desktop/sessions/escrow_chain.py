"""The escrow vault as the session engine uses it, for one account on one network.

The vault's minimum withdrawal delay and EIP-712 domain are read once; the app's channel with a provider
is the first of its channels not closed on chain (``channels.session_channel``). A chain read that fails
becomes a ``SessionError`` that says so. Deposits are sent through the transaction manager (the shared
transaction dialog's requests, or ``deposit`` for the headless command and the Zcash fallback).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from eth_utils import to_checksum_address

from paygo_desktop.chain.app_channels import own_channel
from paygo_desktop.chain.transactions import Healed, TransactionManager, TxRequest
from paygo_desktop.chain.vault import ChannelState, VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests as tx_requests
from paygo_desktop.escrow.balances import token_balance
from paygo_desktop.escrow.close import plan_close
from paygo_desktop.money import Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.channel_terms import (
    channel_withdraw_delay,
    find_session_channel,
    trusted_vault_delay,
)
from paygo_desktop.sessions.channels import DEPOSIT_KIND, deposit, session_channel
from paygo_desktop.sessions.deposits_on_way import LANDED, deposit_into
from paygo_desktop.sessions.fee_limit import FeeLimit
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.plan import DepositOnItsWay, EscrowFacts, SessionError, SessionPlan
from paygo_desktop.store.database import Store
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository

if TYPE_CHECKING:
    from web3 import AsyncWeb3

    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.sessions.session_record import SessionRecord

log = logging.getLogger(__name__)
T = TypeVar("T")


NATIVE_DECIMALS = 18  # ETH's, on every EVM network the app knows


class EscrowChain:
    def __init__(
        self,
        store: Store,
        network: Network,
        vault_address: str | None,
        account: str,
        w3: AsyncWeb3 | None = None,
    ) -> None:
        self.store = store
        self.network = network
        self.vault_address = vault_address
        self.account = account
        self._w3 = w3
        self._owns_w3 = w3 is None
        self._vault: VaultClient | None = None
        self._withdraw_delay: int | None = None
        self._domain: VaultDomain | None = None
        self._token_facts: dict[str, Asset] = {}  # token address (lower case) → as its contract says
        # transactions an earlier run stored but never sent, sent again by this engine's heal: a deposit
        # among them is the earlier start's, which the next start counts instead of depositing again
        self._resent: dict[str, TransactionRecord] = {}

    @property
    def w3(self) -> AsyncWeb3:
        if self._w3 is None:
            from paygo_desktop.chain.rpc import async_web3

            self._w3 = async_web3(self.network.rpc_url)
        return self._w3

    def vault(self) -> VaultClient:
        if self.vault_address is None:
            raise SessionError(
                f"No escrow vault is known on {self.network.name}: escrow sessions are not possible there."
            )
        if self._vault is None or self._vault.address.lower() != self.vault_address.lower():
            self._vault = VaultClient(self.w3, self.vault_address)
            self._withdraw_delay = self._domain = None  # another vault's
        return self._vault

    async def read(self, what: Callable[[], Awaitable[T]]) -> T:
        """A chain read; its failure is a ``SessionError`` that names the network."""
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

    # -- what escrow is possible with a provider -------------------------------------------------------
    def matches(self, info: m.ProviderInfo) -> bool:
        """Does the provider take payments through this app's vault on this network?"""
        if self.vault_address is None:
            return False
        return any(
            n.chain_id == self.network.chain_id and n.vault.lower() == self.vault_address.lower()
            for n in info.networks
        )

    def no_escrow_reason(self, info: m.ProviderInfo) -> str:
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

    async def checked_asset(self, provider: m.ProviderInfo, asset: Asset) -> Asset:
        """``asset`` as the chain knows it: a provider's word on a token's decimals is what every amount of
        a session is read and typed in (a budget of "1 USDC" at a claimed 9 decimals is 1,000 real USDC),
        so it must be the token contract's own; its symbol is the contract's too. The native coin has 18."""
        if asset.address is None:
            if asset.decimals != NATIVE_DECIMALS:
                raise SessionError(
                    f"{provider.name} says {self.network.name}'s own coin has {asset.decimals} decimals, "
                    f"not {NATIVE_DECIMALS}: its prices cannot be read, so no session is started."
                )
            return asset
        key = asset.address.lower()
        if key not in self._token_facts:
            from paygo_desktop.chain.token_metadata import TokenMetadataError, read_token_metadata

            try:
                meta = await read_token_metadata(self.w3, asset.address)
            except TokenMetadataError as exc:
                raise SessionError(
                    f"{provider.name} prices in the token at {asset.address}, which this network does "
                    f"not show as a token: {exc}"
                ) from None
            except Exception as exc:
                raise SessionError(
                    f"Cannot read the token {asset.symbol} on {self.network.name} ({type(exc).__name__}); "
                    "check the network connection."
                ) from None
            self._token_facts[key] = Asset(meta.symbol, meta.decimals, asset.address)
        known = self._token_facts[key]
        if known.decimals != asset.decimals:
            raise SessionError(
                f"{provider.name} says its token {asset.symbol} has {asset.decimals} decimals; the token's "
                f"contract says {known.decimals}. Its prices cannot be read, so no session is started."
            )
        return known

    async def facts(self, provider: m.ProviderInfo, asset: Asset) -> EscrowFacts:
        """The app's channel with ``provider`` and the vault's domain, for a plan to carry."""
        return EscrowFacts(await self.channel_for(provider, asset), await self.domain())

    async def channel_for(self, provider: m.ProviderInfo, asset: Asset) -> Channel:
        """The channel sessions with ``provider`` use now (the first of the app's not closed on chain)."""
        vault = self.vault()
        delay = channel_withdraw_delay(await self.min_withdraw_delay(), provider)
        return await self.read(lambda: session_channel(vault, self.account, provider.pay_to, asset, delay))

    async def min_withdraw_delay(self) -> int:
        """The vault's MIN_WITHDRAW_DELAY, read from its code once that code is checked (``code_check``)."""
        if self._withdraw_delay is None:
            vault = self.vault()
            self._withdraw_delay = await self.read(
                lambda: trusted_vault_delay(self.w3, vault.address, self.network)
            )
        return self._withdraw_delay

    async def domain(self) -> VaultDomain:
        if self._domain is None:
            self._domain = await self.read(self.vault().domain)
        return self._domain

    async def wallet_holds(self, asset: Asset) -> int | None:
        """What the account's wallet holds of ``asset`` (the start's check that it can fund a deposit);
        None when the chain does not say."""
        try:
            return (await token_balance(self.w3, asset, self.account)).units
        except Exception as exc:
            log.info("%s balance not read before a start: %r", asset.symbol, exc)
            return None

    # -- money in and out ------------------------------------------------------------------------------
    def transaction_manager(self) -> TransactionManager:
        return TransactionManager.for_network(self.w3, self.network, TransactionRepository(self.store))

    async def heal(self) -> Healed:
        """The account's stored-but-unsent transactions sent again (``TransactionManager.heal``, no nonce
        gap filled without a signer); the ones sent again are remembered for the next start."""
        healed = await self.transaction_manager().heal(self.account)
        self._resent.update((r.tx_hash, r) for r in healed.resent)
        return healed

    async def channel_now(self, channel: Channel) -> tuple[ChannelState, tuple[DepositOnItsWay, ...]]:
        """The channel's state, and the deposits into it on their way: the account's open ones as stored
        (brought up to date first, which sends a stored-but-unsent one again, unchanged), the ones this
        engine's heal sent again for an earlier run, and an earlier start's own deposit that no session
        has used yet (``earlier_start``, from the store: a run killed after its deposit was stored, sent
        or mined, and before its session started, or any number of such runs in a row). The state is read
        at one block; a deposit is ``landed`` when it is in that block or under it."""
        vault, manager = self.vault(), self.transaction_manager()
        channel_id, sender = "0x" + channel.id.hex(), to_checksum_address(self.account)

        async def read() -> tuple[ChannelState, tuple[DepositOnItsWay, ...]]:
            block = int(await self.w3.eth.block_number)
            state = await vault.channel_state(channel, block)
            found: dict[str, tuple[TransactionRecord, bool]] = {}
            for record in await manager.open_of(self.account):
                found[record.tx_hash] = (record, record.tx_hash in self._resent)
            for record in self._resent.values():
                found.setdefault(record.tx_hash, (record, True))
            used_since = await manager.db(SessionHistory(self.store).last_started_on_channel, channel_id)
            unused = await manager.db(
                manager.repository.of_kind_since, manager.chain_id, sender, DEPOSIT_KIND, used_since
            )
            for record in unused:
                found.setdefault(record.tx_hash, (record, record.tx_hash in self._resent))
            unused_hashes = {r.tx_hash for r in unused}
            deposits: list[DepositOnItsWay] = []
            for record, resent in found.values():
                amount = deposit_into(record, vault.address, channel)
                if amount is None:
                    continue
                record = await manager.refresh(await manager.stored(record.tx_hash) or record)
                landed = record.status in LANDED and (record.block_number or 0) <= block
                earlier = record.tx_hash in unused_hashes
                if record.status == "pending" or (
                    record.status in LANDED and (resent or earlier or not landed)
                ):
                    deposits.append(
                        DepositOnItsWay(
                            record.tx_hash, amount, landed=landed, resent=resent, earlier_start=earlier
                        )
                    )
            return state, tuple(deposits)

        return await self.read(read)

    async def wait_for_deposits(
        self,
        channel: Channel,
        counted: tuple[DepositOnItsWay, ...],
        progress: Callable[[str], None],
        *,
        asset: Asset,
        timeout: float = 120.0,
    ) -> list[tuple[DepositOnItsWay, TransactionRecord | None]]:
        """Before a start reads the channel: wait (at most ``timeout`` seconds) for every deposit into it
        still on its way; a ``SessionError`` if one still hangs. Returns the deposits the start counted on
        (``counted``, from its plan) that did not go through, with their records."""
        vault, manager = self.vault(), self.transaction_manager()

        async def wait() -> list[tuple[DepositOnItsWay, TransactionRecord | None]]:
            arriving = [
                (r, amount)
                for r in await manager.open_of(self.account)
                if (amount := deposit_into(r, vault.address, channel)) is not None
            ]
            if arriving:
                total = Amount(asset, sum(amount for _, amount in arriving)).format()
                progress(f"Waiting for the deposit of {total} on its way into the channel to be in a block…")
            for record, _ in arriving:
                record = await manager.wait(record, timeout=timeout)
                if record.status == "pending":
                    raise SessionError(
                        f"A deposit into this channel is still pending after {timeout:g} s "
                        f"({record.tx_hash}): the session did not start. The Escrow page follows it; start "
                        "again once it is in."
                    )
            lost: list[tuple[DepositOnItsWay, TransactionRecord | None]] = []
            for earlier in counted:
                if earlier.landed:
                    continue
                now = await manager.stored(earlier.tx_hash)
                if now is None or now.status not in LANDED:
                    lost.append((earlier, now))
            return lost

        return await self.read(wait)

    async def deposit_requests(self, plan: SessionPlan, amount: int) -> list[TxRequest]:
        """The transactions a deposit into the plan's channel takes, for the shared transaction dialog:
        an approval first when a token's allowance is short, then the deposit itself."""
        if amount <= 0:
            raise SessionError("A deposit must be above zero.")
        if plan.escrow is None:
            raise SessionError(self.no_escrow_reason(plan.provider))
        vault, channel = self.vault(), plan.escrow.channel
        if not own_channel(channel, self.account):  # the plan's channel is the app's: never another's
            raise SessionError(
                "The session's channel is not one this account alone signs for: nothing is deposited."
            )
        deposit_amount = Amount(plan.asset, amount)
        steps: list[TxRequest] = []
        if not channel.is_native:
            token = vault.erc20(channel.token)
            allowance = await self.read(lambda: token.functions.allowance(self.account, vault.address).call())
            if int(allowance) < amount:
                purpose = f"a deposit for {plan.service.name}"
                steps.append(tx_requests.approve(deposit_amount, vault.address, purpose))
        steps.append(tx_requests.fund(vault, channel, deposit_amount, plan.provider.name))
        return steps

    async def deposit(
        self,
        signer: Any,
        channel: Channel,
        asset: Asset,
        amount: int,
        progress: Callable[[str], None],
        fee_limit: FeeLimit | None = None,
    ) -> None:
        """Fund ``channel`` with ``amount`` now, signed with ``signer`` (approve first when needed), its
        fees within ``fee_limit`` when the user agreed to one."""
        await deposit(
            self.transaction_manager(),
            self.vault(),
            signer,
            channel,
            asset,
            amount,
            progress=progress,
            fee_limit=fee_limit,
        )

    async def close_request(
        self, record: SessionRecord, signer: Any, client: ProviderClient, committed: int
    ) -> TxRequest:
        """The transaction that closes a stopped session's channel cooperatively (``escrow.close``): the
        provider's Close checked, the app's own voucher for the same total; never more than ``committed``, the
        channel's settled total in the books (or what was claimed on chain)."""
        terms = record.terms
        if terms.provider_address is None or terms.channel_id is None:
            raise SessionError("This session's provider address is unknown.")
        channel = await find_session_channel(
            await self.min_withdraw_delay(),
            client,
            self.account,
            terms.provider_address,
            terms.asset,
            bytes.fromhex(terms.channel_id[2:]),
        )
        if channel is None:
            raise SessionError("This session's channel is not one of the app's channels with that provider.")
        try:
            plan = await plan_close(
                self.vault(),
                client,
                signer,
                channel,
                terms.asset,
                committed=committed,
                provider_name=terms.provider_name,
            )
        except UserFacingError:
            raise
        except Exception as exc:
            log.warning("preparing the close failed: %r", exc)
            raise SessionError(
                f"Cannot read the escrow vault on {self.network.name} ({type(exc).__name__}); "
                "nothing was sent."
            ) from None
        return plan.request

    async def aclose(self) -> None:
        if self._owns_w3 and self._w3 is not None:
            with contextlib.suppress(Exception):
                await self._w3.provider.disconnect()
