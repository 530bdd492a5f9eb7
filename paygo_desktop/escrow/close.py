"""Closing a channel cooperatively, from the payer's side: the one way the app does it.

The vault pays a close only with both signatures: the provider's ``Close(channelId, finalAmount,
deadline)`` and the channel signer's own ``Voucher(channelId, finalAmount)``. ``plan_close`` asks the
provider for its Close (``POST /channels/{id}/close``, signed by the account), checks it — the provider's
signature by the channel's provider, this channel, ``finalAmount`` at most what this app ever signed on the
channel (or what is already claimed on chain, which the signer signed too), the deadline ahead of the
chain's clock — then signs the app's voucher for exactly ``finalAmount`` (off the event loop) and returns
the ``closeCooperative`` transaction with what it will do, for the shared transaction dialog.

Both the ended session card (``SessionEngine.close_request``) and the Escrow page's Close come here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from paygo_desktop.chain.transactions import TxRequest
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel, sign_voucher, verify_close
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import models as m

# The Close must stay valid at least this long after it is checked: time to review the fee and be mined.
MIN_CLOSE_TIME_LEFT = 60


class CloseRefused(UserFacingError):
    """The channel cannot be closed now; the message says why, and that nothing was sent."""


@dataclass(frozen=True)
class ClosePlan:
    """The checked close of one channel: the transaction and what it does, in the channel's asset."""

    request: TxRequest
    final: Amount  # the provider's total on the channel, as both sides signed it
    to_provider: Amount  # paid to the provider by the close (its total less what it claimed already)
    refund: Amount  # back to the payer at once
    paid_ahead: Amount  # claimed above ``final`` (vouchers signed one tick ahead): the provider keeps it
    deadline: int  # Unix time; the close must be mined by then


async def plan_close(
    vault: VaultClient,
    client: Any,  # protocol.client.ProviderClient for the channel's provider
    signer: Any,  # the unlocked account (LocalAccount) that signs the channel's vouchers
    channel: Channel,
    asset: Asset,
    *,
    signed_max: int,
    provider_name: str = "",
) -> ClosePlan:
    """Ask the channel's provider for its Close, check it, sign the app's voucher, build the transaction.

    ``signed_max`` is the highest cumulative amount this app signed on the channel (from its own store):
    the provider's ``finalAmount`` may not be above it (nor above what is claimed already, if higher).
    """
    if signer.address != channel.effective_signer:
        raise CloseRefused("This account does not sign this channel's vouchers, so it cannot close it.")
    state = await vault.channel_state(channel)
    if state.closed:
        raise CloseRefused("This channel is closed already.")
    auth: m.CloseAuth = await client.request_close(signer, channel)
    domain = await vault.domain()
    now = int((await vault.w3.eth.get_block("latest"))["timestamp"])
    state = await vault.channel_state(channel)  # again: the provider may have claimed meanwhile
    ceiling = max(signed_max, state.claimed)
    if auth.channel_id.lower() != "0x" + channel.id.hex() or not verify_close(
        domain, channel, auth.final_amount, auth.deadline, auth.signature
    ):
        raise CloseRefused("The provider's signed Close is not valid for this channel; nothing was sent.")
    if auth.final_amount > ceiling:
        raise CloseRefused(
            f"The provider's Close asks for {Amount(asset, auth.final_amount).format()}, more than you ever "
            f"signed on this channel ({Amount(asset, ceiling).format()}); nothing was sent."
        )
    if auth.deadline < now + MIN_CLOSE_TIME_LEFT:
        raise CloseRefused("The provider's Close expires too soon to be sent; nothing was sent. Try again.")
    voucher = await asyncio.to_thread(sign_voucher, signer, domain, channel, auth.final_amount)
    balance = state.escrow
    target = min(auth.final_amount, balance)
    final = Amount(asset, auth.final_amount)
    to_provider = Amount(asset, max(0, target - state.claimed))
    refund = Amount(asset, balance - max(state.claimed, target))
    paid_ahead = Amount(asset, max(0, state.claimed - auth.final_amount))
    who = provider_name or channel.provider
    request = requests.close(
        vault, channel, auth, voucher, describe(who, final, to_provider, refund, paid_ahead)
    )
    return ClosePlan(request, final, to_provider, refund, paid_ahead, auth.deadline)


def describe(provider: str, final: Amount, to_provider: Amount, refund: Amount, paid_ahead: Amount) -> str:
    """What the close does, for the review: what comes back, what the provider gets, what it keeps."""
    text = (
        f"Close the escrow channel with {provider}: {refund.format()} comes back to you now; "
        f"{provider} is paid {to_provider.format()} (its total on the channel: {final.format()})."
    )
    if paid_ahead.units:
        text += (
            f" {paid_ahead.format()} was already claimed above that total (vouchers run one tick ahead): "
            f"{provider} keeps it."
        )
    return text + " The channel is then closed for good; a later session opens a new one."
