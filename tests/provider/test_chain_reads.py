"""The served provider reads channel states through the raw ``eth_call`` reader (behind the head-block
view, ``provider.chain_view``), afresh at ``latest`` on a start on a channel the view has not read yet
(the bounds on the reads starts may cause: tests/provider/test_start_chain_calls.py)."""

from __future__ import annotations

from typing import Any

from paygo_desktop.chain.channel_state_reader import ChannelStateReader, ChannelStateReadError
from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider.chain_view import ChainView
from tests.provider.conftest import Server, open_channel, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK_COST = 1000 * 5


def start_body(server: Server, amount: int, funded: int) -> dict[str, Any]:
    ch = open_channel(server.env, funded)
    signature = "0x" + voucher(server.env, ch, amount).hex()
    return {
        "serviceId": SVC,
        "channel": m.ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True),
        "voucher": {"cumulativeAmount": str(amount), "signature": signature},
    }


def test_start_reads_the_chain_through_the_raw_reader(server: Server, client: ProviderClient) -> None:
    core = server.app.state.core
    states = core.rt.states
    assert isinstance(states, ChainView) and isinstance(states.reader, ChannelStateReader)
    reads: list[ChannelState] = []
    real = states.reader.channel_state

    async def counting(channel_id: bytes, block: int | None = None) -> ChannelState:
        assert block is None  # at latest: the payer may have funded the channel a moment ago
        reads.append(await real(channel_id, block))
        return reads[-1]

    states.reader.channel_state = counting
    env = server.env
    ch = open_channel(env, 3 * TICK_COST)
    env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    assert [r.deposited for r in reads] == [3 * TICK_COST]  # one fresh read, what the chain holds
    assert reads[0] == env.run(env.vault.channel_state(ch.id))


def test_a_refused_chain_read_answers_503(server: Server) -> None:
    states = server.app.state.core.rt.states

    async def refused(channel_id: bytes, block: int | None = None) -> ChannelState:
        raise ChannelStateReadError("eth_call channelState refused: header not found")

    states.reader.channel_state = refused
    with server.http() as http:
        r = http.post(routes.STREAM_START, json=start_body(server, TICK_COST, 3 * TICK_COST))
    assert r.status_code == 503 and r.json()["code"] == "chain_unavailable"
