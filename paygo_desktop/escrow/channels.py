"""The account's escrow channels: found in the synced vault events, valued from the chain.

The event index says which channels exist for a payer (``Funded`` events); the vault's ``channelState``
says what they hold now. A channel's full parameters (signer, withdraw delay, salt) are not in any event:
they are read back from the transaction that funded it, and checked against the channel id. A channel
funded through another contract keeps ``params`` None: it is shown, but the app cannot act on it.

Anyone may fund any channel terms, so a channel listed here because it names the account as its payer
may have been made by someone else with another key as its signer (a look-alike): that key's holder can
claim all that is in it at once. Such a channel is never a deposit target (``can_top_up`` is False, the
service refuses to plan one, ``warning`` says why); the payer can still withdraw what is left in it.

Before each sync the index is rewound by ``reorg_depth`` blocks, so events a reorg replaced are read again
(the index's unique key keeps them from doubling).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.app_channels import funding_terms, payer_signs
from paygo_desktop.chain.event_sync import VaultEventSync
from paygo_desktop.chain.vault import ERC20_MIN_ABI, ChannelState, VaultClient
from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel
from paygo_desktop.logs import public_hex
from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.vault_events import VaultEventIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EscrowChannel:
    """One channel of the account with a provider, in one asset, as the chain holds it now."""

    channel_id: str  # 0x-hex
    provider: str
    asset: Asset
    state: ChannelState
    params: Channel | None
    funder: str | None = None  # who sent the channel's first deposit (its Funded event's funder)

    def _amount(self, units: int) -> Amount:
        return Amount(self.asset, units)

    @property
    def funded(self) -> Amount:
        return self._amount(self.state.deposited)

    @property
    def claimed(self) -> Amount:
        return self._amount(self.state.claimed)

    @property
    def withdrawn(self) -> Amount:
        return self._amount(self.state.withdrawn)

    @property
    def available(self) -> Amount:
        """Deposited, not withdrawn and not claimed by the provider: what vouchers can still spend."""
        return self._amount(self.state.available)

    @property
    def pending_withdrawal(self) -> Amount:
        return self._amount(self.state.pending_withdraw)

    @property
    def withdrawal_ready_at(self) -> int | None:
        """Unix time from which the pending withdrawal can be finalized; None when none is pending."""
        return self.state.withdraw_ready_at if self.state.pending_withdraw else None

    def withdrawal_due_in(self, now: int) -> int | None:
        """Seconds until the pending withdrawal can be finalized (0: now); None when none is pending."""
        ready = self.withdrawal_ready_at
        return None if ready is None else max(0, ready - now)

    @property
    def payout_if_finalized(self) -> Amount:
        """What finalizing pays: the pending amount, at most what the provider has not claimed."""
        return self._amount(min(self.state.pending_withdraw, self.state.available))

    @property
    def closed(self) -> bool:
        """Closed cooperatively: settled and final, nothing more can be deposited or withdrawn."""
        return self.state.closed

    @property
    def can_act(self) -> bool:
        """Its terms are known: the payer can request and finalize a withdrawal."""
        return self.params is not None

    @property
    def other_signer(self) -> bool:
        """Its vouchers are signed by a key that is not the payer's (a look-alike someone else made)."""
        return self.params is not None and not payer_signs(self.params)

    @property
    def can_top_up(self) -> bool:
        """A deposit target: terms known, the payer signs its vouchers, not closed."""
        return self.params is not None and payer_signs(self.params) and not self.closed

    @property
    def warning(self) -> str | None:
        """Why no money may go into this channel, for the person; None when it is the payer's own."""
        if self.params is None or not self.other_signer:
            return None
        made_by = f"Created by {self.funder}" if self.funder else "Created by someone else"
        return (
            f"{made_by} with another signer ({self.params.signer}): anyone holding that signer's key can "
            "take what is in it; do not add funds. You can withdraw what is left."
        )


def asset_for(token: str, known: Sequence[Asset], native: Asset) -> Asset | None:
    token = to_checksum_address(token)
    if token == ZERO_ADDRESS:
        return native
    for asset in known:
        if asset.address and to_checksum_address(asset.address) == token:
            return asset
    return None


class ChannelReader:
    """Reads one payer's channels in one vault. Keeps the channels' parameters it has read, in memory."""

    def __init__(
        self,
        vault: VaultClient,
        index: VaultEventIndex,
        chain_id: int,
        *,
        tokens: Sequence[Asset] = (),
        native: Asset,
        start_block: int | None = None,
        reorg_depth: int = 64,
    ) -> None:
        self.vault = vault
        self.index = index
        self.chain_id = chain_id
        self.tokens = tuple(tokens)
        self.native = native
        self.reorg_depth = reorg_depth
        self._sync = VaultEventSync(vault, index, chain_id, start_block=start_block)
        self._params: dict[str, Channel | None] = {}
        self._assets: dict[str, Asset] = {}

    def remember(self, channel: Channel) -> None:
        """A channel the app made itself: its parameters are known without reading them back."""
        self._params["0x" + channel.id.hex()] = channel

    async def sync(self) -> None:
        """Read the vault's new events into the index, the last ``reorg_depth`` blocks again (SQL in the
        event sync's store worker: never on the event loop)."""
        work, vault = self._sync.store_work, self.vault.address
        cursor = await work(self.index.cursor, self.chain_id, vault)
        if cursor is not None:
            await work(self.index.rewind, self.chain_id, vault, max(-1, cursor - self.reorg_depth))
        await self._sync.sync()

    async def channels(self, payer: str) -> list[EscrowChannel]:
        """The payer's channels with anything deposited, oldest first."""
        payer = to_checksum_address(payer)
        first_funding: dict[str, Any] = {}
        for event in await self._sync.store_work(self.index.events, self.chain_id):
            if event.name == "Funded" and to_checksum_address(event.payer) == payer:
                first_funding.setdefault(event.channel_id, event)
        found = await asyncio.gather(*(self._channel(e) for e in first_funding.values()))
        return [c for c in found if c is not None]

    async def _channel(self, event: Any) -> EscrowChannel | None:
        cid = event.channel_id
        state = await self.vault.channel_state(bytes.fromhex(cid[2:]))
        if state.deposited == 0:
            return None  # its funding left the chain in a reorg
        asset = await self._asset(str(event.data["token"]))
        params = await self._channel_params(cid, event.tx_hash)
        funder = event.data.get("funder")
        return EscrowChannel(
            channel_id=cid,
            provider=to_checksum_address(event.provider),
            asset=asset,
            state=state,
            params=params,
            funder=to_checksum_address(funder) if funder else None,
        )

    async def _asset(self, token: str) -> Asset:
        known = asset_for(token, self.tokens, self.native) or self._assets.get(token)
        if known is not None:
            return known
        contract = self.vault.w3.eth.contract(address=to_checksum_address(token), abi=ERC20_MIN_ABI)
        decimals = int(await contract.functions.decimals().call())
        asset = Asset(f"Token {token[:8]}…", decimals, to_checksum_address(token))
        self._assets[token] = asset
        return asset

    async def _channel_params(self, channel_id: str, tx_hash: str) -> Channel | None:
        if channel_id in self._params:
            return self._params[channel_id]
        try:
            params = await funding_terms(self.vault, channel_id, tx_hash)
        except Exception as exc:  # unreadable funding: the channel is shown without actions
            log.info(
                "parameters of channel %s not readable from %s: %s",
                public_hex(channel_id),
                public_hex(tx_hash),
                exc,
            )
            return None  # not cached: try again on the next refresh
        self._params[channel_id] = params
        return params
