"""Paid-ahead credit: the provider's batch claim took the voucher one tick ahead, then the session settled
lower at its meter. The chain paid the provider more than the books say; the app shows that difference
(the session's summary, its record, the CSV and JSON exports) and the next session on the channel uses it
(it starts below what was claimed, so its first seconds cost the chain nothing more)."""

from __future__ import annotations

import csv
import io

from paygo_desktop.commands.session import record_json
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.history_csv import export_csv
from paygo_desktop.sessions.plan import StartOptions
from tests.sessions.conftest import World, run, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK = 1000, 5
TICK_COST = RATE * TICK
USDC = 10**6


def test_a_claim_one_tick_ahead_is_shown_as_paid_ahead_and_the_next_session_uses_it(world: World) -> None:
    env = world.env

    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK_COST)
        async with ProviderClient(world.provider.url) as client:
            await client.claim_now(world.provider.key)  # 10,000 claimed while only 5 s are used
        channel = bytes.fromhex((live.terms.channel_id or "")[2:])
        assert (await env.vault.channel_state(channel)).claimed == 2 * TICK_COST
        await world.advance(1)
        first = await engine.stop(live.local_id)  # settles at the meter: 6 s, 6,000
        assert first.cost == 6 * RATE and first.receipt_ok
        assert first.paid_ahead_credit == 4 * RATE
        assert "0.004 USDC is paid ahead on chain" in first.message
        assert "paid ahead, used by your next session" in first.message
        assert first.as_json()["paidAheadCreditUnits"] == "4000"
        record = engine.history.get(live.local_id)
        assert record is not None and record.paid_ahead_credit == 4 * RATE
        assert record_json(record)["paidAheadCredit"] == "0.004"
        assert engine.history.paid_ahead_credit(live.terms.channel_id or "", 2 * TICK_COST) == 4 * RATE

        # the next session starts from the settled 6,000, below the 10,000 claimed: it uses the credit
        nxt = await engine.start(plan, StartOptions("escrow", budget=USDC))
        record2 = engine.history.get(nxt.local_id)
        assert record2 is not None and record2.terms.channel_base == 6 * RATE
        await world.advance(2)
        second = await engine.stop(nxt.local_id)
        assert second.cost == 2 * RATE and second.paid_ahead_credit == 2 * RATE  # 2 s taken from it
        assert (await env.vault.channel_state(channel)).claimed == 2 * TICK_COST  # nothing more paid

        out = io.StringIO()
        export_csv(engine.history.find(), out)
        rows = {r["local_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
        assert rows[live.local_id]["paid_ahead_credit"] == "0.004"
        assert rows[live.local_id]["paid_ahead_credit_units"] == "4000"
        assert rows[nxt.local_id]["paid_ahead_credit_units"] == "2000"

    run(env, scenario)
