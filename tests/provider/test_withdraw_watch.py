"""The withdrawal watch survives a restart: blocks mined while the provider was down are looked back at.

The provider runs against anvil over loopback; the restarted one reaches anvil through the proxy of
tests/chain/test_event_sync.py, which refuses eth_getLogs over a few blocks as hosted nodes do.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from paygo_desktop.chain.vault import Claimed, Withdrawn
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol.client import ProviderClient
from tests.chain.test_event_sync import limited_rpc  # noqa: F401 - fixture
from tests.provider.conftest import Env, Server, provider_server, voucher, wait_events_seen

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK
DELAY = 3600  # the channel's withdrawal delay: the claim must land well inside it
ESCROW = 1_000_000


def _pay_two_ticks(server: Server, ch: Channel) -> None:
    env = server.env
    client = ProviderClient(server.url, timeout=10)
    try:
        s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
        server.clock.advance(TICK)
        env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
        env.run(client.stop_session(s.session_id, access_token=s.access.token))
    finally:
        env.run(client.aclose())


def _wait_claimed(env: Env, ch: Channel, amount: int) -> None:
    deadline = time.monotonic() + 20
    while env.run(env.vault.channel_state(ch)).claimed != amount:
        assert time.monotonic() < deadline, "the restarted provider did not claim"
        time.sleep(0.1)


def test_withdrawal_requested_while_down_is_claimed_on_restart(
    env: Env,
    tmp_path: Path,
    limited_rpc: tuple[str, list[int], list[tuple[int, int]]],  # noqa: F811
) -> None:
    proxy_url, limit, seen = limited_rpc
    limit[0] = 3
    ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=DELAY)
    env.run(env.vault.fund(env.payer, ch, ESCROW))
    with provider_server(env, tmp_path) as first:
        _pay_two_ticks(first, ch)
        wait_events_seen(first)
    # the provider is down: the payer asks for nearly all of the escrow back, and the chain moves on
    request = env.run(env.vault.request_withdraw(env.payer, ch, ESCROW - 1))
    requested_at = request.tx.block_number
    for _ in range(8):
        env.rpc("evm_mine")
    assert env.run(env.vault.channel_state(ch)).claimed == 0

    with provider_server(env, tmp_path, rpc_url=proxy_url) as second:
        _wait_claimed(env, ch, 2 * TICK_COST)
        assert second.app.state.claimer.withdraw_triggered == 1
    # it looked back from where the first run stopped, narrowing the chunks the node refused
    assert any(lo <= requested_at <= hi and hi - lo + 1 <= limit[0] for lo, hi in seen)
    assert any(hi - lo + 1 > limit[0] for lo, hi in seen)

    claim = next(e for e in env.run(env.vault.get_events(requested_at)) if isinstance(e, Claimed))
    claimed_at = env.run(env.w3.eth.get_block(claim.meta.block_number))["timestamp"]
    state = env.run(env.vault.channel_state(ch))
    assert claimed_at < state.withdraw_ready_at  # before the payer could finalize
    # once the delay is over the payer gets back only what the provider had not earned
    env.advance(DELAY)
    done = env.run(env.vault.finalize_withdraw(env.payer, ch))
    assert done.of_type(Withdrawn)[0].amount == ESCROW - 2 * TICK_COST
