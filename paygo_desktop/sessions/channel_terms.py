"""The terms of the app's channels with a provider that depend on more than the account: the vault (trusted
only once its code is checked) and the provider's own minimum withdrawal delay.

A provider refuses channels whose withdrawal delay is shorter than the time it needs to see a withdrawal
request and get its claim mined, and says how long that is in ``GET /provider`` (``minWithdrawDelay``).
The app opens its channels at ``max(the vault's MIN_WITHDRAW_DELAY, the provider's minimum)``: the shortest
delay both accept, so the payer's money is never locked longer than needed. It is deterministic, so the
channels are found again from the chain (``chain.app_channels``) as long as the provider keeps its minimum.
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.chain.app_channels import app_channel_with_id
from paygo_desktop.chain.canonical import MAX_WITHDRAW_DELAY
from paygo_desktop.chain.code_check import UntrustedContract, check_vault
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.plan import SessionError


def channel_withdraw_delay(vault_minimum: int, provider: m.ProviderInfo) -> int:
    """The withdrawal delay of the app's channels with ``provider``."""
    delay = max(vault_minimum, provider.min_withdraw_delay or 0)
    if delay > MAX_WITHDRAW_DELAY:
        raise SessionError(
            f"{provider.name} asks for a withdrawal delay of {delay} seconds, longer than the vault allows "
            f"(30 days): escrow sessions with it are not possible."
        )
    return delay


async def trusted_vault_delay(w3: Any, address: str, network: Network) -> int:
    """The vault's MIN_WITHDRAW_DELAY, once its code is checked on ``network`` (``chain.code_check``)."""
    try:
        return await check_vault(w3, address, where=network.name, network_key=network.key)
    except UntrustedContract as exc:
        raise SessionError(str(exc)) from None


async def find_session_channel(
    vault_minimum: int, client: Any, payer: str, provider: str, asset: Asset, channel_id: bytes
) -> Channel | None:
    """The app's channel with ``provider`` whose id is ``channel_id``: at the vault's minimum delay, else at
    the delay the provider asks for now (``client`` is its ``ProviderClient``)."""
    found = app_channel_with_id(payer, provider, asset.address, vault_minimum, channel_id)
    if found is not None:
        return found
    info = await client.provider_info()
    delay = channel_withdraw_delay(vault_minimum, info)
    if delay == vault_minimum:
        return None
    return app_channel_with_id(payer, provider, asset.address, delay, channel_id)
