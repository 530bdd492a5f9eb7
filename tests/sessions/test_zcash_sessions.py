"""A session paid from a Zcash spending permission: the reference provider in ledger mode (payments made
through its local ledger), the engine metering on its own clock beside the provider's deduction; when the
permission runs out, the escrow channel takes over if the user allowed it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import ZEC
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import ProviderClient, ProviderTimeout, ProviderUnreachable
from paygo_desktop.sessions.plan import SessionError, StartOptions
from paygo_desktop.sessions.status import SessionEvent
from paygo_desktop.sessions.terms import Funding
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.models import ZcashPermissionRow
from paygo_desktop.store.provider_notes import ProviderNotes
from paygo_desktop.zcash.addresses import Network, encode_sapling
from paygo_desktop.zcash.book import PermissionBook
from tests.sessions.conftest import Env, World, run, run_provider, until
from tests.zcash.hostile_provider import tampering_clients

SVC = "lofi-radio"  # tick 10 s, grace 20 s
AMOUNT, RATE = 1_000_000, 400_000  # zatoshi; zatoshi per hour
USER_Z = encode_sapling(Network.TEST, bytes(range(43)))


@pytest.fixture
def zworld(world: World, env: Env, tmp_path: Path) -> Iterator[World]:
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": 1}
    with run_provider(env, tmp_path, zcash=zcash) as provider:
        world.provider = provider
        yield world


async def _permission(world: World) -> zm.ZcashPermission:
    async with ProviderClient(world.provider.url) as client:
        permission = await client.create_zcash_permission(USER_Z, AMOUNT, RATE)
        await client.ledger_pay(permission.payment_address, AMOUNT, permission.memo)
        await client.ledger_mine(1)
        assert (await client.verify_zcash_permission(permission.id)).status is zm.ZcashPermissionStatus.active
    with world.store.session() as s:  # as the Zcash page's permission book keeps it (no token here)
        s.add(
            ZcashPermissionRow(
                provider_url=world.provider.url,
                provider_name="Test provider",
                permission_id=permission.id,
                account=world.env.payer.address,
                pay_address=permission.payment_address,
                payment_uri=permission.payment_uri,
                amount_zat=AMOUNT,
                rate_per_hour_zat=RATE,
                status="active",
                allow_fallback=False,
                expires_at=datetime.fromtimestamp(permission.expires_at, UTC),
            )
        )
    return permission


def test_a_session_paid_from_a_zcash_permission(zworld: World) -> None:
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        tokens = {permission.id: permission.token or ""}
        engine = world.engine(token_lookup=tokens.__getitem__)
        plan = await engine.plan(world.provider.url, SVC)
        option = plan.option("zcash", permission.id)
        assert option is not None and option.available == AMOUNT and option.asset == ZEC
        assert option.price is not None and option.price.amount == RATE and option.price.unit == "per_hour"
        live = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        assert live.terms.asset == ZEC and live.status == "running"
        with pytest.raises(SessionError, match="already pays a running session"):
            await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        for _ in range(6):
            await world.advance(10)
        summary = await engine.stop(live.local_id)
        assert summary.status == "stopped" and summary.seconds == 60
        assert summary.metered == 6_667  # ceil(400 000 × 60 / 3600) by our meter
        assert isinstance(summary.receipt, zm.ZcashSession)
        assert summary.cost == summary.receipt.amount_zat == 6_666  # the provider rounds down
        assert summary.receipt.status is zm.ZcashSessionStatus.ended and summary.receipt_ok
        record = engine.history.get(live.local_id)
        assert record is not None and record.cost == 6_666 and record.terms.funding == "zcash"
        assert engine.history.spent(live.local_id) == 6_666
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert (row.metered_zat, row.deducted_zat, row.used_seconds) == (6_667, 6_666, 60)
        # the provider's record: this session agreed (its report matched the app's record)
        [note] = ProviderNotes(world.store).all()
        assert (note.source, note.ref, note.verdict) == ("zcash", live.local_id, "agreed")
        assert (note.meter_amount, note.provider_amount) == (6_667, 6_666)
        assert "deducted 0.00006666 ZEC" in note.detail

    run(world.env, scenario)


EXTRA_SECONDS = 60  # the budget goes this far beyond what the permission pays for


def test_the_escrow_channel_takes_over_when_the_permission_runs_out(zworld: World) -> None:
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        engine = world.engine(token_lookup={permission.id: permission.token or ""}.__getitem__)
        events: list[SessionEvent] = []
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        zec_price = Price(RATE, "per_hour")
        budget = AMOUNT + zec_price.cost_seconds(EXTRA_SECONDS)
        deposit = plan.price.cost_seconds(2 * EXTRA_SECONDS)
        options = StartOptions(
            "zcash", budget=budget, deposit=deposit, permission_id=permission.id, allow_fallback=True
        )
        zcash = await engine.start(plan, options)
        assert zcash.terms.cap == AMOUNT  # the meter stops where the permission runs out

        await world.advance(10)  # one tick: our meter goes to the permission's row as the session runs
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert (row.metered_zat, row.deducted_zat) == (1_112, 1_111)
        assert zcash.acked == 1_111  # the provider's deduction so far, while the session is live

        await world.advance(AMOUNT * 3600 // RATE - 10)  # the rest of the permission's 2.5 hours
        await until(lambda: any(e.kind == "fallback" for e in events), what="the escrow fallback")
        summary = await engine.wait(zcash.local_id)
        assert summary.status == "stopped" and summary.cost == summary.metered == AMOUNT
        assert zcash.stop_reason == "The Zcash permission ran out; continuing on the escrow channel."
        escrow = next(s for s in engine.live() if s.local_id != zcash.local_id)
        assert escrow.terms.funding == "escrow" and escrow.status == "running"
        assert escrow.terms.cap == plan.price.cost_seconds(EXTRA_SECONDS)  # the rest of the budget, by time
        fallback = next(e for e in events if e.kind == "fallback")
        assert fallback.local_id == escrow.local_id and "continues on the escrow channel" in fallback.message
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert row.status == "exhausted" and row.metered_zat == row.deducted_zat == AMOUNT

        await world.advance(10)
        await until(lambda: escrow.acked > plan.price.cost_seconds(10), what="escrow vouchers")
        done = await engine.stop(escrow.local_id)
        assert done.receipt_ok and done.status == "stopped"

    run(world.env, scenario)


def test_the_provider_ending_a_session_as_exhausted_within_a_tick_of_the_meter_still_falls_back(
    zworld: World,
) -> None:
    """The provider's clock runs 15 s ahead: it ends the session as exhausted at a tick where the app's
    meter still has 10 s (one tick) of the permission left. That agrees with the meter, so the escrow
    channel takes over as when the meter runs out itself."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        engine = world.engine(token_lookup={permission.id: permission.token or ""}.__getitem__)
        events: list[SessionEvent] = []
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        budget = AMOUNT + Price(RATE, "per_hour").cost_seconds(EXTRA_SECONDS)
        options = StartOptions(
            "zcash",
            budget=budget,
            deposit=plan.price.cost_seconds(2 * EXTRA_SECONDS),
            permission_id=permission.id,
            allow_fallback=True,
        )
        zcash = await engine.start(plan, options)
        world.provider.clock.advance(15)
        await world.advance(AMOUNT * 3600 // RATE - 20)  # the provider: 5 s before the permission runs out
        assert zcash.status == "running"
        await world.advance(10)  # the provider: ran out 5 s ago; the meter: 10 s (1 111 zat) left
        await until(lambda: any(e.kind == "fallback" for e in events), what="the escrow fallback")
        summary = await engine.wait(zcash.local_id)
        assert summary.status == "stopped" and summary.metered == AMOUNT - 1_111
        assert summary.cost == AMOUNT  # the provider's rounding and one tick: within the allowance
        assert zcash.stop_reason == "The Zcash permission ran out; continuing on the escrow channel."
        escrow = next(s for s in engine.live() if s.local_id != zcash.local_id)
        assert escrow.terms.funding == "escrow" and escrow.status == "running"
        with world.store.session() as s:
            assert s.query(ZcashPermissionRow).one().exhaustion_claim_left_zat is None
        await engine.stop(escrow.local_id)

    run(world.env, scenario)


def test_a_provider_that_says_exhausted_early_gets_no_escrow_session(zworld: World) -> None:
    """A hostile provider answers GET /sessions/{id} with "exhausted" ten seconds into a 1 000 000-zat
    permission (1 112 metered). The engine used to take that as the permission running out and start the
    escrow fallback for the rest of the budget: the user paid again, on chain, for prepaid time. Now the
    session ends failed, saying what the meter has left; no escrow session starts, nothing more is
    deposited, and the claim stays flagged on the Zcash page, even after the provider answers honestly."""
    world = zworld
    lying = {"on": False}

    def say_exhausted(request: httpx.Request, session: dict[str, Any]) -> None:
        if lying["on"] and request.method == "GET" and session.get("status") == "live":
            session["status"] = "exhausted"

    async def scenario() -> None:
        permission = await _permission(world)
        engine = world.engine(
            token_lookup={permission.id: permission.token or ""}.__getitem__,
            client_factory=tampering_clients(session_change=say_exhausted),
        )
        events: list[SessionEvent] = []
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        budget = AMOUNT + Price(RATE, "per_hour").cost_seconds(EXTRA_SECONDS)
        options = StartOptions(
            "zcash",
            budget=budget,
            deposit=plan.price.cost_seconds(2 * EXTRA_SECONDS),
            permission_id=permission.id,
            allow_fallback=True,
        )
        zcash = await engine.start(plan, options)
        started = len(events)
        lying["on"] = True
        await world.advance(10)
        summary = await engine.wait(zcash.local_id)
        for _ in range(3):
            await world.advance(10)
        assert [r.local_id for r in engine.history.find()] == [zcash.local_id]  # no escrow session
        assert engine.live() == []
        after = [e.kind for e in events[started:]]
        assert "fallback" not in after and "transaction" not in after  # nothing deposited after the claim
        assert summary.status == "failed" and summary.metered == 1_112
        assert zcash.stop_reason == (
            "The provider says the Zcash permission is used up, but by this app's meter 0.00998888 ZEC of "
            "0.01 ZEC is left; not continuing on the escrow channel."
        )
        assert summary.cost == 1_111  # the provider ended it at the app's end: the time metered, no more
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert row.status == "active" and row.exhaustion_claim_left_zat == AMOUNT - 1_112
        # flagged: the Zcash page, the activity log, the provider record (and no "agreed" for the session)
        book = PermissionBook(world.store, _no_key, clock=world.provider.clock)
        flagged = "ended a session saying this permission is used up, but by this app's meter 0.00998888 ZEC"
        warning = book.get(world.provider.url, permission.id).trust_warning
        assert warning is not None and flagged in warning
        assert any(flagged in e.message for e in ActivityLog(world.store).recent() if e.kind == "provider")
        verdicts = {(n.ref, n.verdict) for n in ProviderNotes(world.store).all()}
        assert verdicts == {(permission.id, "disagreed")}
        lying["on"] = False
        view = await book.refresh(world.provider.url, permission.id)  # an honest answer since
        assert view.trust_warning is not None and flagged in view.trust_warning
        # the permission still pays a session
        again = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        await engine.stop(again.local_id)

    run(world.env, scenario)


def _no_key(account: str) -> bytes:
    raise AssertionError("reading a permission needs no key")


def test_a_session_is_booked_at_most_at_the_meter_plus_a_tick_whatever_the_provider_deducted(
    zworld: World,
) -> None:
    """The provider's end says it took 0.0005 ZEC for a minute the meter measured at 6 667 zat (its
    permission says the same). The session is booked at the meter plus one tick (and the provider's
    rounding to whole seconds, as the Zcash page allows): 6 667 + 1 334; the rest is an over-claim on
    the provider's record, and the Zcash page flags the deduction."""
    world = zworld
    taken = 50_000

    def over_deduct(request: httpx.Request, session: dict[str, Any]) -> None:
        if request.url.path.endswith("/sessions/end"):
            session["amountZat"] = str(taken)
            session["permission"]["spentZat"] = str(taken)
            session["permission"]["remainingZat"] = str(AMOUNT - taken)

    async def scenario() -> None:
        permission = await _permission(world)
        engine = world.engine(
            token_lookup={permission.id: permission.token or ""}.__getitem__,
            client_factory=tampering_clients(session_change=over_deduct),
        )
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        for _ in range(6):
            await world.advance(10)
        summary = await engine.stop(live.local_id)
        assert summary.metered == 6_667
        booked = 6_667 + 1_334  # ceil(400 000 × (10 + 2) / 3600): one tick and the slack
        assert summary.cost == booked and not summary.receipt_ok
        record = engine.history.get(live.local_id)
        assert record is not None and record.cost == booked and engine.history.spent(live.local_id) == booked
        assert "the provider deducted 0.0005 ZEC" in summary.message
        assert "booked at 0.00008001 ZEC; the 0.00041999 ZEC more is kept as an over-claim" in summary.message
        [note] = [n for n in ProviderNotes(world.store).all() if n.ref == live.local_id]
        assert note.verdict == "over_claimed" and (note.meter_amount, note.provider_amount) == (6_667, taken)
        book = PermissionBook(world.store, _no_key, clock=world.provider.clock)
        warning = book.get(world.provider.url, permission.id).trust_warning
        assert warning is not None and "has deducted 0.0005 ZEC from this permission" in warning

    run(world.env, scenario)


def test_without_the_fallback_the_session_stops_saying_the_permission_ran_out(zworld: World) -> None:
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        engine = world.engine(token_lookup={permission.id: permission.token or ""}.__getitem__)
        events: list[SessionEvent] = []
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("zcash", budget=2 * AMOUNT, permission_id=permission.id))
        await world.advance(AMOUNT * 3600 // RATE)
        summary = await engine.wait(live.local_id)
        assert summary.status == "stopped" and summary.cost == AMOUNT
        assert live.stop_reason is not None and live.stop_reason.startswith(
            "The Zcash permission ran out; stopped."
        )
        await world.advance(10)
        assert engine.live() == [] and not any(e.kind == "fallback" for e in events)

    run(world.env, scenario)


def test_the_engine_meters_at_the_agreed_rate_whatever_the_provider_reports(zworld: World) -> None:
    """A provider that reports ten times the rate in every permission it sends (GET, and the one inside
    each session answer) changes nothing the app meters: the rate is the one agreed at buying; the
    disagreement is flagged in the activity log."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        hostile = tampering_clients(lambda p: p.update(ratePerHourZat=str(RATE * 10)))
        tokens = {permission.id: permission.token or ""}
        engine = world.engine(token_lookup=tokens.__getitem__, client_factory=hostile)
        async with hostile(world.provider.url) as client:  # the provider says so
            assert (await client.get_zcash_permission(permission.id)).rate_per_hour_zat == RATE * 10
        plan = await engine.plan(world.provider.url, SVC)
        option = plan.option("zcash", permission.id)
        assert option is not None and option.price == Price(RATE, "per_hour") and option.available == AMOUNT
        live = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        assert live.terms.price == Price(RATE, "per_hour")
        for _ in range(6):
            await world.advance(10)
        summary = await engine.stop(live.local_id)
        assert summary.seconds == 60 and summary.metered == 6_667  # 400 000 zat/h, not 4 000 000
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert (row.rate_per_hour_zat, row.metered_zat, row.used_seconds) == (RATE, 6_667, 60)
        [entry] = [e for e in ActivityLog(world.store).recent() if e.kind == "provider"]
        assert entry.is_error and "keeps metering at the agreed rate" in entry.message
        verdicts = {(n.ref, n.verdict) for n in ProviderNotes(world.store).all()}
        assert verdicts == {(permission.id, "disagreed")}  # and no "agreed" for this session

    run(world.env, scenario)


def test_recovery_ends_a_zcash_session_left_running_with_the_permissions_token(zworld: World) -> None:
    """The app died while a Zcash session ran: at the next start, recovery ends it at the provider with
    the permission's token (the provider refuses an end without it), and settles what it deducted."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        token = permission.token or ""
        async with ProviderClient(world.provider.url) as client:
            remote = await client.start_zcash_session(permission.id, SVC, token)
        left_behind = world.engine(token_lookup={permission.id: token}.__getitem__)
        plan = await left_behind.plan(world.provider.url, SVC)
        terms = plan.terms(  # what the app that died had written
            account=world.env.payer.address,
            network=world.network.key,
            funding=Funding.ZCASH,
            cap=AMOUNT,
            asset=ZEC,
            price=Price(RATE, "per_hour"),
            permission_id=permission.id,
        )
        local_id = "left-behind"
        left_behind.history.create(local_id, terms, datetime.now(UTC))
        left_behind.history.update(local_id, remote_id=remote.session_id, status="running")
        world.advance_now(90)

        locked = world.engine(token_lookup=None)  # no token to be had: the session stays to retry
        [report] = await locked.recover()
        assert report.outcome == "unknown" and "token" in report.message
        [report] = await world.engine(token_lookup={permission.id: token}.__getitem__).recover()
        assert report.outcome == "still_running_stopped" and report.cost == RATE * 90 // 3600
        async with ProviderClient(world.provider.url) as client:
            ended = await client.get_zcash_session(remote.session_id)
        assert ended.status is zm.ZcashSessionStatus.ended and ended.seconds == 90

    run(world.env, scenario)


async def _left_starting(world: World, permission: zm.ZcashPermission, local_id: str) -> Any:
    """The row an app writes before it sends a Zcash start (``Payer.record``), left as a kill leaves it."""
    engine = world.engine(token_lookup={permission.id: permission.token or ""}.__getitem__)
    plan = await engine.plan(world.provider.url, SVC)
    terms = plan.terms(
        account=world.env.payer.address,
        network=world.network.key,
        funding=Funding.ZCASH,
        cap=AMOUNT,
        asset=ZEC,
        price=Price(RATE, "per_hour"),
        permission_id=permission.id,
    )
    engine.history.create(local_id, terms, datetime.now(UTC))
    return plan


def test_killed_before_the_started_sessions_id_was_saved_recovery_finds_it_and_ends_it(zworld: World) -> None:
    """The provider started the session, the app died before writing its id. Recovery settled the row at
    "nothing was paid" while the provider's session ran on until the permission was used up (and kept it
    busy). Now recovery asks the provider for the permission's live session and ends it."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        token = permission.token or ""
        plan = await _left_starting(world, permission, "killed")
        async with ProviderClient(world.provider.url) as client:
            remote = await client.start_zcash_session(permission.id, SVC, token)
        world.advance_now(60)
        engine = world.engine(token_lookup={permission.id: token}.__getitem__)
        [report] = await engine.recover()
        assert report.outcome == "still_running_stopped" and report.cost == RATE * 60 // 3600
        world.advance_now(3 * 3600)  # the permission would have run out by now
        async with ProviderClient(world.provider.url) as client:
            ended = await client.get_zcash_session(remote.session_id)
        assert ended.status is zm.ZcashSessionStatus.ended and ended.seconds == 60
        assert ended.amount_zat == RATE * 60 // 3600
        record = engine.history.get("killed")
        assert record is not None and record.status == "recovered" and record.remote_id == remote.session_id
        assert record.cost == engine.history.spent("killed") == RATE * 60 // 3600 and record.receipt_ok
        # the permission pays a new session again
        live = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        await engine.stop(live.local_id)

    run(world.env, scenario)


def test_killed_before_the_id_was_saved_a_session_that_ran_out_since_is_booked(zworld: World) -> None:
    """As above, but the app stayed closed until the provider's session had used the permission up: no
    session is live to name, and the permission's spending is that session's, not "nothing was paid"."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        token = permission.token or ""
        await _left_starting(world, permission, "killed")
        async with ProviderClient(world.provider.url) as client:
            await client.start_zcash_session(permission.id, SVC, token)
        world.advance_now(3 * 3600)
        engine = world.engine(token_lookup={permission.id: token}.__getitem__)
        [report] = await engine.recover()
        assert report.outcome == "settled" and report.cost == AMOUNT, report.message
        assert "Nothing was paid" not in report.message
        record = engine.history.get("killed")
        assert record is not None and record.status == "recovered"
        assert record.cost == engine.history.spent("killed") == AMOUNT

    run(world.env, scenario)


def test_killed_before_the_start_was_sent_nothing_was_paid(zworld: World) -> None:
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        await _left_starting(world, permission, "killed")
        world.advance_now(60)
        engine = world.engine(token_lookup={permission.id: permission.token or ""}.__getitem__)
        [report] = await engine.recover()
        assert report.outcome == "settled" and report.cost == 0 and "Nothing was paid" in report.message

    run(world.env, scenario)


class _StartAnswerLost(ProviderClient):
    """The start reaches the provider, which starts the session; its answer never comes back."""

    async def start_zcash_session(self, permission_id: str, service_id: str, token: str) -> zm.ZcashSession:
        await super().start_zcash_session(permission_id, service_id, token)
        raise ProviderTimeout("timed out")


def test_a_start_with_no_answer_is_left_for_recovery_and_the_next_start_ends_it(zworld: World) -> None:
    """A start with no answer ended the session failed, and nothing looked again, though the provider may
    have started it (and then charges the whole permission). It is left interrupted now; the next start on
    the permission ends it first."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        tokens = {permission.id: permission.token or ""}
        engine = world.engine(token_lookup=tokens.__getitem__, client_factory=_StartAnswerLost)
        plan = await engine.plan(world.provider.url, SVC)
        options = StartOptions("zcash", budget=AMOUNT, permission_id=permission.id)
        with pytest.raises(SessionError) as refused:
            await engine.start(plan, options)
        [lost] = engine.history.find()
        assert lost.status == "interrupted" and lost.remote_id is None
        assert "did not answer the start" in str(refused.value)
        world.advance_now(30)

        following = world.engine(token_lookup=tokens.__getitem__)
        live = await following.start(await following.plan(world.provider.url, SVC), options)
        record = following.history.get(lost.local_id)
        assert record is not None and record.status == "recovered" and record.cost == RATE * 30 // 3600
        assert record.remote_id is not None and record.remote_id != live.remote_id
        async with ProviderClient(world.provider.url) as client:
            ended = await client.get_zcash_session(record.remote_id)
        assert ended.status is zm.ZcashSessionStatus.ended and ended.seconds == 30
        await following.stop(live.local_id)

    run(world.env, scenario)


class _EndNeverArrives(ProviderClient):
    """The end of a session never reaches the provider (the network is gone for it)."""

    async def end_zcash_session(self, session_id: str, token: str) -> zm.ZcashSession:
        raise ProviderUnreachable("connection refused")


def test_an_end_the_provider_never_got_is_left_for_recovery_and_the_next_start_ends_it(zworld: World) -> None:
    """A session whose end did not reach the provider runs on there, paid from the permission until it is
    used up; it was booked as stopped. It is left interrupted now, and ended before the next session."""
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        tokens = {permission.id: permission.token or ""}
        engine = world.engine(token_lookup=tokens.__getitem__, client_factory=_EndNeverArrives)
        plan = await engine.plan(world.provider.url, SVC)
        options = StartOptions("zcash", budget=AMOUNT, permission_id=permission.id)
        live = await engine.start(plan, options)
        await world.advance(20)
        await engine.stop(live.local_id)
        record = engine.history.get(live.local_id)
        assert record is not None and record.status == "interrupted"
        world.advance_now(10)

        following = world.engine(token_lookup=tokens.__getitem__)
        nxt = await following.start(await following.plan(world.provider.url, SVC), options)
        record = following.history.get(live.local_id)
        assert record is not None and record.status == "recovered" and record.cost == RATE * 30 // 3600
        async with ProviderClient(world.provider.url) as client:
            ended = await client.get_zcash_session(live.remote_id or "")
        assert ended.status is zm.ZcashSessionStatus.ended and ended.seconds == 30
        await following.stop(nxt.local_id)

    run(world.env, scenario)
