"""`session start --deposit` killed with SIGKILL between storing its signed deposit and sending it, then
run again: the second run sends the stored one first, counts it as the deposit asked (one deposit's worth
in the channel, not two) and completes within a bounded time.

The kill lands exactly there without any hook in the app: the command's network goes through a loopback
JSON-RPC proxy in front of anvil that holds the deposit's ``eth_sendRawTransaction`` (the app stores every
transaction before broadcasting it), and the test kills the command while it waits for that answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_utils import function_signature_to_4byte_selector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paygo_desktop.context import AppContext
from paygo_desktop.money import Asset
from paygo_desktop.networks import custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.channels import session_channel
from paygo_desktop.store.transactions import TransactionRepository
from paygo_desktop.wallet import KdfParams, Wallet
from tests.provider.conftest import run_server
from tests.sessions.conftest import PASSWORD, Env, WallClock, _free_port, run_provider

REPO = Path(__file__).resolve().parents[2]
FUND = function_signature_to_4byte_selector(
    "fund((address,address,address,address,uint64,bytes32),uint128)"
).hex()
USDC = 10**6


class HoldingRpc:
    """Forwards JSON-RPC to anvil; while ``hold`` is set, the deposit's broadcast is never answered."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.hold = True
        self.held = 0
        self.closing = False
        self.app = Starlette(routes=[Route("/", self.forward, methods=["POST"])])

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        call = json.loads(body)
        broadcast = isinstance(call, dict) and call.get("method") == "eth_sendRawTransaction"
        if self.hold and broadcast and FUND in str(call.get("params", [""])[0]):
            self.held += 1
            while not self.closing:
                await asyncio.sleep(0.05)
            return Response(status_code=503)
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(
                self.target, content=body, headers={"Content-Type": "application/json"}
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")


@pytest.fixture
def proxy(env: Env) -> Iterator[tuple[str, HoldingRpc]]:
    rpc = HoldingRpc(env.url)
    port = _free_port()
    server, thread = run_server(rpc.app, port)
    try:
        yield f"http://127.0.0.1:{port}", rpc
    finally:
        rpc.closing = True
        server.should_exit = True
        thread.join(timeout=10)


def _cli(data: DataDir, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )


def test_a_deposit_killed_before_its_broadcast_is_sent_by_the_next_run_and_not_made_twice(
    env: Env, tmp_path: Path, proxy: tuple[str, HoldingRpc]
) -> None:
    url, rpc = proxy
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4)).import_private_key(
        "0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer"
    )
    network = custom_network("Test chain", url, env.chain_id, vault_address=env.vault.address)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    with run_provider(env, tmp_path, clock=WallClock()) as provider:

        async def add() -> m.Service:
            async with ProviderClient(provider.url) as client:
                fields = m.ServiceFields(
                    name="Per-second feed",
                    category="data",
                    type=m.ServiceType.data,
                    rate=m.Rate(amount=1000, asset="USDC", unit=m.RateUnit.per_second),
                    tick_seconds=1,
                    grace_seconds=30,
                )
                return await client.create_service(provider.key, fields)

        service = env.run(add())
        start = ("start", "--provider", provider.url, "--service", service.id, "--budget", "0.5",
                 "--deposit", "1", "--yes", "--seconds", "2")  # fmt: skip
        first = _cli(data, *start)
        deadline = time.monotonic() + 90
        while rpc.held == 0:
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the deposit was never broadcast"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

        ctx = AppContext.open(data)
        try:
            [stored] = TransactionRepository(ctx.store).open(env.chain_id)
        finally:
            ctx.close()
        assert stored.kind == "fund" and stored.status == "pending"
        assert env.rpc("eth_getTransactionByHash", [stored.tx_hash]) is None  # stored, never sent
        rpc.hold = False

        began = time.monotonic()
        second = _cli(data, *start)
        try:
            out, err = second.communicate(timeout=100)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            pytest.fail("the second `session start --deposit` did not finish within 100 s")
        assert second.returncode == 0, err[-2000:]
        assert time.monotonic() - began < 100
        events = [json.loads(line) for line in out.splitlines()]
        assert events[-1]["event"] == "summary" and events[-1]["status"] == "stopped"
        receipt = env.rpc("eth_getTransactionReceipt", [stored.tx_hash])
        assert receipt is not None and int(receipt["status"], 16) == 1  # the very same bytes, once

        async def deposited() -> int:
            delay = await env.vault.min_withdraw_delay()
            channel = await session_channel(
                env.vault, env.payer.address, env.provider.address, Asset("USDC", 6, env.usdc), delay
            )
            return (await env.vault.channel_state(channel)).deposited

        assert env.run(deposited()) == 1 * USDC  # the stored deposit, sent once: the one asked, not two
        said = " ".join(e["message"] for e in events if e["event"] == "transaction")
        assert "Sent again a transaction an earlier run stored but never sent: Deposit 1 USDC" in said
        assert (
            "A deposit of 1 USDC into this channel, stored by an earlier run that stopped before sending it, "
            "was sent now. It counts toward the 1 USDC asked: nothing more is deposited." in said
        )
        assert "Depositing" not in said
