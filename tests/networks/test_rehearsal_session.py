"""A whole session on the Base Sepolia rehearsal, from the app's own "Base Sepolia" network entry: the
canonical vault found without being told, its code checked, the reference provider pointed at it, a channel
opened at the provider's own minimum withdrawal delay, vouchers, a stop settled at the meter with a checked
receipt, and the provider's claim on chain."""

from __future__ import annotations

from paygo_desktop.chain.canonical import VAULT, VAULT_MIN_WITHDRAW_DELAY
from paygo_desktop.chain.vouchers import app_channel
from paygo_desktop.context import AppContext
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, verify_receipt
from paygo_desktop.sessions.plan import StartOptions
from tests.networks.conftest import Rehearsal
from tests.sessions.conftest import World, make_wallet, run, run_provider, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK = 1000, 5
USDC = 10**6


def test_a_session_on_the_base_sepolia_rehearsal_end_to_end(rehearsal: Rehearsal, tmp_path) -> None:
    env = rehearsal.env
    assert rehearsal.deployed["PayGoVault"]["address"] == VAULT.address
    # the user's own data directory: nothing deployed from it, nothing configured
    ctx = AppContext.open(DataDir(tmp_path / "user").ensure())
    network = rehearsal.network
    assert ctx.networks.get("base-sepolia").name == network.name == "Base Sepolia"
    assert ctx.vault_address(network) == VAULT.address
    # Circle's USDC and EURC at their Base Sepolia addresses (token_list), nothing else
    assert [(t.symbol, t.decimals, t.address) for t in ctx.known_tokens(network)] == [
        ("USDC", 6, env.usdc),
        ("EURC", 6, "0x808456652fdb597867f38412077A9182bf77359F"),
    ]
    # the provider serves channels from 31 s of withdrawal delay (its poll + margin), above the vault's 15 s
    with run_provider(env, tmp_path, withdraw_delay_margin=30) as provider:
        world = World(
            env=env,
            tmp_path=tmp_path,
            provider=provider,
            store=ctx.store,
            wallet=make_wallet(ctx.store, ctx.data_dir.wallet_dir, env),
            network=network,
        )

        async def scenario() -> None:
            engine = world.engine()
            assert engine.chain.vault_address == ctx.vault_address(network)
            plan = await engine.plan(provider.url, SVC)
            assert plan.provider.min_withdraw_delay == 31 > VAULT_MIN_WITHDRAW_DELAY
            assert plan.provider.networks == [m.NetworkInfo(chain_id=84532, vault=VAULT.address)]
            escrow = plan.option("escrow")
            assert escrow is not None and escrow.needs_deposit
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=2 * USDC))
            assert live.status == "running" and live.signed == TICK * RATE
            # the channel: the payer's own, at the provider's minimum delay, salt 0, in Base Sepolia USDC
            expected = app_channel(env.payer.address, env.provider.address, env.usdc, 31, 0)
            assert live.terms.channel_id == "0x" + expected.id.hex()
            assert (await env.vault.channel_state(expected)).deposited == 2 * USDC
            for k in (2, 3):
                await world.advance(TICK)
                await until(lambda k=k: live.acked == k * TICK * RATE, what=f"voucher {k}")
            await world.advance(3)  # 13 s in
            summary = await engine.stop(live.local_id)
            receipt = summary.receipt
            assert isinstance(receipt, m.Receipt) and summary.receipt_ok, summary.message
            assert verify_receipt(receipt, plan.provider)
            assert receipt.amount == summary.cost == 13 * RATE  # the money: exact to the base unit
            # the provider judges a stop at its arrival (provider.load): here its clock is the test's, but a
            # stall of its loop (it shares this process and its GIL) is real time, so it may end the service
            # up to a second before the test's clock says the stop was sent; the app accepts that
            # (escrow_payer's RECEIPT_SECONDS_TOLERANCE), and the amount above is what is paid
            assert receipt.seconds in (12, 13)
            async with ProviderClient(provider.url) as client:
                claim = await client.claim_now(provider.key)
                assert claim.tx_hash is not None
            state = await env.vault.channel_state(expected)
            assert state.claimed == 13 * RATE
            paid = await env.token(env.usdc).functions.balanceOf(env.provider.address).call()
            assert paid == 10**12 + 13 * RATE  # in the network's own USDC
            # the Escrow page finds the same channel for a deposit to this provider (its listed minimum)
            escrow = EscrowService(env.w3, network, env.payer.address, ctx.store, vault_address=VAULT.address)
            asset = network.tokens[0]
            assert await escrow.new_channel(env.provider.address, asset, 31) == expected
            await engine.shutdown()

        run(env, scenario)
    ctx.close()
