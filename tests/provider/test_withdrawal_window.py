"""A withdrawal request against the provider's vouchers (issue 24, item 8), on the real provider and anvil.

The coverage drop applies to every voucher checked once the provider has seen the request's block (at most
two head polls later: provider.chain_view), not one event poll later; and the provider serves only channels
whose withdrawal delay leaves it time to claim once it has seen a request.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from paygo_desktop.protocol.client import PaymentRequired, ProviderClient, ProviderHTTPError
from tests.provider.conftest import Env, provider_server, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK


def test_a_voucher_above_the_new_coverage_is_refused_before_any_event_poll(env: Env, tmp_path: Path) -> None:
    # the event watch reads the vault's events once at start, then not for an hour: it never sees the request
    with provider_server(env, tmp_path, event_poll_interval=3600, head_poll_interval=0.5) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=4000)  # poll + margin
            env.run(env.vault.fund(env.payer, ch, 3 * TICK_COST))
            s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            server.clock.advance(TICK)
            env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
            env.run(env.vault.request_withdraw(env.payer, ch, TICK_COST + 1))  # coverage: 2 ticks - 1
            # the documented bound: a state read at the head is reused at most two head polls
            time.sleep(2 * server.config.head_poll_interval)
            server.clock.advance(TICK)
            with pytest.raises(PaymentRequired) as refused:
                env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
            assert refused.value.code == "insufficient_escrow"
            assert (
                refused.value.channel is not None and refused.value.channel.pending_withdraw == TICK_COST + 1
            )
        finally:
            env.run(client.aclose())


def test_channels_whose_withdrawal_delay_is_shorter_than_the_claim_latency_are_refused(
    env: Env, tmp_path: Path
) -> None:
    # a provider polling every 5 s that gives a claim 55 s to be mined needs channels of 60 s or more
    with provider_server(env, tmp_path, event_poll_interval=5, withdraw_delay_margin=55) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            short = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=59)
            env.run(env.vault.fund(env.payer, short, 1_000_000))  # the vault takes it (its minimum is 10 s)
            with pytest.raises(ProviderHTTPError) as refused:
                env.run(client.start_session(SVC, short, TICK_COST, voucher(env, short, TICK_COST)))
            assert refused.value.status == 400 and refused.value.code == "withdraw_delay_too_short"
            assert "60 s" in refused.value.provider_message

            enough = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=60)
            env.run(env.vault.fund(env.payer, enough, 1_000_000))
            started = env.run(client.start_session(SVC, enough, TICK_COST, voucher(env, enough, TICK_COST)))
            assert started.quote.start_cumulative == 0
            assert server.config.min_withdraw_delay == 60
        finally:
            env.run(client.aclose())
