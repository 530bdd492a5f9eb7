"""A hostile payer's contract wallet against the provider's claims (issue 24, items 1 and 2).

The wallet is resources/contracts/testing FickleWallet on the real anvil: it approves its owner's signatures
for some callers and not others. Its channel's payer is the attacker's own account (it can request
withdrawals), its signer the wallet. The provider runs over loopback with its real claimer.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.vault import Claimed
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError, SessionGone
from paygo_desktop.vendor.claims import plan_claim
from tests.chain.test_event_sync import limited_rpc  # noqa: F401 - fixture
from tests.provider.conftest import Env, Server, open_channel, provider_server, voucher, wait_events_seen

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK
REFUSES_THE_VAULT = 1  # FickleWallet: approves every caller but the vault
REFUSES_TRANSACTIONS = 2  # FickleWallet: approves only a direct call (tx.origin == msg.sender)


def hostile_channel(env: Env, mode: int, escrow: int = 1_000_000) -> Channel:
    """The attacker's channel: payer the attacker's account, signer a FickleWallet it owns."""
    wallet = env.deploy("FickleWallet", env.stranger.address, env.vault.address, mode)
    ch = Channel(
        payer=env.stranger.address,
        signer=wallet,
        provider=env.provider.address,
        token=env.usdc,
        withdraw_delay=env.min_delay,
        salt=os.urandom(32),
    )
    env.run(env.vault.fund(env.stranger, ch, escrow))
    return ch


def paid_session(server: Server, client: ProviderClient, ch: Channel, key: Any, *, stop: bool = True) -> Any:
    """Two ticks paid on ``ch``; the provider holds a voucher for 2 ticks."""
    env = server.env
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, key)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST, key)))
    if stop:
        env.run(client.stop_session(s.session_id, access_token=s.access.token))
    return s


def claimed(env: Env, ch: Channel) -> int:
    return env.run(env.vault.channel_state(ch)).claimed


def test_a_wallet_that_approves_everybody_but_the_vault_is_refused_at_start(
    server: Server, client: ProviderClient
) -> None:
    """The provider asks the wallet as the vault will (from the vault's address): refused at once."""
    env = server.env
    ch = hostile_channel(env, REFUSES_THE_VAULT)
    with pytest.raises(ProviderHTTPError) as refused:
        env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, env.stranger)))
    assert refused.value.status == 400 and refused.value.code == "bad_signature"


def test_a_wallet_the_vault_refuses_in_a_claim_blocks_no_other_channel(
    server: Server, client: ProviderClient
) -> None:
    """A wallet that passes every check made by eth_call (even as the vault) but not the claim transaction:
    the claim leaves it out, pays the honest channels, marks its channel refused, ends its session, and
    the vendor sees it listed."""
    env = server.env
    honest = [open_channel(env, 1_000_000), open_channel(env, 1_000_000, env.payer2)]
    for ch, key in zip(honest, (env.payer, env.payer2), strict=True):
        paid_session(server, client, ch, key)
    hostile = hostile_channel(env, REFUSES_TRANSACTIONS)
    live = paid_session(server, client, hostile, env.stranger, stop=False)  # its checks all pass

    result = env.run(client.claim_now(env.provider))
    assert sorted(result.channels) == sorted("0x" + ch.id.hex() for ch in honest)
    assert [claimed(env, ch) for ch in honest] == [2 * TICK_COST, 2 * TICK_COST]
    assert claimed(env, hostile) == 0

    hostile_id = "0x" + hostile.id.hex()
    listed = env.run(client.claimable_vouchers(env.provider))
    assert [r.channel_id for r in listed.refused] == [hostile_id]
    assert listed.refused[0].payer == env.stranger.address
    assert listed.refused[0].cumulative_amount == 2 * TICK_COST
    assert all(v.channel_id != hostile_id for v in listed.items)
    plan = env.run(plan_claim(client, env.provider, env.vault, env.chain_id))  # the Vendor page's Claim now
    assert plan.request is None and len(plan.refused) == 1
    assert hostile_id[:10] in plan.refused[0] and "0.01 USDC unpaid" in plan.refused[0]

    # its live session is over and the channel serves nothing more
    with pytest.raises(ProviderHTTPError) as more:
        env.run(
            client.send_voucher(
                live.session_id, 2, 3 * TICK_COST, voucher(env, hostile, 3 * TICK_COST, env.stranger)
            )
        )
    assert more.value.status == 403 and more.value.code == "channel_refused"
    with pytest.raises(SessionGone):
        env.run(client.content(live.access))
    with pytest.raises(ProviderHTTPError) as again:
        env.run(
            client.start_session(
                SVC, hostile, 3 * TICK_COST, voucher(env, hostile, 3 * TICK_COST, env.stranger)
            )
        )
    assert again.value.status == 403 and again.value.code == "channel_refused"

    # the refused channel is tried alone later (after its backoff), never again in a batch
    another = open_channel(env, 1_000_000)
    paid_session(server, client, another, env.payer)
    assert env.run(client.claim_now(env.provider)).channels == ["0x" + another.id.hex()]
    claimer = server.app.state.claimer
    assert claimer.retries[hostile_id].attempts == 1


def test_a_withdrawal_on_the_hostile_channel_holds_back_no_honest_withdrawal(
    env: Env, tmp_path: Path
) -> None:
    """The attacker requests a withdrawal of 1 unit on its channel in the same block as an honest payer
    requests all of its escrow back: the instant claim leaves the attacker's channel out, and the honest
    channel is claimed before its withdrawal can be finalized; later requests are seen too (the watch moved
    on)."""
    with provider_server(env, tmp_path) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            honest = open_channel(env, 100_000)
            paid_session(server, client, honest, env.payer)
            hostile = hostile_channel(env, REFUSES_TRANSACTIONS)
            paid_session(server, client, hostile, env.stranger)
            later = open_channel(env, 100_000, env.payer2)
            paid_session(server, client, later, env.payer2)
            wait_events_seen(server)

            async def one_block() -> Any:  # both requests mined in one block: one poll, one instant claim
                await env.w3.provider.make_request("evm_setAutomine", [False])
                try:
                    requests = asyncio.gather(
                        env.vault.request_withdraw(env.stranger, hostile, 1),
                        env.vault.request_withdraw(env.payer, honest, 100_000),
                    )
                    await asyncio.sleep(0.5)
                    await env.w3.provider.make_request("evm_mine", [])
                    attack, honest_request = await requests
                    assert attack.tx.block_number == honest_request.tx.block_number
                    return honest_request
                finally:
                    await env.w3.provider.make_request("evm_setAutomine", [True])

            request = env.run(one_block())
            _wait_claimed(env, honest, 2 * TICK_COST)
            env.run(env.vault.request_withdraw(env.payer2, later, 100_000))  # the watch is not stuck
            _wait_claimed(env, later, 2 * TICK_COST)
        finally:
            env.run(client.aclose())
    claim = next(e for e in env.run(env.vault.get_events(request.tx.block_number)) if isinstance(e, Claimed))
    claimed_at = env.run(env.w3.eth.get_block(claim.meta.block_number))["timestamp"]
    assert claimed_at < env.run(env.vault.channel_state(honest)).withdraw_ready_at
    env.advance(env.min_delay)
    done = env.run(env.vault.finalize_withdraw(env.payer, honest))
    assert done.events[-1].amount == 100_000 - 2 * TICK_COST  # the provider kept what it earned
    assert claimed(env, hostile) == 0


def _wait_claimed(env: Env, ch: Channel, amount: int) -> None:
    deadline = time.monotonic() + 10
    while claimed(env, ch) != amount:
        assert time.monotonic() < deadline, "the channel was not claimed after its withdrawal request"
        time.sleep(0.1)


def test_the_scheduled_claim_runs_while_the_watch_fails(
    env: Env,
    tmp_path: Path,
    limited_rpc: tuple[str, list[int], list[tuple[int, int]]],  # noqa: F811
) -> None:
    """A node that refuses every eth_getLogs fails each event poll; the scheduled claim still runs."""
    proxy_url, limit, _ = limited_rpc
    limit[0] = 0  # no block range is small enough
    with provider_server(env, tmp_path, rpc_url=proxy_url, claim_interval=0.5) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            ch = open_channel(env, 1_000_000)
            paid_session(server, client, ch, env.payer)
            deadline = time.monotonic() + 10
            while claimed(env, ch) != 2 * TICK_COST:
                assert time.monotonic() < deadline, "the scheduled claim did not run"
                time.sleep(0.1)
        finally:
            env.run(client.aclose())


def test_a_wallet_whose_check_fails_with_an_error_blocks_no_other_channel(
    server: Server, client: ProviderClient
) -> None:
    """The wallet approved its vouchers while the session ran, then makes every call to it fail (it burns
    all the gas it is given): the claim of every other channel goes through all the same."""
    from paygo_desktop.chain.artifacts import load_artifact

    env = server.env
    honest = open_channel(env, 1_000_000)
    paid_session(server, client, honest, env.payer)
    hostile = hostile_channel(env, 0)
    paid_session(server, client, hostile, env.stranger)
    wallet = env.w3.eth.contract(address=hostile.signer, abi=load_artifact("FickleWallet").abi)
    env.transact(wallet.functions.setMode(3), env.stranger)

    result = env.run(client.claim_now(env.provider))
    assert result.channels == ["0x" + honest.id.hex()]
    assert claimed(env, honest) == 2 * TICK_COST and claimed(env, hostile) == 0
