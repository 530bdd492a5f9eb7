"""A service priced in a 2-decimal token: the start says so while the account holds none, and once it holds
some, the deposit, the vouchers, the receipt and the claim are exact to the token's base unit (a cent)."""

from __future__ import annotations

from paygo_desktop.chain.tx import send
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.plan import StartOptions
from paygo_desktop.sessions.start_choice import StartChoice
from paygo_desktop.sessions.terms import Funding
from tests.sessions.conftest import World, run, run_provider, until

RATE, TICK = 1, 5  # one GUSD cent a second, a 5-second tick


def test_a_2_decimal_token_session_from_not_holding_it_to_the_claim(world: World) -> None:
    env = world.env
    gusd_address = env.deploy("TestToken", "Test Gemini Dollar", "GUSD", 2)
    gusd = Asset("GUSD", 2, gusd_address)
    assets = [
        {"symbol": "GUSD", "address": gusd_address, "decimals": 2},
        {"symbol": "ETH", "address": "0x" + "00" * 20, "decimals": 18},
    ]
    with run_provider(env, world.tmp_path, assets=assets) as provider:
        world.providers.append(provider)

        async def scenario() -> None:
            async with ProviderClient(provider.url) as client:
                fields = m.ServiceFields(
                    name="Cent feed",
                    category="data",
                    type=m.ServiceType.data,
                    rate=m.Rate(amount=RATE, asset="GUSD", unit=m.RateUnit.per_second),
                    tick_seconds=TICK,
                    grace_seconds=5,
                )
                service = await client.create_service(provider.key, fields)
            engine = world.engine()
            plan = await engine.plan(provider.url, service.id)
            assert plan.asset == gusd
            option = plan.option(Funding.ESCROW)
            assert option is not None and option.wallet_holds == 0
            choice = StartChoice(plan)  # what the start dialog shows, before anything is signed
            view = choice.view()
            assert view.problem is not None and view.show_problem
            assert "priced in GUSD, and this account holds none" in view.problem

            mint = env.token(gusd_address, "TestToken").functions.mint(env.payer.address, 250)  # 2.50 GUSD
            await send(env.w3, mint, env.deployer)
            plan = await engine.plan(provider.url, service.id)
            option = plan.option(Funding.ESCROW)
            assert option is not None and option.wallet_holds == 250
            choice = StartChoice(plan)
            choice.set_budget("2")
            choice.set_deposit("3")
            assert choice.view().problem == (
                "This account holds 2.5 GUSD; the deposit needs 3 GUSD. Lower it, or get more GUSD first."
            )
            choice.set_deposit("2")
            assert choice.view().problem is None
            assert choice.options() == StartOptions(Funding.ESCROW, budget=200, deposit=200)
            live = await engine.start(plan, choice.options())
            await world.advance(TICK)
            await until(lambda: live.acked == 2 * TICK * RATE, what="voucher 2")
            await world.advance(3)
            summary = await engine.stop(live.local_id)
            assert summary.receipt_ok, summary.message
            assert summary.cost == summary.metered == 8 and Amount(gusd, summary.cost).format() == "0.08 GUSD"
            async with ProviderClient(provider.url) as client:
                assert (await client.claim_now(provider.key)).tx_hash is not None
            state = await env.vault.channel_state(bytes.fromhex((live.terms.channel_id or "")[2:]))
            assert state.claimed == 8 and state.deposited == 200

        run(env, scenario)
