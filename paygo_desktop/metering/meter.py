"""The cost meter of one session.

cost(t) = ceil(rate_amount × t / unit), with t in nanoseconds of a monotonic clock: the same rounding as
the provider's receipt (``protocol.models.Rate.cost``) at every whole second, never a float, and never
backwards. Vouchers pay one tick ahead and never past the budget cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

NS_PER_SECOND = 1_000_000_000
UNIT_SECONDS = {"per_second": 1, "per_minute": 60, "per_hour": 3600}
LOW_FUNDS_FRACTION = (1, 5)  # warn when less than 20% of the budget is left


@dataclass(frozen=True)
class Price:
    """``amount`` base units per ``unit`` (per_second, per_minute or per_hour)."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("a price is a positive whole number of base units")
        if self.unit not in UNIT_SECONDS:
            raise ValueError(f"unknown unit {self.unit!r}")

    @property
    def unit_seconds(self) -> int:
        return UNIT_SECONDS[self.unit]

    def cost_ns(self, elapsed_ns: int) -> int:
        """Cost of ``elapsed_ns`` nanoseconds, rounded up to a whole base unit."""
        if elapsed_ns <= 0:
            return 0
        return -(-self.amount * elapsed_ns // (self.unit_seconds * NS_PER_SECOND))

    def cost_seconds(self, seconds: int) -> int:
        return self.cost_ns(seconds * NS_PER_SECOND)

    def per_hour(self) -> int:
        return self.amount * 3600 // self.unit_seconds

    def seconds_for(self, budget: int) -> int:
        """Whole seconds that ``budget`` buys at this price ("42 minutes at this rate")."""
        if budget <= 0:
            return 0
        return budget * self.unit_seconds // self.amount


@dataclass
class Meter:
    """A running session's meter; ``clock`` returns monotonic nanoseconds (injected in tests)."""

    price: Price
    budget: int  # the cap for this session, in base units
    tick_seconds: int
    clock: Callable[[], int] = time.monotonic_ns
    started_ns: int = field(default=-1)
    stopped_ns: int | None = None
    _shown: int = 0

    def __post_init__(self) -> None:
        if self.budget <= 0:
            raise ValueError("the budget must be positive")
        if self.tick_seconds <= 0:
            raise ValueError("the tick must be positive")
        if self.started_ns < 0:
            self.started_ns = self.clock()

    def elapsed_ns(self) -> int:
        end = self.stopped_ns if self.stopped_ns is not None else self.clock()
        return max(0, end - self.started_ns)

    def cost(self) -> int:
        """Cost so far, capped at the budget; never smaller than a value already returned."""
        value = min(self.budget, self.price.cost_ns(self.elapsed_ns()))
        self._shown = max(self._shown, value)
        return self._shown

    def remaining(self) -> int:
        return self.budget - self.cost()

    def seconds_left(self) -> int:
        return self.price.seconds_for(self.remaining())

    def is_low(self) -> bool:
        num, den = LOW_FUNDS_FRACTION
        return self.remaining() * den < self.budget * num

    def is_exhausted(self) -> bool:
        return self.cost() >= self.budget

    def voucher_due(self) -> int:
        """The cumulative amount to sign now: paid through the end of the next tick, never past the cap."""
        elapsed = self.elapsed_ns()
        tick_ns = self.tick_seconds * NS_PER_SECOND
        paid_through = (elapsed // tick_ns + 1) * tick_ns
        return min(self.budget, self.price.cost_ns(paid_through))

    def stop(self) -> int:
        """Stop the clock; returns the final cost (what the final voucher and the receipt must say)."""
        if self.stopped_ns is None:
            self.stopped_ns = self.clock()
        return self.cost()


def short_duration(seconds: int) -> str:
    """“1 h 2 min”, “3 min 4 s”, “5 s”."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
