"""Channel states read once per head block (provider.chain_view), and what a voucher then costs in chain
reads. The first tests script the node's answers (a stand-in reader that counts calls: the timing cases
cannot be staged on a real node); the last ones run the real provider against anvil."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider.chain_view import ChainView
from tests.provider.conftest import Env, provider_server, voucher, wait_events_seen

CID = b"\x01" * 32
OTHER = b"\x02" * 32
SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK_COST = 5000


class ScriptedNode:
    """A stand-in for the node: a head, a state per (channel, block), and the calls made."""

    def __init__(self) -> None:
        self.head = 100
        self.deposited = {100: 1000}
        self.calls: list[tuple[bytes, int | None]] = []
        self.refuse_pinned = False

    async def block_number(self) -> int:
        return self.head

    async def channel_state(self, channel_id: bytes, block: int | None = None) -> ChannelState:
        self.calls.append((channel_id, block))
        if block is not None and self.refuse_pinned:
            raise RuntimeError("header not found")
        at = self.head if block is None else block
        deposited = self.deposited[max(b for b in self.deposited if b <= at)]
        return ChannelState(deposited, 0, 0, 0, 0, False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_a_state_is_read_once_per_head_and_dropped_when_the_head_moves() -> None:
    node, clock = ScriptedNode(), Clock()
    view = ChainView(node, 0.5, monotonic=clock)
    run(view.poll())
    assert run(view.channel_state(CID)).deposited == 1000
    assert run(view.channel_state(CID)).deposited == 1000
    assert run(view.channel_state(OTHER)).deposited == 1000
    assert node.calls == [(CID, 100), (OTHER, 100)]  # pinned to the head, once per channel
    node.head, node.deposited[101] = 101, 400  # a withdrawal mined in block 101
    clock.now += 0.5
    run(view.poll())
    assert run(view.channel_state(CID)).deposited == 400
    assert node.calls[-1] == (CID, 101)
    assert (view.reads, view.hits) == (3, 1)


def test_a_head_not_confirmed_lately_is_not_trusted() -> None:
    node, clock = ScriptedNode(), Clock()
    view = ChainView(node, 0.5, monotonic=clock)
    run(view.poll())
    run(view.channel_state(CID))
    node.head, node.deposited[101] = 101, 400
    clock.now += 0.9  # the poll failed or stalled, but the head is still within two intervals: kept
    assert run(view.channel_state(CID)).deposited == 1000
    clock.now += 0.2  # past 2 x the interval: every read goes to latest, and nothing is kept
    assert run(view.channel_state(CID)).deposited == 400
    assert run(view.channel_state(CID)).deposited == 400
    assert node.calls[-2:] == [(CID, None), (CID, None)]


def test_latest_when_asked_and_when_a_pinned_read_is_refused() -> None:
    node, clock = ScriptedNode(), Clock()
    view = ChainView(node, 0.5, monotonic=clock)
    run(view.poll())
    run(view.channel_state(CID))
    assert run(view.channel_state(CID, latest=True)).deposited == 1000
    assert node.calls[-1] == (CID, None)
    node.refuse_pinned = True  # a backend that has not seen the head's block yet
    assert run(view.channel_state(OTHER)).deposited == 1000
    assert node.calls[-2:] == [(OTHER, 100), (OTHER, None)]
    run(view.channel_state(OTHER))
    assert node.calls[-2:] == [(OTHER, 100), (OTHER, None)]  # the answer at latest was not kept


def test_a_head_a_little_lower_is_not_gone_back_to() -> None:
    node, clock = ScriptedNode(), Clock()
    view = ChainView(node, 0.5, monotonic=clock)
    node.head, node.deposited[105] = 105, 400
    run(view.poll())
    run(view.channel_state(CID))
    node.head = 104  # another backend, one block behind
    run(view.poll())
    assert view.head == 105 and run(view.channel_state(CID)).deposited == 400
    node.head = 3  # a new chain (a restarted node)
    run(view.poll())
    assert view.head == 3


def test_vouchers_in_one_block_read_each_channel_once(env: Env, tmp_path: Path) -> None:
    with provider_server(env, tmp_path, head_poll_interval=0.5) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            view = server.app.state.chain
            ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=4000)
            env.run(env.vault.fund(env.payer, ch, 100 * TICK_COST))
            s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            wait_events_seen(server)
            reads = view.reads
            total = TICK_COST
            for seq in range(1, 6):
                server.clock.advance(5)
                total += TICK_COST
                env.run(client.send_voucher(s.session_id, seq, total, voucher(env, ch, total)))
            # no block was mined meanwhile: one read at the head, then four vouchers from it
            assert view.reads - reads <= 2  # (a head poll may land between two vouchers)
            assert view.hits >= 3
        finally:
            env.run(client.aclose())


def test_a_top_up_just_mined_is_honoured_at_once(env: Env, tmp_path: Path) -> None:
    with provider_server(env, tmp_path, head_poll_interval=2.0) as server:  # a slow head poll
        client = ProviderClient(server.url, timeout=10)
        try:
            ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=4000)
            env.run(env.vault.fund(env.payer, ch, 2 * TICK_COST))
            s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            server.clock.advance(5)
            env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
            env.run(env.vault.fund(env.payer, ch, TICK_COST))  # the payer tops up, and pays on at once
            server.clock.advance(5)
            ack = env.run(
                client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST))
            )
            assert ack.cumulative_amount == 3 * TICK_COST  # refused on the head's state, read again: taken
        finally:
            env.run(client.aclose())
