"""The meter against an injected clock: exact integers, never backwards, agreeing with the provider."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygo_desktop.metering.meter import NS_PER_SECOND, Meter, Price
from paygo_desktop.protocol.models import Rate, RateUnit

units = st.sampled_from(["per_second", "per_minute", "per_hour"])


class Clock:
    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float = 0, ns: int = 0) -> None:
        self.now += int(seconds * NS_PER_SECOND) + ns


def test_cost_of_a_per_minute_rate_by_the_second():
    clock = Clock()
    meter = Meter(Price(60_000, "per_minute"), budget=10**9, tick_seconds=5, clock=clock)  # 0.06 USDC/min
    assert meter.cost() == 0
    clock.advance(1)
    assert meter.cost() == 1_000
    clock.advance(ns=1)  # a nanosecond more rounds up to the next base unit
    assert meter.cost() == 1_001
    clock.advance(59, ns=-1)
    assert meter.cost() == 60_000
    assert meter.price.per_hour() == 3_600_000


def test_voucher_pays_one_tick_ahead_and_stops_at_the_cap():
    clock = Clock()
    meter = Meter(Price(10, "per_second"), budget=125, tick_seconds=5, clock=clock)
    assert meter.voucher_due() == 50  # the first tick, paid up front
    clock.advance(4.9)
    assert meter.voucher_due() == 50
    clock.advance(0.1)
    assert meter.voucher_due() == 100
    clock.advance(5)
    assert meter.voucher_due() == 125  # capped by the budget
    clock.advance(100)
    assert meter.cost() == 125 and meter.is_exhausted() and meter.remaining() == 0


def test_low_funds_below_twenty_percent():
    clock = Clock()
    meter = Meter(Price(1, "per_second"), budget=100, tick_seconds=1, clock=clock)
    clock.advance(80)
    assert not meter.is_low()  # exactly 20% left
    clock.advance(1)
    assert meter.is_low()
    assert meter.seconds_left() == 19


def test_stop_freezes_the_cost():
    clock = Clock()
    meter = Meter(Price(7, "per_second"), budget=10**6, tick_seconds=5, clock=clock)
    clock.advance(12.5)
    final = meter.stop()
    clock.advance(100)
    assert meter.cost() == final == 88  # ceil(7 × 12.5)


def test_what_a_budget_buys():
    assert Price(3_000_000, "per_hour").seconds_for(2_100_000) == 42 * 60  # "42 minutes at this rate"


@pytest.mark.parametrize("amount", [0, -1, True])
def test_prices_must_be_positive_integers(amount):
    with pytest.raises(ValueError):
        Price(amount, "per_second")


@given(st.integers(1, 10**12), units, st.lists(st.integers(0, 10 * NS_PER_SECOND), max_size=40))
def test_never_backwards_and_capped(amount, unit, steps):
    clock = Clock()
    budget = amount * 3
    meter = Meter(Price(amount, unit), budget=budget, tick_seconds=5, clock=clock)
    last = 0
    for step in steps:
        clock.advance(ns=step)
        value = meter.cost()
        assert last <= value <= budget
        assert meter.voucher_due() >= value
        last = value


@given(st.integers(1, 10**15), units, st.integers(0, 10**6))
def test_agrees_with_the_provider_receipt_at_whole_seconds(amount, unit, seconds):
    price = Price(amount, unit)
    assert price.cost_seconds(seconds) == Rate(amount=amount, asset="USDC", unit=RateUnit(unit)).cost(seconds)
