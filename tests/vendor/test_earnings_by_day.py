"""The Vendor chart's days: every UTC day filled in, pending as a running balance, assets kept apart."""

from __future__ import annotations

from datetime import UTC, datetime

from paygo_desktop.money import Amount, Asset
from paygo_desktop.vendor.earnings import DayEarnings, VendorOverview, earnings_by_day

USDC = Asset("USDC", 6, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
ETH = Asset("ETH", 18, None)


def day(n: int) -> datetime:
    return datetime(2026, 3, n, tzinfo=UTC)


def overview(days: list[DayEarnings]) -> VendorOverview:
    return VendorOverview("P", "0x" + "1" * 40, 31337, [], days, [], [], 0, loaded_at=day(6))


def test_days_are_filled_to_today_and_pending_is_earned_minus_claimed_so_far() -> None:
    o = overview(
        [
            DayEarnings(day(2), USDC, Amount(USDC, 30_000), 2, Amount(USDC, 0)),
            DayEarnings(day(2), ETH, Amount(ETH, 10**18), 1, Amount(ETH, 0)),  # never added to USDC
            DayEarnings(day(4), USDC, Amount(USDC, 20_000), 1, Amount(USDC, 45_000)),
        ]
    )
    series = earnings_by_day(o, USDC)
    assert [d.day for d in series] == [day(2), day(3), day(4), day(5), day(6)]
    assert [d.earned.units for d in series] == [30_000, 0, 20_000, 0, 0]
    assert [d.claimed.units for d in series] == [0, 0, 45_000, 0, 0]
    assert [d.pending.units for d in series] == [30_000, 30_000, 5_000, 5_000, 5_000]
    assert {d.earned.asset for d in series} == {USDC}
    eth = earnings_by_day(o, ETH)
    assert eth[0].earned == Amount(ETH, 10**18) and eth[-1].day == day(6)


def test_a_payout_larger_than_the_earnings_seen_never_shows_negative_pending() -> None:
    # a cooperative close can pay out before the provider counted the last voucher
    o = overview([DayEarnings(day(5), USDC, Amount(USDC, 1_000), 1, Amount(USDC, 3_000))])
    assert [(d.claimed.units, d.pending.units) for d in earnings_by_day(o, USDC)] == [(3_000, 0), (0, 0)]


def test_an_asset_without_days_has_no_series() -> None:
    assert earnings_by_day(overview([]), USDC) == []
