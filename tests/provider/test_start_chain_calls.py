"""Session starts need no proof beyond their voucher: the node calls anybody's starts cost are bounded.

The real provider over loopback, its chain node the real anvil behind a counting JSON-RPC relay: every
call the provider makes is counted by method (the head poll's ``eth_blockNumber`` and the event watch's
``eth_getLogs`` run on their own clocks and are left out). Bursts of starts are sent at once, as an
attacker would: on an unfunded channel, on many made-up channels, and with bad signatures.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError
from tests.provider.conftest import Env, Server, open_channel, provider_server, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK_COST = 1000 * 5
BURST = 40
BACKGROUND = {"eth_blockNumber", "eth_getLogs", "eth_chainId"}  # the head poll and the event watch


class CountingRelay:
    """A JSON-RPC relay in front of anvil that counts the calls it passes on, by method."""

    def __init__(self, upstream: str) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                with relay._lock:
                    for item in request if isinstance(request, list) else [request]:
                        relay.calls[item.get("method", "?")] += 1
                upstream_request = urllib.request.Request(
                    upstream, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(upstream_request, timeout=10) as resp:
                    data = resp.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> Counter[str]:
        with self._lock:
            return Counter({k: v for k, v in self.calls.items() if k not in BACKGROUND})


@pytest.fixture
def relay(env: Env) -> Iterator[CountingRelay]:
    r = CountingRelay(env.url)
    try:
        yield r
    finally:
        r.server.shutdown()


def _unfunded(env: Env) -> Channel:
    return env.channel(token=env.usdc, salt=os.urandom(32))


def _burst(server: Server, starts: list[tuple[Channel, bytes]]) -> list[tuple[int, str]]:
    """All ``starts`` sent at once; their answers (status, code)."""

    async def one(client: ProviderClient, ch: Channel, signature: bytes) -> tuple[int, str]:
        try:
            await client.start_session(SVC, ch, TICK_COST, signature)
        except ProviderHTTPError as exc:
            return exc.status, exc.code
        return 201, "started"

    async def run() -> list[tuple[int, str]]:
        client = ProviderClient(server.url, timeout=30)
        try:
            return list(await asyncio.gather(*(one(client, ch, sig) for ch, sig in starts)))
        finally:
            await client.aclose()

    return server.env.run(run())


def _settled(relay: CountingRelay) -> None:
    """Wait until the provider's own start-up calls (the claimer's first round) are over."""
    deadline = time.monotonic() + 15
    last = relay.count()
    while True:
        time.sleep(1.0)
        now = relay.count()
        if now == last:
            return
        assert time.monotonic() < deadline, "the provider keeps calling its node"
        last = now


def _calls_during(relay: CountingRelay, action: Any) -> tuple[Any, Counter[str]]:
    _settled(relay)
    before = relay.count()
    result = action()
    return result, relay.count() - before


def _wait_head_sees(server: Server, block: int) -> None:
    chain = server.app.state.chain
    deadline = time.monotonic() + 10
    while chain.head is None or chain.head < block:
        assert time.monotonic() < deadline, "the head poll did not see the block"
        time.sleep(0.02)


def test_a_burst_of_starts_on_an_unfunded_channel_costs_a_call_or_two(
    env: Env, tmp_path: Path, relay: CountingRelay
) -> None:
    """Forty starts at once on one unfunded channel, validly signed (no per-address bound here): one
    ``latest`` read and one read at the head, not forty. A payer who funds a channel and starts at once is
    served as before (one fresh read)."""
    # a channel's fresh read is allowed again after start_latest_interval: long here, so a slow machine's
    # second burst still falls within it
    with provider_server(
        env, tmp_path, rpc_url=relay.url, start_node_calls_per_client=0, start_latest_interval=600
    ) as server:
        ch = _unfunded(env)
        answers, calls = _calls_during(
            relay, lambda: _burst(server, [(ch, voucher(env, ch, TICK_COST))] * BURST)
        )
        assert set(answers) == {(402, "channel_not_funded")}
        assert sum(calls.values()) <= 2, calls

        # asked again once the head view holds the channel: no call at all
        _wait_head_sees(server, env.run(env.w3.eth.block_number))
        env.run(server.app.state.chain.channel_state(ch.id))  # (read once at this head)
        answers, calls = _calls_during(relay, lambda: _burst(server, [(ch, voucher(env, ch, TICK_COST))] * 5))
        assert set(answers) == {(402, "channel_not_funded")}
        assert sum(calls.values()) == 0, calls

        funded = open_channel(env, 3 * TICK_COST)  # funded a moment ago: the head view may not have it yet
        answers, calls = _calls_during(
            relay, lambda: _burst(server, [(funded, voucher(env, funded, TICK_COST))])
        )
        assert answers == [(201, "started")]
        assert calls == Counter({"eth_call": 1}), calls


def test_starts_on_made_up_channels_are_bounded_per_client_address(
    env: Env, tmp_path: Path, relay: CountingRelay
) -> None:
    """Forty starts at once, each on a channel nobody funded (each new to the head view): at most
    ``start_node_calls_per_client`` node calls, the rest answered 429 with a Retry-After."""
    with provider_server(env, tmp_path, rpc_url=relay.url, start_node_calls_per_client=10) as server:
        starts = []
        for _ in range(BURST):
            ch = _unfunded(env)
            starts.append((ch, voucher(env, ch, TICK_COST)))
        answers, calls = _calls_during(relay, lambda: _burst(server, starts))
        assert sum(calls.values()) <= 10, calls
        assert answers.count((402, "channel_not_funded")) <= 10
        assert answers.count((429, "too_many_starts")) >= BURST - 10
        ch = _unfunded(env)
        with server.http() as http:
            r = http.post(
                "/api/v1/streams/start",
                json={
                    "serviceId": SVC,
                    "channel": {
                        "payer": ch.payer,
                        "signer": ch.signer,
                        "provider": ch.provider,
                        "token": ch.token,
                        "withdrawDelay": ch.withdraw_delay,
                        "salt": "0x" + ch.salt.hex(),
                    },
                    "voucher": {"cumulativeAmount": str(TICK_COST), "signature": "0x" + "11" * 65},
                },
            )
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_starts_with_bad_signatures_cost_no_signer_check_on_an_unfunded_channel_and_few_on_a_funded_one(
    env: Env, tmp_path: Path, relay: CountingRelay
) -> None:
    """A signature that is not the signer's key's could still be a contract signer's (EIP-1271: an
    eth_call of 1M gas). On a channel the chain shows unfunded it is never asked; on a funded channel
    (anybody's: channels are public) a few times per channel, the rest answered 429."""
    with provider_server(env, tmp_path, rpc_url=relay.url, start_node_calls_per_client=0) as server:
        unfunded = _unfunded(env)
        bad = voucher(env, unfunded, TICK_COST, env.stranger)
        answers, calls = _calls_during(relay, lambda: _burst(server, [(unfunded, bad)] * BURST))
        assert set(answers) == {(402, "channel_not_funded")}
        assert sum(calls.values()) <= 2 and calls["eth_getBalance"] == 0, calls

        funded = open_channel(env, 1_000_000)
        bad = voucher(env, funded, TICK_COST, env.stranger)
        answers, calls = _calls_during(relay, lambda: _burst(server, [(funded, bad)] * BURST))
        assert answers.count((400, "bad_signature")) <= 3
        assert answers.count((429, "too_many_starts")) >= BURST - 3
        assert calls["eth_getBalance"] <= 3, calls  # one per EIP-1271 check (the vault's lent gas)
        # a check: the gas price quote (two calls, shared within its TTL), the vault's balance, the eth_call;
        # and the channel's state, read once
        assert sum(calls.values()) <= 3 * 4 + 2, calls

        # the payer itself still starts (its ECDSA voucher needs no signer check)
        answers = _burst(server, [(funded, voucher(env, funded, TICK_COST))])
        assert answers == [(201, "started")]
