"""The sandbox on the embedded py-evm node (no anvil): a paid session from channel to cooperative close."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

pytest.importorskip("eth_tester")
pytest.importorskip("eth")

from eth_account import Account

from paygo_desktop.chain.canonical import VAULT
from paygo_desktop.chain.sandbox_permit2 import PERMIT2, UPTO_PROXY
from paygo_desktop.chain.vault import Closed, VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, sign_voucher, verify_close
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, verify_quote, verify_receipt
from paygo_desktop.sandbox.node import rpc
from paygo_desktop.sandbox.state import is_alive, read_state
from paygo_desktop.wallet import KdfParams, Wallet

PHRASE = "test test test test test test test test test test test junk"
FUNDED = 10_000 * 10**6  # the sandbox mints this much test USDC to each funded account
DEPOSIT = 50 * 10**6
PORTS = ("--rpc-port", "0", "--provider-port", "0")


def start_sandbox(data: DataDir) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "sandbox", *PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PAYGO_SANDBOX_NODE": "embedded"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the ready line, or EOF if it failed
    if not line:
        proc.wait(timeout=10)
        pytest.fail(f"sandbox failed: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)


def test_a_paid_session_on_the_embedded_node(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12)).create_from_mnemonic(PHRASE, "pw-12345678")
    ctx.close()
    proc, ready = start_sandbox(data)
    try:
        state = read_state(data.sandbox_dir)
        assert state is not None
        assert rpc(ready["rpc"], "web3_clientVersion").startswith("paygo-embedded")  # not anvil
        assert ready["chainId"] == 31337 and int(rpc(ready["rpc"], "eth_chainId"), 16) == 31337
        for canonical in (PERMIT2, UPTO_PROXY):  # x402 upto's contracts, put there by anvil_setCode
            assert rpc(ready["rpc"], "eth_getCode", [canonical, "latest"]) not in ("0x", "0x0")
        # "ready" means the provider has reached the chain: it takes sessions at once
        assert httpx.get(ready["provider"] + "/api/v1/health", timeout=5).json()["status"] == "ok"
        asyncio.run(_session(ready))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not is_alive(state.node_pid) and not is_alive(state.provider_pid)


async def _session(ready: dict) -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    Account.enable_unaudited_hdwallet_features()
    payer = Account.from_mnemonic(PHRASE, account_path="m/44'/60'/0'/0/0")
    w3 = AsyncWeb3(AsyncHTTPProvider(ready["rpc"]))
    vault = VaultClient(w3, ready["vault"])
    # the canonical vault, through the deterministic-deployment proxy the embedded node installed at start
    assert vault.address == VAULT.address
    usdc = ready["usdc"]
    assert payer.address in ready["funded"]
    assert await vault.token_balance(usdc, payer.address) == FUNDED

    async with ProviderClient(ready["provider"]) as client:
        info = await client.provider_info()
        assert info.networks[0].chain_id == 31337 and info.networks[0].vault == vault.address
        page = await client.list_services(page_size=100)
        service = next(
            s for s in page.items if s.rate.asset == "USDC" and s.rate.cost(s.tick_seconds) * 4 <= DEPOSIT
        )
        tick_cost = service.rate.cost(service.tick_seconds)
        provider_before = await vault.token_balance(usdc, info.pay_to)

        # a channel funded with test USDC (approve + fund), signed locally and sent raw
        channel = Channel(
            payer=payer.address,
            provider=info.pay_to,
            token=usdc,
            withdraw_delay=await vault.min_withdraw_delay(),
            salt=os.urandom(32),
        )
        await vault.approve_token(payer, usdc, DEPOSIT)
        funded = await vault.fund(payer, channel, DEPOSIT)
        assert funded.tx.gas_used > 0 and (await vault.channel_state(channel)).deposited == DEPOSIT
        domain = VaultDomain(chain_id=31337, vault=vault.address)

        started = await client.start_session(
            service.id, channel, tick_cost, sign_voucher(payer, domain, channel, tick_cost)
        )
        assert verify_quote(started.quote, info) and started.quote.start_cumulative == 0
        await asyncio.sleep(1.1)
        total = tick_cost + service.rate.cost(1)
        ack = await client.send_voucher(
            started.session_id, 1, total, sign_voucher(payer, domain, channel, total)
        )
        assert ack.cumulative_amount == total
        stopped = await client.stop_session(started.session_id, access_token=started.access.token)
        assert verify_receipt(stopped.receipt, info) and stopped.receipt.final_cumulative == total

        close = await client.request_close(payer, channel)
        assert close.final_amount == total
        assert verify_close(domain, channel, close.final_amount, close.deadline, close.signature)
        payer_before = await vault.token_balance(usdc, payer.address)
        tx = await vault.close_cooperative(
            payer,
            channel,
            close.final_amount,
            close.deadline,
            sign_voucher(payer, domain, channel, close.final_amount),
            bytes.fromhex(close.signature[2:]),
        )
        closed = tx.of_type(Closed)[0]
        assert closed.provider_amount == total and closed.refund == DEPOSIT - total
        assert await vault.token_balance(usdc, info.pay_to) == provider_before + total
        assert await vault.token_balance(usdc, payer.address) == payer_before + DEPOSIT - total
        assert await vault.token_balance(usdc, payer.address) == FUNDED - total
        assert (await client.get_session(started.session_id)).status is m.SessionStatus.ended
