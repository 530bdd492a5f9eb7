"""A session's deposit held to the fees the user agreed to (``sessions.fee_limit``): a step whose network
fee would take the total past what was shown is refused before it is signed; within it, the deposit goes
through signed at no more per unit of gas than agreed."""

from __future__ import annotations

import pytest

from paygo_desktop.money import Asset
from paygo_desktop.sessions.channels import deposit, session_channel
from paygo_desktop.sessions.fee_limit import FeeLimit
from paygo_desktop.sessions.plan import SessionError
from paygo_desktop.store.transactions import TransactionRepository
from tests.sessions.conftest import World


def test_a_deposit_is_not_signed_above_the_fees_agreed(world: World) -> None:
    env, chain = world.env, world.engine().chain
    usdc = Asset("USDC", 6, env.usdc)

    async def scenario() -> tuple[int, int]:
        delay = await chain.min_withdraw_delay()
        channel = await session_channel(env.vault, env.payer.address, env.provider.address, usdc, delay)
        manager, vault = chain.transaction_manager(), chain.vault()
        nonce = await env.w3.eth.get_transaction_count(env.payer.address)
        with pytest.raises(SessionError, match=r"above the .* agreed to; it was not sent"):
            await deposit(manager, vault, env.payer, channel, usdc, 10**6, fee_limit=FeeLimit(10**9, 10**9))
        assert await env.w3.eth.get_transaction_count(env.payer.address) == nonce
        assert TransactionRepository(world.store).recent() == []
        per_gas = 2 * 10**9
        done = await deposit(
            manager, vault, env.payer, channel, usdc, 10**6, fee_limit=FeeLimit(per_gas, 10**18)
        )
        sent = await env.w3.eth.get_transaction(done.fund_tx)
        return int(sent["maxFeePerGas"]), (await env.vault.channel_state(channel)).deposited

    max_fee_per_gas, deposited = env.run(scenario())
    assert max_fee_per_gas <= 2 * 10**9 and deposited == 10**6
