"""The vendor's Claim now: the provider's claimable vouchers, checked here, planned as one ``claimBatch``.

``plan_claim`` asks the provider (a request signed with its key, ``GET /vendor/vouchers``) for the latest
voucher of every channel above what the vault has paid out, and trusts none of it:

* the channel must hash to the id sent with it, pay this provider (its ``payTo``) in an asset it lists;
* each channel's state is read from the chain now: a voucher at or below what is claimed (the provider's
  own scheduled claimer may have claimed it meanwhile) is skipped. The vault would not revert on it (it
  pays ``min(cumulative, balance) − claimed`` and makes a stale voucher a no-op), but it would cost gas;
* the signature must be the channel signer's: ECDSA checked here (``chain.vouchers.verify_voucher``), a
  contract wallet's through the vault's own check (``eth_call`` of ``claim``). One bad signature would
  revert the whole batch, so a voucher that fails is left out and reported.

Channels the provider reports refused (the vault refused their voucher signature when it tried to claim)
are passed on as they are, for the vendor to see.

What is left becomes one ``TxRequest`` for ``PayGoVault.claimBatch`` (anyone may send it; the vault pays
each channel's provider), at most ``MAX_BATCH`` vouchers, the largest first, to be sent through the shared
transaction dialog by the vendor's own account. Nothing here signs a transaction or touches Qt.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.chain.transactions import TxRequest
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, verify_voucher
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import models as m

MAX_BATCH = 50  # vouchers per claim transaction, as the provider's own claimer batches them


class ClaimError(UserFacingError):
    """The claim cannot be planned (another provider key, another vault, an old provider...)."""


@dataclass(frozen=True)
class ClaimItem:
    channel: Channel
    cumulative: int
    signature: bytes
    payout: Amount  # what the vault pays for it now: min(cumulative, escrow) − claimed


@dataclass(frozen=True)
class ClaimPlan:
    items: list[ClaimItem]
    request: TxRequest | None  # None: nothing to claim
    skipped: int = 0  # already claimed on-chain when read just now
    rejected: list[str] = field(default_factory=list)  # vouchers that did not check out, and why
    later: int = 0  # claimable vouchers beyond this batch (Claim now again once it is done)
    refused: list[str] = field(
        default_factory=list
    )  # channels the vault refuses to pay, as the provider says

    @property
    def totals(self) -> list[Amount]:
        by_asset: dict[Asset, int] = {}
        for item in self.items:
            by_asset[item.payout.asset] = by_asset.get(item.payout.asset, 0) + item.payout.units
        return [Amount(asset, units) for asset, units in by_asset.items()]

    def summary(self) -> str:
        """“3 vouchers: 0.05 USDC, 0.001 ETH”."""
        n = len(self.items)
        noun = "voucher" if n == 1 else "vouchers"
        return f"{n} {noun}: " + ", ".join(a.format() for a in self.totals)


def _assets_by_token(info: m.ProviderInfo) -> dict[str, Asset]:
    return {to_checksum_address(a.address): a.asset for a in info.assets}


def _check_shape(voucher: m.ClaimableVoucher, pay_to: str, assets: dict[str, Asset]) -> str | None:
    """Why this voucher cannot be one of the provider's claims (None: it can)."""
    channel = voucher.channel.to_channel()
    if "0x" + channel.id.hex() != voucher.channel_id.lower():
        return "its channel parameters do not hash to its channel id"
    if channel.provider != pay_to:
        return f"its channel pays {channel.provider}, not this provider"
    if channel.token not in assets:
        return f"its channel is in a token the provider does not list ({channel.token})"
    return None


async def plan_claim(client: Any, key: Any, vault: VaultClient, chain_id: int) -> ClaimPlan:
    """Fetch, check and plan the claim of the provider's vouchers (``key`` signs the vendor request).

    Every failure is a ``UserFacingError``: the provider's (unreachable, refused, nonsense) as the client
    reports it, the chain's as "the network did not answer"."""
    try:
        return await _plan(client, key, vault, chain_id)
    except UserFacingError:
        raise
    except Exception as exc:
        raise ClaimError(
            f"The network's RPC endpoint did not answer ({short_rpc_message(exc)}); nothing was claimed."
        ) from None


async def _plan(client: Any, key: Any, vault: VaultClient, chain_id: int) -> ClaimPlan:
    from paygo_desktop.protocol.client import NotFound

    info = await client.provider_info()
    if info.signing_key != key.address:
        raise ClaimError(f"{key.address} is not the key of {info.name}; it signs with {info.signing_key}.")
    network = next((n for n in info.networks if n.chain_id == chain_id), None)
    if network is None or network.vault != vault.address:
        raise ClaimError(f"{info.name} does not take payments in this network's vault ({vault.address}).")
    try:
        answer = await client.claimable_vouchers(key)
    except NotFound:
        raise ClaimError(
            f"{info.name} does not list its claimable vouchers (an older provider?). Update it, or let it "
            "claim on its own schedule."
        ) from None
    pay_to = info.pay_to
    assets = _assets_by_token(info)
    refused = [
        f"{r.channel_id[:10]}… of {r.payer}"
        + (f", {Amount(assets[r.token], r.cumulative_amount).format()} unpaid" if r.token in assets else "")
        for r in answer.refused
    ]
    domain: VaultDomain = await vault.domain()

    rejected: list[str] = []
    candidates: list[tuple[m.ClaimableVoucher, Channel, int]] = []  # (voucher, channel, payout units)
    skipped = 0
    for voucher in answer.items:
        why = _check_shape(voucher, pay_to, assets)
        if why is not None:
            rejected.append(f"{voucher.channel_id[:10]}…: {why}")
            continue
        channel = voucher.channel.to_channel()
        state = await vault.channel_state(channel)  # fresh: never the provider's word for it
        target = min(voucher.cumulative_amount, state.escrow)
        if target <= state.claimed:
            skipped += 1  # claimed meanwhile (e.g. by the provider's claimer): the vault would pay nothing
            continue
        candidates.append((voucher, channel, target - state.claimed))

    ecdsa = await asyncio.to_thread(
        lambda: [verify_voucher(domain, ch, v.cumulative_amount, v.signature) for v, ch, _ in candidates]
    )
    items: list[ClaimItem] = []
    for (voucher, channel, payout), ok in zip(candidates, ecdsa, strict=True):
        signature = bytes.fromhex(voucher.signature[2:])
        if not ok and not await vault.voucher_is_valid(channel, voucher.cumulative_amount, signature):
            rejected.append(f"{voucher.channel_id[:10]}…: its signature is not the channel signer's")
            continue
        items.append(
            ClaimItem(channel, voucher.cumulative_amount, signature, Amount(assets[channel.token], payout))
        )

    items.sort(key=lambda i: i.payout.units, reverse=True)
    later = max(0, len(items) - MAX_BATCH) + max(0, answer.total - len(answer.items))
    items = items[:MAX_BATCH]
    items.sort(key=lambda i: (i.channel.provider, i.channel.token))  # one payout per run of equal token
    if not items:
        return ClaimPlan([], None, skipped, rejected, later, refused)
    plan = ClaimPlan(items, None, skipped, rejected, later, refused)
    request = requests.claim_batch(
        vault, [(i.channel, i.cumulative, i.signature) for i in items], f"Claim {plan.summary()}"
    )
    return ClaimPlan(items, request, skipped, rejected, later, refused)
