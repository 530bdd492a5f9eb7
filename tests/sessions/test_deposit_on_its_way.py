"""A deposit into the channel already on its way when a start is planned: counted toward the funds the start
needs, waited for, never made a second time; and one that then does not go through starts nothing, the
next plan proposing a new deposit.

The deposit "on its way" is what a kill between storing and sending leaves: the transaction manager stores
the signed deposit, then its broadcast is held by a loopback JSON-RPC proxy in front of anvil and the send
is cancelled there (tests/sessions/test_deposit_kill.py does the same with a real SIGKILL of the command).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from paygo_desktop.chain.rpc import async_web3
from paygo_desktop.chain.transactions import TransactionManager
from paygo_desktop.escrow import requests as tx_requests
from paygo_desktop.money import Amount
from paygo_desktop.sessions.deposits_on_way import still_to_deposit
from paygo_desktop.sessions.engine import SessionEngine
from paygo_desktop.sessions.plan import DepositOnItsWay, SessionError, StartOptions
from paygo_desktop.sessions.start_choice import StartChoice
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository
from tests.provider.conftest import run_server
from tests.sessions.conftest import World, _free_port, run, until
from tests.sessions.test_deposit_kill import HoldingRpc

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
USDC = 10**6


@pytest.fixture
def holding(world: World) -> Iterator[tuple[str, HoldingRpc]]:
    rpc = HoldingRpc(world.env.url)
    port = _free_port()
    server, thread = run_server(rpc.app, port)
    try:
        yield f"http://127.0.0.1:{port}", rpc
    finally:
        rpc.closing = True
        server.should_exit = True
        thread.join(timeout=10)


async def stored_never_sent(
    world: World, engine: SessionEngine, url: str, rpc: HoldingRpc
) -> TransactionRecord:
    """A deposit of 1 USDC into the app's channel with the provider, stored by the transaction manager and
    never broadcast: its send cut short while the proxy holds the broadcast, as a kill there leaves it."""
    env = world.env
    plan = await engine.plan(world.provider.url, SVC)
    assert plan.escrow is not None
    await env.vault.approve_token(env.payer, env.usdc, USDC)
    request = tx_requests.fund(engine.chain.vault(), plan.escrow.channel, Amount(plan.asset, USDC), "Test")
    manager = TransactionManager(async_web3(url), env.chain_id, TransactionRepository(world.store))
    quote = await manager.quote(env.payer.address, request)

    def sign(tx: dict[str, object]) -> bytes:
        return bytes(env.payer.sign_transaction(tx).raw_transaction)

    sending = asyncio.ensure_future(manager.send(env.payer.address, request, quote, sign))
    await until(lambda: rpc.held == 1, timeout=30, what="the held broadcast")
    sending.cancel()
    [stored] = await manager.open_of(env.payer.address)
    assert await env.w3.eth.get_transaction_count(env.payer.address, "pending") == stored.nonce  # unsent
    return stored


async def deposited(engine: SessionEngine, world: World) -> int:
    plan = await engine.plan(world.provider.url, SVC)
    assert plan.escrow is not None
    return (await world.env.vault.channel_state(plan.escrow.channel)).deposited


def test_a_stored_deposit_is_counted_by_the_plan_waited_for_by_the_start_and_not_made_twice(
    world: World, holding: tuple[str, HoldingRpc]
) -> None:
    async def scenario() -> None:
        engine = world.engine()
        stored = await stored_never_sent(world, engine, *holding)
        plan = await engine.plan(world.provider.url, SVC)
        escrow = plan.option("escrow")
        assert escrow is not None and escrow.available == 0
        assert escrow.on_its_way == (DepositOnItsWay(stored.tx_hash, USDC),) and escrow.arriving == USDC
        assert not escrow.needs_deposit
        assert (
            escrow.label
            == "Escrow channel with Test provider: not funded yet, a deposit of 1 USDC on its way"
        )
        view = StartChoice(plan).view()  # the dialog proposes no second deposit, and says why
        assert view.budget_text == "1" and view.deposit_text == "" and view.problem is None
        assert "a deposit of 1 USDC sent earlier is already on its way into it" in view.deposit_hint
        live = await engine.start(plan, StartOptions("escrow", budget=USDC // 2))
        assert live.status == "running" and live.terms.cap == USDC // 2
        assert await deposited(engine, world) == USDC  # the stored deposit, sent once (unchanged bytes)
        receipt = await world.env.w3.eth.get_transaction_receipt(stored.tx_hash)
        assert receipt["status"] == 1
        await engine.stop(live.local_id)

    run(world.env, scenario)


def test_a_deposit_on_its_way_that_does_not_go_through_starts_nothing_and_a_new_one_is_proposed(
    world: World, holding: tuple[str, HoldingRpc]
) -> None:
    env = world.env

    async def scenario() -> None:
        engine = world.engine()
        stored = await stored_never_sent(world, engine, *holding)
        env.rpc("evm_setAutomine", [False])
        try:
            plan = await engine.plan(world.provider.url, SVC)  # sends it again: in the node's pool
            escrow = plan.option("escrow")
            assert escrow is not None and escrow.arriving == USDC and not escrow.needs_deposit
            # the account is used elsewhere meanwhile: the deposit's nonce goes to another transaction
            fee = 10 * stored.max_fee_per_gas
            other = env.payer.sign_transaction(
                {"type": 2, "chainId": env.chain_id, "nonce": stored.nonce, "to": env.payer.address,
                 "value": 0, "gas": 21_000, "maxFeePerGas": fee, "maxPriorityFeePerGas": fee}
            )  # fmt: skip
            await env.w3.eth.send_raw_transaction(other.raw_transaction)
            env.rpc("evm_mine")
        finally:
            env.rpc("evm_setAutomine", [True])
        with pytest.raises(SessionError, match="did not go through: it was replaced") as refused:
            await engine.start(plan, StartOptions("escrow", budget=USDC // 2))
        assert "Start it again to make a new deposit" in str(refused.value)
        assert engine.history.find() == [] and await deposited(engine, world) == 0
        again = (await engine.plan(world.provider.url, SVC)).option("escrow")
        assert again is not None and again.on_its_way == () and again.needs_deposit  # a new deposit, then
        assert still_to_deposit(USDC, again.on_its_way, plan.asset) == (USDC, "")

    run(world.env, scenario)


def test_the_headless_deposit_counts_what_is_on_its_way_and_sends_the_rest() -> None:
    from paygo_desktop.money import Asset

    usdc = Asset("USDC", 6, "0x" + "cc" * 20)
    part = (DepositOnItsWay("0x" + "01" * 32, 400_000),)
    assert still_to_deposit(USDC, part, usdc) == (
        600_000,
        "A deposit of 0.4 USDC into this channel is already on its way. It counts toward the 1 USDC asked: "
        "depositing the remaining 0.6 USDC.",
    )
    resent = (DepositOnItsWay("0x" + "02" * 32, USDC, landed=True, resent=True),)
    left, said = still_to_deposit(USDC // 2, resent, usdc)
    assert left == 0 and said.endswith("It counts toward the 0.5 USDC asked: nothing more is deposited.")
    assert still_to_deposit(USDC, (), usdc) == (USDC, "")


def test_an_earlier_starts_deposit_counts_only_as_far_as_the_channel_still_holds_it() -> None:
    """An earlier start's deposit, in the channel, counts toward ``--deposit``; once withdrawn (the channel
    holds less for new sessions than it brought) it counts only as far as the channel still holds it, so
    the start deposits what is missing instead of refusing to start for want of funds it said were there."""
    from paygo_desktop.money import Asset

    usdc = Asset("USDC", 6, "0x" + "cc" * 20)
    earlier = (DepositOnItsWay("0x" + "03" * 32, USDC, landed=True, earlier_start=True),)
    left, said = still_to_deposit(USDC, earlier, usdc, available=USDC)
    assert left == 0 and said.startswith("A deposit of 1 USDC into this channel, made by an earlier start")
    assert still_to_deposit(USDC, earlier, usdc, available=0) == (USDC, "")  # withdrawn since
    left, said = still_to_deposit(USDC, earlier, usdc, available=400_000)
    assert left == 600_000 and said.startswith("A deposit of 0.4 USDC into this channel")
    arriving = (*earlier, DepositOnItsWay("0x" + "04" * 32, 250_000))  # one still on its way: all of it
    assert still_to_deposit(USDC, arriving, usdc, available=0)[0] == USDC - 250_000
