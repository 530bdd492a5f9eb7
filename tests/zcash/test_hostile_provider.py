"""A hostile provider's figures against the app's own record of a permission (trust, but verify).

The app buys a permission from the real reference provider (ledger mode) and meters its use itself; then
the provider's answers are changed on the way back (``hostile_provider.Tamper``): used seconds at the
maximum and status exhausted while the deduction stays at the meter, a shortened expiry, a raised rate,
and a deduction beyond the meter. Each time the app keeps its own figures, shows the same warning as for
an over-deduction, and records the disagreement once in the activity log."""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.zcash.permissions import PermissionStatus
from tests.zcash.hostile_provider import tampering_clients
from tests.zcash.provider_fixture import (  # noqa: F401 - the fixture
    MIN_CONF,
    SERVICE,
    USER_Z,
    ZcashProvider,
    zcash_provider,
)
from tests.zcash.test_permission_book import ACCOUNT, TERMS, ctx  # noqa: F401 - the fixture

AMOUNT, RATE = TERMS.amount_zat, TERMS.rate_zat_per_hour  # 2.5 hours: 9000 s
MAX_SECONDS = AMOUNT * 3600 // RATE
USED = 1800  # half an hour used: 2.00 hours left
LIES: dict[str, Any] = {}  # what the hostile provider changes in every permission it reports


def lie(permission: dict[str, Any]) -> None:
    permission.update(LIES)


async def bought(app: AppContext, provider: ZcashProvider) -> Any:
    """A permission bought, paid and half an hour used — metered by the app — then refreshed honestly."""
    LIES.clear()
    book = app.zcash_book
    book.clock = provider.clock
    book.client_factory = tampering_clients(lie)
    view = await book.create(provider.url, ACCOUNT, USER_Z, TERMS)
    token = book.token_lookup(view.permission_id)
    async with ProviderClient(provider.url) as c:
        await c.ledger_pay(view.pay_address, AMOUNT, f"paygo:perm:{view.permission_id}")
        await c.ledger_mine(MIN_CONF)
        assert (await book.verify(provider.url, view.permission_id)).status is PermissionStatus.ACTIVE
        session = await c.start_zcash_session(view.permission_id, SERVICE, token)
        provider.clock.advance(USED)
        await c.end_zcash_session(session.session_id, token)
    book.record_metered(view.permission_id, RATE * USED // 3600, USED)  # what the engine metered
    honest = await book.refresh(provider.url, view.permission_id)
    assert honest.trust_warning is None and provider_record(app) == []
    assert (honest.used_hours, honest.remaining_hours) == ("0.50", "2.00")
    return honest


def provider_record(app: AppContext) -> list[str]:
    """The activity log's entries about providers (the record of what they got wrong)."""
    return [e.message for e in app.activity.recent() if e.kind == "provider" and e.is_error]


async def test_used_seconds_at_the_maximum_and_exhausted_are_flagged_and_not_adopted(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    view = await bought(ctx, zcash_provider)
    # the deduction stays at the meter; everything else says the permission is used up
    LIES.update(
        usedSeconds=MAX_SECONDS,
        usedHours="2.50",
        remainingSeconds=0,
        remainingHours="0.00",
        status="exhausted",
    )
    for _ in range(2):  # asked twice: recorded once
        got = await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    assert got.status is PermissionStatus.ACTIVE
    assert (got.used_hours, got.remaining_hours, got.remaining_seconds) == (
        "0.50",
        "2.00",
        MAX_SECONDS - USED,
    )
    assert got.trust_warning is not None
    assert [d.figure for d in got.disagreements] == ["used", "remaining", "status"]
    assert "Zcash test provider reports 2.50 hours used on this permission, but this app measured 0.50" in (
        got.trust_warning
    )
    assert "reports this permission as used up, but by this app's record it is active" in got.trust_warning
    assert sorted(provider_record(ctx)) == sorted(d.text for d in got.disagreements)
    assert ctx.zcash_book.trust_warnings() == [got.trust_warning]


async def test_a_shortened_expiry_is_flagged_and_the_agreed_one_kept(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    view = await bought(ctx, zcash_provider)
    soon = int(zcash_provider.clock()) + 3600
    LIES.update(expiresAt=soon)
    got = await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    assert got.expires_at == view.expires_at != soon
    assert [d.figure for d in got.disagreements] == ["expiry"]
    assert got.trust_warning is not None and "says this permission expires on" in got.trust_warning
    assert provider_record(ctx) == [got.trust_warning]
    ctx.zcash_book.clock = lambda: soon + 60  # past the provider's expiry, long before the agreed one
    assert ctx.zcash_book.get(zcash_provider.url, view.permission_id).status is PermissionStatus.ACTIVE


async def test_a_raised_rate_is_flagged_and_the_agreed_one_kept(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    view = await bought(ctx, zcash_provider)
    LIES.update(ratePerHourZat=str(RATE * 10))
    got = await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    assert (got.rate_per_hour_zat, got.remaining_hours) == (RATE, "2.00")
    assert "rate" in [d.figure for d in got.disagreements]
    assert got.trust_warning is not None and "keeps metering at the agreed rate" in got.trust_warning
    assert any("per hour for this permission" in e for e in provider_record(ctx))


async def test_a_deduction_beyond_the_meter_goes_the_same_way(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    view = await bought(ctx, zcash_provider)
    LIES.update(spentZat=str(AMOUNT), remainingZat="0")
    got = await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    assert got.deducted_zat == AMOUNT  # what the provider says is kept beside the meter, not over it
    assert got.remaining_hours == "2.00" and got.status is PermissionStatus.ACTIVE
    assert [d.figure for d in got.disagreements] == ["spent", "remaining"]
    assert got.trust_warning is not None and got.trust_warning.startswith(
        "Zcash test provider has deducted 0.01 ZEC from this permission"
    )
    assert sorted(provider_record(ctx)) == sorted(d.text for d in got.disagreements)


@pytest.mark.parametrize(
    "lies",
    [
        {"usedSeconds": USED + 62, "spentZat": str(RATE * (USED + 60) // 3600)},  # a tick + slack ahead
        {"remainingSeconds": MAX_SECONDS - USED - 62},
    ],
)
async def test_a_fair_provider_one_tick_ahead_raises_nothing(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
    lies: dict[str, Any],
) -> None:
    view = await bought(ctx, zcash_provider)
    LIES.update(lies)
    got = await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    assert got.trust_warning is None and provider_record(ctx) == []


async def test_a_payment_request_that_asks_for_another_amount_is_refused_on_every_answer(
    ctx: AppContext,  # noqa: F811
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    """The ZIP-321 check runs on every answer about a permission (here a refresh), not only at the
    purchase: a provider that asks for another amount than its permission says is refused, nothing kept."""
    from paygo_desktop.zcash.offer_check import UnsafeOffer

    view = await bought(ctx, zcash_provider)
    LIES.update(paymentUri=view.payment_uri.replace("amount=", "amount=1"))
    with pytest.raises(UnsafeOffer, match="does not pay the agreed amount"):
        await ctx.zcash_book.refresh(zcash_provider.url, view.permission_id)
    LIES.clear()
    LIES.update(paymentUri=view.payment_uri.split("&memo=")[0])
    with pytest.raises(UnsafeOffer, match="wrong memo"):
        await ctx.zcash_book.verify(zcash_provider.url, view.permission_id)
    kept = ctx.zcash_book.get(zcash_provider.url, view.permission_id)
    assert kept.payment_uri == view.payment_uri and kept.trust_warning is None
