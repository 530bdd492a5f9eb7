"""Which of the app's channels with a provider is the one to use now.

The app's channels between a payer and a provider in one token are ``vouchers.app_channel(..., index)`` for
index 0, 1, 2, …: the same terms, the index as the salt. A cooperative close makes a channel final (the
vault refuses any further deposit), so the channel in use is the first index whose channel is not closed on
chain. Deterministic: after a reinstall the app finds the same channels again from the chain alone.

Anyone may fund a channel in an account's name, with another key as its signer: whoever holds that key can
claim what is put in. A channel is the account's own (a deposit target, counted as its escrow) only when
the account pays into it and alone signs for it (``own_channel``, ``payer_signs``), its terms read back from
the transaction that funded it (``funding_terms``).
"""

from __future__ import annotations

from eth_typing import HexStr
from eth_utils import to_checksum_address

from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel, app_channel

# More closed channels than this with one provider is not a user's history: a node that says every
# channel is closed would otherwise keep the search going for ever.
MAX_CHANNELS = 1_000


def payer_signs(channel: Channel) -> bool:
    """Whether the channel's vouchers are the payer's own (its signer is zero, or the payer itself): only
    then does money in it leave for the provider solely by what the payer signs."""
    return channel.signer in (ZERO_ADDRESS, channel.payer)


def own_channel(channel: Channel, account: str) -> bool:
    """Whether ``account`` pays into ``channel`` and alone signs what leaves it: a deposit target."""
    return channel.payer.lower() == account.lower() and payer_signs(channel)


class TooManyClosedChannels(RuntimeError):
    """Every one of the first ``MAX_CHANNELS`` channels reads as closed."""


async def current_app_channel(
    vault: VaultClient, payer: str, provider: str, token: str | None, withdraw_delay: int
) -> Channel:
    """The first of the app's channels with ``provider`` that is not closed on chain (one read each)."""
    for index in range(MAX_CHANNELS):
        channel = app_channel(payer, provider, token, withdraw_delay, index)
        if not (await vault.channel_state(channel)).closed:
            return channel
    raise TooManyClosedChannels(f"the first {MAX_CHANNELS} channels with {provider} all read as closed")


def app_channel_with_id(
    payer: str, provider: str, token: str | None, withdraw_delay: int, channel_id: bytes
) -> Channel | None:
    """The app's channel with these terms whose id is ``channel_id`` (no chain read), None if none is."""
    for index in range(MAX_CHANNELS):
        channel = app_channel(payer, provider, token, withdraw_delay, index)
        if channel.id == channel_id:
            return channel
    return None


async def funding_terms(vault: VaultClient, channel_id: str, tx_hash: str) -> Channel | None:
    """The terms of ``channel_id`` read back from ``tx_hash``, a transaction that funded it; None when that
    transaction did not call the vault's ``fund`` itself (another contract did) or named other terms. Raises
    when the node does not answer. Terms checked against the channel id never change: safe to keep."""
    tx = await vault.w3.eth.get_transaction(HexStr(tx_hash))
    if not tx.get("to") or to_checksum_address(tx["to"]) != vault.address:
        return None
    fn, args = vault.contract.decode_function_input(tx["input"])
    if fn.fn_name != "fund":
        return None
    ch = args["ch"]
    candidate = Channel(
        payer=ch["payer"],
        provider=ch["provider"],
        token=ch["token"],
        signer=ch["signer"],
        withdraw_delay=int(ch["withdrawDelay"]),
        salt=bytes(ch["salt"]),
    )
    return candidate if "0x" + candidate.id.hex() == channel_id else None
