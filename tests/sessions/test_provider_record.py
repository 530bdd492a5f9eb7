"""The provider record: each session's end leaves a verdict on its provider (its receipt beside the meter),
gathered per provider for the Services page."""

from __future__ import annotations

from paygo_desktop.money import Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.reports.provider_record import SessionEnd, provider_records, session_notes
from paygo_desktop.sessions.plan import StartOptions
from paygo_desktop.store.provider_notes import ProviderNote, ProviderNotes
from tests.sessions.conftest import World, run, until

SVC, TICK, RATE = "market-data-feed", 5, 1000
USDC = 10**6


def test_an_honest_session_and_an_over_claim_are_recorded_on_the_provider(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK * RATE, what="voucher 2")
        await world.advance(1)
        assert (await engine.stop(live.local_id)).receipt_ok
        # the provider counts more than the meter: it refuses the final voucher and bills the one ahead
        live = await engine.start(plan, StartOptions("escrow", budget=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK * RATE, what="voucher 2")
        world.advance_now(0.5)
        world.provider.clock.advance(4)
        summary = await engine.stop(live.local_id)
        assert isinstance(summary.receipt, m.Receipt) and not summary.receipt_ok

    run(world.env, scenario)
    notes = ProviderNotes(world.store).all()
    assert [n.verdict for n in notes] == ["agreed", "refused", "over_claimed"]
    assert notes[0].meter_amount == notes[0].provider_amount == 6 * RATE
    assert notes[2].meter_amount == 5_500 and notes[2].provider_amount == 2 * TICK * RATE
    assert "asks 0.01 USDC where the meter measured 0.0055 USDC" in notes[2].detail
    records = provider_records(notes)
    record = records[world.env.provider.address.lower()]
    assert records[world.provider.url] is record  # found by its URL too
    assert record.text() == "1 agreed · 1 over-claim · 1 refusal"
    assert not record.clean and "asks" in (record.last_problem or "")


USDC_ASSET = Asset("USDC", 6, "0x" + "11" * 20)


def end(**kw: object) -> SessionEnd:
    values: dict[str, object] = {
        "local_id": "s1",
        "provider_url": "http://p",
        "provider_name": "P",
        "pay_to": "0x" + "AB" * 20,
        "asset": USDC_ASSET,
        "metered": 1000,
        "receipt_amount": 1000,
        "receipt_signed": True,
        "receipt_ok": True,
        "problem": None,
    }
    values.update(kw)
    return SessionEnd(**values)  # type: ignore[arg-type]


def test_every_verdict() -> None:
    verdicts = [
        session_notes(end())[0].verdict,
        session_notes(end(receipt_amount=None, problem="No receipt: timeout"))[0].verdict,
        session_notes(end(receipt_signed=False, receipt_ok=False))[0].verdict,
        session_notes(end(receipt_ok=False, receipt_amount=1500, problem="it counts 9 s"))[0].verdict,
        session_notes(end(receipt_ok=False, receipt_amount=900, problem="it counts 1 s"))[0].verdict,
    ]
    assert verdicts == ["agreed", "refused", "forged", "over_claimed", "disagreed"]
    assert [n.verdict for n in session_notes(end(settle_refused="too few seconds"))] == ["refused", "agreed"]
    assert session_notes(end())[0].provider_key == "0x" + "ab" * 20  # the payTo, in lower case


def test_a_zcash_note_by_url_joins_the_providers_record() -> None:
    payto = session_notes(end())[0]
    by_url = ProviderNote("http://p", "http://p", "P", "zcash", "perm-1", "over_claimed", "deducted more")
    record = provider_records([payto, by_url])[payto.provider_key]
    assert record.text() == "1 agreed · 1 over-claim"
    assert provider_records([]) == {}
