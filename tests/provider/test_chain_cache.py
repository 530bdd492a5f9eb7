"""The provider's cache of channel states: events invalidate it, a top-up above it is read from the chain."""

from __future__ import annotations

import pytest

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.protocol.client import PaymentRequired, ProviderClient
from paygo_desktop.provider.core import ChainStateCache
from tests.provider.conftest import Server, open_channel, voucher, wait_events_seen

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK


def _state(deposited: int) -> ChannelState:
    return ChannelState(deposited=deposited, claimed=0, withdrawn=0, pending_withdraw=0, withdraw_ready_at=0)


def test_cache_unit_liveness_and_epoch() -> None:
    now = [100.0]
    cache = ChainStateCache(stale_after=5, monotonic=lambda: now[0])
    cid, other = b"\x01" * 32, b"\x02" * 32
    cache.put(cid, _state(10), cache.epoch)
    assert cache.get(cid) is None  # the watch never polled: nothing is trusted or kept
    cache.polled()
    epoch = cache.epoch
    cache.put(cid, _state(10), epoch)
    assert cache.get(cid) == _state(10)
    in_flight = cache.epoch  # a chain read starts ...
    cache.invalidate([other])  # ... an event arrives meanwhile ...
    cache.put(other, _state(1), in_flight)  # ... so its result is not kept
    assert cache.get(other) is None
    cache.invalidate([cid])
    assert cache.get(cid) is None
    cache.put(cid, _state(20), cache.epoch)
    now[0] += 6  # no successful poll for longer than stale_after: the cache is not trusted
    assert cache.get(cid) is None
    cache.polled()  # the watch comes back: earlier entries are forgotten
    assert cache.get(cid) is None


def test_withdraw_requested_invalidates_cached_coverage(server: Server, client: ProviderClient) -> None:
    env = server.env
    core = server.app.state.core
    ch = open_channel(env, 3 * TICK_COST)
    wait_events_seen(server)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    assert core.chain.get(ch.id) is not None  # start read the chain and cached it
    reads: list[bytes] = []
    real = core.channel_state

    async def counting(cid: bytes) -> ChannelState:
        reads.append(cid)
        return await real(cid)

    core.channel_state = counting
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    assert reads == []  # covered by the cached state: no chain call
    env.run(env.vault.request_withdraw(env.payer, ch, TICK_COST + 1))  # coverage: 2 ticks - 1
    wait_events_seen(server)
    assert core.chain.get(ch.id) is None  # the event dropped the cached state
    server.clock.advance(TICK)
    with pytest.raises(PaymentRequired) as info:
        env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    assert info.value.code == "insufficient_escrow"
    assert info.value.channel is not None and info.value.channel.pending_withdraw == TICK_COST + 1
    assert reads == [ch.id]


def test_top_up_above_cached_coverage_is_read_from_chain(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 2 * TICK_COST)
    wait_events_seen(server)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    server.clock.advance(TICK)
    with pytest.raises(PaymentRequired):  # above the escrow: refused after a fresh read
        env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    env.run(env.vault.fund(env.payer, ch, TICK_COST))  # top-up; no waiting for the event watch
    ack = env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    assert ack.cumulative_amount == 3 * TICK_COST
