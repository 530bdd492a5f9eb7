"""`session start --deposit` killed with SIGKILL between storing its signed deposit and sending it, then
run again: the second run sends the stored one first, counts it as the deposit asked (one deposit's worth
in the channel, not two) and completes within a bounded time.

The kill lands exactly there without any hook in the app: the command's network goes through a loopback
JSON-RPC proxy in front of anvil that holds the deposit's ``eth_sendRawTransaction`` (the app stores every
transaction before broadcasting it), and the test kills the command while it waits for that answer.

Then more kills, anvil mining nothing meanwhile (automine off) so that a deposit stays in the pool: a
healed deposit whose run is killed again (once or twice) while it waits for it to be mined, and a deposit
killed after its broadcast, before it is mined. Each time the last run finds the deposit mined in the
channel and must count it as the one asked: what the store says, not what one run kept in memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils import function_signature_to_4byte_selector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paygo_desktop.context import AppContext
from paygo_desktop.escrow.balances import token_balance
from paygo_desktop.money import Asset
from paygo_desktop.networks import custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.channels import session_channel
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository
from paygo_desktop.wallet import KdfParams, Wallet
from tests.provider.conftest import run_server
from tests.sessions.conftest import PASSWORD, Env, Provider, WallClock, _free_port, run_provider

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


class Watched:
    """A CLI process whose output lines are read as they come (two threads), so that a test can kill it
    at a line it printed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def until_said(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out):
            assert self.process.poll() is None, "".join(self.out + self.err)[-3000:]
            assert time.monotonic() < deadline, f"never said {text!r}: " + "".join(self.out)[-3000:]
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=10)


def _setup(env: Env, tmp_path: Path, url: str) -> DataDir:
    """A data directory with the payer's key in its wallet, its network reached through ``url``."""
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
    return data


def _add_service(env: Env, provider: Provider) -> m.Service:
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

    return env.run(add())


def _start_args(provider: Provider, service: m.Service) -> tuple[str, ...]:
    return ("start", "--provider", provider.url, "--service", service.id, "--budget", "0.5",
            "--deposit", "1", "--yes", "--seconds", "2")  # fmt: skip


def _kill_at_held_broadcast(data: DataDir, rpc: HoldingRpc, start: tuple[str, ...]) -> TransactionRecord:
    """Run 1: ``session start --deposit`` killed while the proxy holds its deposit's broadcast; returns
    the deposit it stored, never sent."""
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
        [stored] = TransactionRepository(ctx.store).open(ctx.network.chain_id)
    finally:
        ctx.close()
    return stored


def _finish(data: DataDir, start: tuple[str, ...]) -> list[dict[str, Any]]:
    """The last run: ``session start --deposit`` to its end (within 100 s); its events."""
    began = time.monotonic()
    last = _cli(data, *start)
    try:
        out, err = last.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        last.kill()
        last.communicate()
        pytest.fail("the last `session start --deposit` did not finish within 100 s")
    assert last.returncode == 0, err[-2000:]
    assert time.monotonic() - began < 100
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["event"] == "summary" and events[-1]["status"] == "stopped"
    return events


def _said(events: list[dict[str, Any]]) -> str:
    return " ".join(e["message"] for e in events if e["event"] == "transaction")


def _deposited(env: Env) -> int:
    async def read() -> int:
        delay = await env.vault.min_withdraw_delay()
        channel = await session_channel(
            env.vault, env.payer.address, env.provider.address, Asset("USDC", 6, env.usdc), delay
        )
        return (await env.vault.channel_state(channel)).deposited

    return env.run(read())


def _usdc_held(env: Env) -> int:
    return env.run(token_balance(env.w3, Asset("USDC", 6, env.usdc), env.payer.address)).units


def test_a_deposit_killed_before_its_broadcast_is_sent_by_the_next_run_and_not_made_twice(
    env: Env, tmp_path: Path, proxy: tuple[str, HoldingRpc]
) -> None:
    url, rpc = proxy
    data = _setup(env, tmp_path, url)
    with run_provider(env, tmp_path, clock=WallClock()) as provider:
        start = _start_args(provider, _add_service(env, provider))
        held = _usdc_held(env)
        stored = _kill_at_held_broadcast(data, rpc, start)
        assert stored.kind == "fund" and stored.status == "pending"
        assert env.rpc("eth_getTransactionByHash", [stored.tx_hash]) is None  # stored, never sent
        rpc.hold = False

        events = _finish(data, start)
        receipt = env.rpc("eth_getTransactionReceipt", [stored.tx_hash])
        assert receipt is not None and int(receipt["status"], 16) == 1  # the very same bytes, once
        assert _deposited(env) == 1 * USDC  # the stored deposit, sent once: the one asked, not two
        assert _usdc_held(env) == held - 1 * USDC
        said = _said(events)
        assert "Sent again a transaction an earlier run stored but never sent: Deposit 1 USDC" in said
        assert (
            "A deposit of 1 USDC into this channel, stored by an earlier run that stopped before sending it, "
            "was sent now. It counts toward the 1 USDC asked: nothing more is deposited." in said
        )
        assert "Depositing" not in said


@pytest.mark.parametrize("waiting_kills", [1, 2], ids=["two-kills", "three-kills"])
def test_a_healed_deposit_killed_again_before_it_is_mined_is_not_made_twice(
    env: Env, tmp_path: Path, proxy: tuple[str, HoldingRpc], waiting_kills: int
) -> None:
    """Run 1 stores the deposit and is killed before broadcasting it; run 2 heals it (sends it again, into
    the pool: anvil mines nothing meanwhile), counts it and is killed while it waits for it to be mined
    (run 3 likewise, in the three-kill case); the deposit is then mined; the last run must count it as
    the deposit asked, not deposit again."""
    url, rpc = proxy
    data = _setup(env, tmp_path, url)
    with run_provider(env, tmp_path, clock=WallClock()) as provider:
        start = _start_args(provider, _add_service(env, provider))
        held = _usdc_held(env)
        stored = _kill_at_held_broadcast(data, rpc, start)
        rpc.hold = False
        env.rpc("evm_setAutomine", [False])
        try:
            for _ in range(waiting_kills):
                run = Watched(_cli(data, *start))
                run.until_said("Waiting for the deposit of 1 USDC on its way into the channel")
                run.kill()
                sent = env.rpc("eth_getTransactionByHash", [stored.tx_hash])
                assert sent is not None and sent["blockNumber"] is None  # in the pool, not mined
            env.rpc("evm_mine")
        finally:
            env.rpc("evm_setAutomine", [True])
        receipt = env.rpc("eth_getTransactionReceipt", [stored.tx_hash])
        assert receipt is not None and int(receipt["status"], 16) == 1
        assert _deposited(env) == 1 * USDC

        events = _finish(data, start)
        assert _deposited(env) == 1 * USDC  # the one deposit asked, not two
        assert _usdc_held(env) == held - 1 * USDC
        said = _said(events)
        assert (
            "A deposit of 1 USDC into this channel, made by an earlier start that stopped before its session "
            "began, is in the channel already. It counts toward the 1 USDC asked: nothing more is deposited."
            in said
        ), said
        assert "Depositing" not in said


def test_a_deposit_killed_after_its_broadcast_before_it_is_mined_is_not_made_twice(
    env: Env, tmp_path: Path, proxy: tuple[str, HoldingRpc]
) -> None:
    """One kill is enough without any heal: run 1 broadcasts its deposit (anvil mines nothing meanwhile)
    and is killed while it waits for it; the deposit is then mined; run 2 must count it as the deposit
    asked, not deposit again."""
    url, rpc = proxy
    rpc.hold = False
    data = _setup(env, tmp_path, url)
    with run_provider(env, tmp_path, clock=WallClock()) as provider:
        start = _start_args(provider, _add_service(env, provider))
        held = _usdc_held(env)
        env.rpc("evm_setAutomine", [False])
        try:
            run = Watched(_cli(data, *start))
            run.until_said("Depositing 1 USDC into the channel")
            deadline = time.monotonic() + 60
            while int(env.rpc("eth_getTransactionCount", [env.payer.address, "pending"]), 16) == int(
                env.rpc("eth_getTransactionCount", [env.payer.address, "latest"]), 16
            ):
                assert time.monotonic() < deadline, "the deposit never reached the pool"
                time.sleep(0.05)
            run.kill()
            env.rpc("evm_mine")
        finally:
            env.rpc("evm_setAutomine", [True])
        assert _deposited(env) == 1 * USDC

        events = _finish(data, start)
        assert _deposited(env) == 1 * USDC  # the one deposit asked, not two
        assert _usdc_held(env) == held - 1 * USDC
        said = _said(events)
        assert (
            "A deposit of 1 USDC into this channel, made by an earlier start that stopped before its session "
            "began, is in the channel already. It counts toward the 1 USDC asked: nothing more is deposited."
            in said
        ), said
        assert "Depositing" not in said

        # that start's session used the deposit: the next start's --deposit is a new one, made in full
        again = _said(_finish(data, start))
        assert "Depositing 1 USDC into the channel" in again and "counts toward" not in again, again
        assert _deposited(env) == 2 * USDC
        assert _usdc_held(env) == held - 2 * USDC
