"""The sandbox keeps its chain across restarts (anvil's state file): a deposit and a claim made through the
app's own transaction manager are still there after `paygo-desktop sandbox` is stopped and started again,
figures identical, and nothing the app stored is sent again. When the kept chain is lost, the new world
says so and the app's records of the old one are set apart, never re-broadcast into the new chain."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
from eth_account import Account

from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import VaultDomain, sign_voucher
from paygo_desktop.context import AppContext
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import Amount, Asset
from paygo_desktop.paths import DataDir
from paygo_desktop.sandbox.node import find_anvil, rpc
from paygo_desktop.sandbox.world import provider_key
from paygo_desktop.sandbox.worlds import chain_state_file
from paygo_desktop.store.transactions import TransactionRepository
from tests.sandbox.test_sandbox_command import PHRASE, start, stop, wallet_dir

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)
PAYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEPOSIT, CLAIM = 2 * 10**6, 250_000


def _service(ctx: AppContext, ready: dict[str, Any]) -> EscrowService:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    w3 = AsyncWeb3(AsyncHTTPProvider(ready["rpc"]))
    usdc = Asset("USDC", 6, ready["usdc"])
    return EscrowService(w3, ctx.network, PAYER, ctx.store, vault_address=ready["vault"], tokens=(usdc,))


def _deposit_and_claim(data: DataDir, ready: dict[str, Any]) -> str:
    """A deposit sent the app's way (stored, then broadcast), then the provider's claim of a voucher."""
    Account.enable_unaudited_hdwallet_features()
    payer = Account.from_mnemonic(PHRASE)
    provider = Account.from_key(provider_key())
    pay_to = httpx.get(ready["provider"] + "/api/v1/provider", timeout=5).json()["payTo"]
    assert pay_to == provider.address
    ctx = AppContext.open(data)
    try:

        async def go() -> str:
            service = _service(ctx, ready)
            usdc = Asset("USDC", 6, ready["usdc"])
            channel = await service.new_channel(pay_to, usdc)
            manager = service.transactions
            for request in await service.plan_deposit(channel, Amount(usdc, DEPOSIT), "Sandbox"):
                quote = await manager.quote(PAYER, request)
                record = await manager.send(
                    PAYER, request, quote, lambda tx: payer.sign_transaction(tx).raw_transaction
                )
                assert (await manager.wait(record)).status == "confirmed"
            vault = VaultClient(service.w3, ready["vault"])
            signature = sign_voucher(payer, VaultDomain(31337, ready["vault"]), channel, CLAIM)
            await vault.claim(provider, channel, CLAIM, signature)
            return "0x" + channel.id.hex()

        return asyncio.run(go())
    finally:
        ctx.close()


def _figures(ready: dict[str, Any], channel_id: str) -> dict[str, Any]:
    url = ready["rpc"]

    def usdc(owner: str) -> int:
        call = {"to": ready["usdc"], "data": "0x70a08231" + owner[2:].lower().rjust(64, "0")}
        return int(rpc(url, "eth_call", [call, "latest"]), 16)

    provider = Account.from_key(provider_key()).address

    async def channel() -> tuple[int, ...]:
        from web3 import AsyncHTTPProvider, AsyncWeb3

        state = await VaultClient(AsyncWeb3(AsyncHTTPProvider(url)), ready["vault"]).channel_state(
            bytes.fromhex(channel_id[2:])
        )
        return (state.deposited, state.claimed, state.withdrawn, state.pending_withdraw)

    return {
        "payer_eth": int(rpc(url, "eth_getBalance", [PAYER, "latest"]), 16),
        "payer_usdc": usdc(PAYER),
        "provider_usdc": usdc(provider),
        "channel": asyncio.run(channel()),
        "payer_nonce": int(rpc(url, "eth_getTransactionCount", [PAYER, "latest"]), 16),
    }


def _app_reads_the_escrow_page(data: DataDir, ready: dict[str, Any]) -> list[str]:
    """What the Escrow page's reload does (it heals and refreshes the stored transactions); returns the
    channels it shows."""
    ctx = AppContext.open(data)
    try:

        async def read() -> list[str]:
            overview = await _service(ctx, ready).overview()
            return [c.channel_id for c in overview.channels]

        return asyncio.run(read())
    finally:
        ctx.close()


def _an_earlier_versions_catalog(data: DataDir) -> None:
    """The kept provider database as an earlier version left it: the whole demo catalog seeded (services the
    sandbox does not deliver), and one service its vendor added."""
    import json

    from paygo_desktop.protocol import models as m
    from paygo_desktop.provider.catalog_seed import service_row
    from paygo_desktop.provider.config import DEMO_CATALOG
    from paygo_desktop.provider.store import ServiceRow, Store

    store = Store(str(data.sandbox_dir / "provider.sqlite3"))
    try:
        with store.tx() as db:
            for entry in json.loads(DEMO_CATALOG.read_text()):
                if entry.get("type") != "job" and db.get(ServiceRow, entry["id"]) is None:
                    service_id = entry.pop("id")
                    db.add(service_row(service_id, m.ServiceFields.model_validate(entry), 0.0))
            mine = m.ServiceFields(
                name="Mine",
                category="data",
                type=m.ServiceType.data,
                rate=m.Rate(amount=1000, asset="USDC", unit=m.RateUnit.per_second),
            )
            db.add(service_row("svc_mine", mine, 0.0))
    finally:
        store.close()


def test_a_restarted_sandbox_continues_its_chain_and_nothing_is_sent_again(tmp_path: Any) -> None:
    data = wallet_dir(tmp_path)
    proc, ready = start(data)
    try:
        channel_id = _deposit_and_claim(data, ready)
        before = _figures(ready, channel_id)
        assert before["channel"] == (DEPOSIT, CLAIM, 0, 0)
    finally:
        stop(proc)
    _an_earlier_versions_catalog(data)

    proc, again = start(data)
    try:
        assert _figures(again, channel_id) == before
        listed = httpx.get(again["provider"] + "/api/v1/service", params={"pageSize": 100}, timeout=5).json()
        assert {s["id"] for s in listed["items"]} == {
            "market-data-feed",
            "weather-api",
            "weather-per-call",  # sold one request at a time with x402
            "demo-video",
            "legal-consult",
            "svc_mine",
        }
        assert chain_state_file(data.sandbox_dir).exists()
        assert (ready["world"], again["world"], again["worldNote"]) == ("first", "kept", None)
        assert (again["vault"], again["usdc"]) == (ready["vault"], ready["usdc"])
        assert PAYER not in again["funded"]  # not funded a second time
        assert _app_reads_the_escrow_page(data, again) == [channel_id]
        assert _figures(again, channel_id) == before  # nothing re-broadcast: the payer's nonce is the same
        ctx = AppContext.open(data)
        try:
            statuses = {r.status for r in TransactionRepository(ctx.store).recent()}
        finally:
            ctx.close()
        assert statuses == {"confirmed"}
    finally:
        stop(proc)


def test_a_lost_chain_starts_a_new_world_that_says_so_and_gets_nothing_of_the_old(tmp_path: Any) -> None:
    data = wallet_dir(tmp_path)
    proc, ready = start(data)
    try:
        _deposit_and_claim(data, ready)
    finally:
        stop(proc)
    chain_state_file(data.sandbox_dir).unlink(missing_ok=True)  # the kept chain is gone

    proc, again = start(data)
    try:
        nonce = int(rpc(again["rpc"], "eth_getTransactionCount", [PAYER, "latest"]), 16)
        assert _app_reads_the_escrow_page(data, again) == []  # no channel of the old chain
        assert (
            int(rpc(again["rpc"], "eth_getTransactionCount", [PAYER, "latest"]), 16) == nonce
        )  # none resent
        assert again["world"] == "new"
        assert "A new sandbox chain was started: the chain kept from the last run is gone" in str(
            again["worldNote"]
        )
        ctx = AppContext.open(data)
        try:
            assert {r.status for r in TransactionRepository(ctx.store).recent()} == {"old_chain"}
            assert any("new sandbox chain" in e.message for e in ctx.activity.recent())
        finally:
            ctx.close()
    finally:
        stop(proc)
