"""Closing a channel cooperatively, from the payer's side: the one way the app does it.

The vault pays a close only with both signatures: the provider's ``Close(channelId, finalAmount,
deadline)`` and the channel signer's own ``Voucher(channelId, finalAmount)``. ``plan_close`` asks the
provider for its Close (``POST /channels/{id}/close``, signed by the account), checks it — the provider's
signature by the channel's provider, this channel, ``finalAmount`` at most the channel's settled total in
this app's books (``SessionHistory.channel_committed``: what the provider's receipts settled at, plus any
voucher it never confirmed) or what is already claimed on chain, the deadline ahead of the chain's clock —
then signs the app's voucher for exactly ``finalAmount`` (off the event loop) and returns the
``closeCooperative`` transaction with what it will do, for the shared transaction dialog.

Not what this app ever signed: a session settles at the meter below the voucher signed one tick ahead, and
a Close for that earlier voucher would have the app sign again what the provider's receipt gave up. Such a
Close is refused, not shown with a warning: the provider could claim the earlier voucher on chain anyway,
so the refusal costs the user at most the wait of a withdrawal, and the app never puts its signature on a
total the provider's own receipt disowned (once claimed on chain, that total is the ceiling, and a Close
at it passes).

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
    committed: int,
    provider_name: str = "",
) -> ClosePlan:
    """Ask the channel's provider for its Close, check it, sign the app's voucher, build the transaction.

    ``committed`` is the channel's settled total in this app's books (``channel_committed``, from its
    store): the provider's ``finalAmount`` may not be above it (nor above what is claimed already, if
    higher).
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
    ceiling = max(committed, state.claimed)
    if auth.channel_id.lower() != "0x" + channel.id.hex() or not verify_close(
        domain, channel, auth.final_amount, auth.deadline, auth.signature
    ):
        raise CloseRefused("The provider's signed Close is not valid for this channel; nothing was sent.")
    if auth.final_amount > ceiling:
        raise CloseRefused(
            f"The provider's Close asks for {Amount(asset, auth.final_amount).format()}, more than the "
            f"channel's settled total ({Amount(asset, ceiling).format()}: what its receipts settled at, or "
            "claimed on chain); nothing was signed or sent. If it kept an earlier voucher of yours (signed "
            "one tick ahead of a session that settled lower), it can claim that on chain; to get the rest "
            "back without its Close, request a withdrawal."
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
