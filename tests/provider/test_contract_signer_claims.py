"""Contract signers (EIP-1271) that answer the provider's checks otherwise than the vault's claim.

No eth_call proves what a contract will answer on chain. These wallets tell a check from the claim the way
real ones can: by the gas price (an eth_call without one runs at tx.gasprice 0), or by a change front-run
into the claim's block (here: anvil mining by hand, the wallet's mode flipped for the mined block only, as
if the wallet read something only a mined transaction sees). Real anvil, the real provider over loopback.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.vault import Claimed
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError
from paygo_desktop.provider.contract_signed_claims import REVERTED_ON_CHAIN
from tests.provider.conftest import Env, Server, open_channel, provider_server, voucher, wait_events_seen
from tests.provider.test_contract_wallet import _wallet_channel
from tests.provider.test_hostile_payers import claimed, hostile_channel, paid_session

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK
# isValidSignature returns the magic value iff GASPRICE == 0 (an eth_call without a price), else 0xffffffff
GASPRICE_ZERO_WALLET = "0x631626ba7e3a156010575063ffffffff5b60e01b60005260206000f3"
REFUSES_THE_VAULT = 1  # FickleWallet mode: refuses the vault (mode is its storage slot 0)


def test_a_signer_that_approves_only_at_gas_price_zero_is_refused_at_start(
    server: Server, client: ProviderClient
) -> None:
    """The payer's own account, a signer contract that approves anything in an eth_call (gas price 0) and
    nothing in a transaction: its garbage vouchers are refused at the start, no service given."""
    env = server.env
    wallet = env.deploy("ERC1271Wallet", env.payer2.address)
    env.rpc("anvil_setCode", [wallet, GASPRICE_ZERO_WALLET])
    ch = Channel(
        payer=env.payer2.address,
        signer=wallet,
        provider=env.provider.address,
        token=env.usdc,
        withdraw_delay=env.min_delay,
        salt=os.urandom(32),
    )
    env.run(env.vault.fund(env.payer2, ch, 100_000))
    with pytest.raises(ProviderHTTPError) as refused:
        env.run(client.start_session(SVC, ch, TICK_COST, b"\x01" * 65))
    assert refused.value.status == 400 and refused.value.code == "bad_signature"


class Miner:
    """anvil without automine, mined by hand: every ``block_time`` seconds when a transaction waits. Each
    block is mined with the hostile wallets refusing the vault, and they approve it again right after: a
    wallet whose every eth_call passes and whose every mined claim reverts."""

    def __init__(self, env: Env, hostile: list[Channel], block_time: float = 0.0) -> None:
        self.env = env
        self.wallets = [ch.signer for ch in hostile]
        self.salts = [ch.salt.hex() for ch in hostile]
        self.block_time = block_time
        self.hostile_sent = 0  # mined transactions that carry a hostile channel
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pending(self) -> list[dict[str, Any]]:
        pool = self.env.rpc("txpool_content")["pending"]
        return [tx for by_nonce in pool.values() for tx in by_nonce.values()]

    def _mode(self, mode: int) -> None:
        for wallet in self.wallets:
            self.env.rpc("anvil_setStorageAt", [wallet, "0x0", "0x" + f"{mode:064x}"])

    def _run(self) -> None:
        while not self._stop.is_set():
            pending = self._pending()
            if not pending:
                time.sleep(0.02)
                continue
            time.sleep(self.block_time)
            pending = self._pending()
            self.hostile_sent += sum(any(s in tx["input"] for s in self.salts) for tx in pending)
            self._mode(REFUSES_THE_VAULT)
            try:
                self.env.rpc("evm_mine")
            finally:
                self._mode(0)

    def __enter__(self) -> Miner:
        self.env.rpc("evm_setAutomine", [False])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.env.rpc("evm_setAutomine", [True])


@pytest.fixture
def automine_back(env: Env) -> Iterator[None]:
    try:
        yield
    finally:
        env.rpc("evm_setAutomine", [True])


def test_a_claim_that_passed_its_checks_and_reverted_on_chain_refuses_its_channel_for_good(
    server: Server, client: ProviderClient, automine_back: None
) -> None:
    """The hostile wallet's channel shares a claim round with an EOA channel and an honest contract
    wallet's: both honest channels are paid in that round; the hostile channel is refused (its live session
    ends) after one lone claim, and never sent again."""
    env = server.env
    eoa = open_channel(env, 1_000_000)
    paid_session(server, client, eoa, env.payer)
    wallet = _wallet_channel(env, env.payer2)
    paid_session(server, client, wallet, env.payer2)
    hostile = hostile_channel(env, 0)
    live = paid_session(server, client, hostile, env.stranger, stop=False)  # every check passes

    with Miner(env, [hostile]) as miner:
        result = env.run(client.claim_now(env.provider))
        assert sorted(result.channels) == sorted("0x" + ch.id.hex() for ch in (eoa, wallet))
        assert miner.hostile_sent == 2  # the contract-signed batch, then the hostile channel alone
        hostile_id = "0x" + hostile.id.hex()
        listed = env.run(client.claimable_vouchers(env.provider))
        assert [(r.channel_id, r.reason) for r in listed.refused] == [(hostile_id, REVERTED_ON_CHAIN[:200])]
        with pytest.raises(ProviderHTTPError) as more:  # its session is over
            env.run(
                client.send_voucher(
                    live.session_id, 2, 3 * TICK_COST, voucher(env, hostile, 3 * TICK_COST, env.stranger)
                )
            )
        assert more.value.code == "channel_refused"

        # never sent again, not even once its backoff is over (its checks all pass)
        server.app.state.claimer.retries.clear()
        assert env.run(client.claim_now(env.provider)).channels == []
        assert miner.hostile_sent == 2
    assert claimed(env, eoa) == claimed(env, wallet) == 2 * TICK_COST
    assert claimed(env, hostile) == 0


def test_contract_signed_vouchers_are_claimed_on_their_short_schedule(
    env: Env, tmp_path: Path, automine_back: None
) -> None:
    """No vendor claim, the scheduled claim an hour away: the contract-signed channels are claimed within
    contract_signer_claim_interval, which ends the hostile wallet's live session there; EOA channels wait
    for their schedule."""
    with provider_server(env, tmp_path, contract_signer_claim_interval=1.0) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            eoa = open_channel(env, 1_000_000)
            paid_session(server, client, eoa, env.payer)
            wallet = _wallet_channel(env, env.payer2)
            paid_session(server, client, wallet, env.payer2)
            hostile = hostile_channel(env, 0)
            live = paid_session(server, client, hostile, env.stranger, stop=False)
            with Miner(env, [hostile]):
                deadline = time.monotonic() + 15
                while "0x" + hostile.id.hex() not in server.app.state.core.store.refused_ids():
                    assert time.monotonic() < deadline, "the contract-signed vouchers were not claimed"
                    time.sleep(0.1)
                with pytest.raises(ProviderHTTPError) as more:
                    env.run(
                        client.send_voucher(
                            live.session_id,
                            2,
                            3 * TICK_COST,
                            voucher(env, hostile, 3 * TICK_COST, env.stranger),
                        )
                    )
                assert more.value.code == "channel_refused"
        finally:
            env.run(client.aclose())
    assert claimed(env, wallet) == 2 * TICK_COST
    assert claimed(env, eoa) == 0 and claimed(env, hostile) == 0


def test_a_withdrawal_claim_goes_before_a_round_of_hostile_claims(
    server: Server, client: ProviderClient, automine_back: None
) -> None:
    """Many hostile contract-signed channels, each of whose claims reverts only when mined (one block a
    second): while the claim round sends them one by one, a payer requests its whole escrow back on an EOA
    channel whose vouchers are unclaimed. Its claim is mined before the withdrawal can be finalized."""
    env = server.env
    hostile = [hostile_channel(env, 0, escrow=100_000) for _ in range(14)]
    for ch in hostile:
        paid_session(server, client, ch, env.stranger)
    eoa = open_channel(env, 100_000)
    wait_events_seen(server)

    async def vendor_claim() -> None:  # the vendor's Claim now, on its own loop and client
        slow = ProviderClient(server.url, timeout=120)
        try:
            await slow.claim_now(env.provider)
        finally:
            await slow.aclose()

    with Miner(env, hostile, block_time=1.0) as miner:
        vendor = threading.Thread(target=lambda: asyncio.run(vendor_claim()))
        vendor.start()
        try:
            deadline = time.monotonic() + 30
            while miner.hostile_sent < 2:  # the hostile batch reverted; the lone claims have begun
                assert time.monotonic() < deadline, "the hostile claims were not sent"
                time.sleep(0.05)
            s = env.run(client.start_session(SVC, eoa, TICK_COST, voucher(env, eoa, TICK_COST)))
            server.clock.advance(TICK)
            env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, eoa, 2 * TICK_COST)))
            request = env.run(env.vault.request_withdraw(env.payer, eoa, 100_000))
            ready_at = env.run(env.vault.channel_state(eoa)).withdraw_ready_at
            deadline = time.monotonic() + 40
            while claimed(env, eoa) != 2 * TICK_COST:
                assert time.monotonic() < deadline, "the withdrawing channel was not claimed"
                time.sleep(0.1)
        finally:
            vendor.join(timeout=60)
    claims = env.run(env.vault.get_events(request.tx.block_number))
    claim_block = next(
        e.meta.block_number for e in claims if isinstance(e, Claimed) and e.channel_id == eoa.id
    )
    assert env.run(env.w3.eth.get_block(claim_block))["timestamp"] < ready_at
