"""The payer's promise, written once: PayGo never signs more than the meter plus one tick of the terms
the user saw in the catalog, whatever a provider says.

* ``Terms`` are the catalog's rate, tick and grace, within bounds (a tick of 1 s to 1 h, a grace of 0 s
  to 1 h); anything else is refused before anything is signed.
* ``check_quote``: a provider's signed quote must repeat the catalog's rate, tick and grace exactly. A
  quote with a longer tick would make every voucher pay further ahead; a huge grace would switch off the
  deadline by which an unconfirmed payment ends the session. Either refuses the start.
* ``SigningLimit``: every voucher the app signs for an escrow session passes ``permit``: its amount is
  at most ``min(cap, max(prepaid, cost(elapsed)) + cost(one tick))`` on the session's meter (``ceiling``;
  ``prepaid`` is what the chain already paid the provider for this session's first seconds), and at the
  stop at most what the provider acknowledged plus one tick (``final_ceiling``). Above it, nothing is
  signed: ``SigningRefused``.
* The deadline for acknowledgements counts the catalog's grace (``ack_deadline_ns``): past the seconds the
  acknowledged amount pays for plus the grace, the session ends.

Amounts are this session's base units (the channel-wide cumulative minus the session's base).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paygo_desktop.metering.meter import NS_PER_SECOND, Price

MAX_TICK_SECONDS = 3600
MAX_GRACE_SECONDS = 3600


class TermsRefused(ValueError):
    """A catalog entry or a quote whose terms PayGo does not pay under; the message says why."""


class SigningRefused(RuntimeError):
    """A voucher above the signing limit was asked for: a bug or a provider's trick; nothing was signed."""


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Terms:
    """What the user agreed to: the catalog's rate, tick and grace for one service."""

    price: Price
    tick_seconds: int
    grace_seconds: int

    def __post_init__(self) -> None:
        if not _whole(self.tick_seconds) or not 1 <= self.tick_seconds <= MAX_TICK_SECONDS:
            raise TermsRefused(
                f"The service's tick of {self.tick_seconds!r} s is outside 1 s to {MAX_TICK_SECONDS} s."
            )
        if not _whole(self.grace_seconds) or not 0 <= self.grace_seconds <= MAX_GRACE_SECONDS:
            raise TermsRefused(
                f"The service's grace of {self.grace_seconds!r} s is outside 0 s to {MAX_GRACE_SECONDS} s."
            )

    @property
    def tick_cost(self) -> int:
        """What one tick costs: the most any voucher pays ahead of the meter."""
        return self.price.cost_seconds(self.tick_seconds)


def check_quote(catalog: Terms, rate: Price, tick_seconds: Any, grace_seconds: Any) -> None:
    """Raise ``TermsRefused`` unless a quote repeats the catalog's rate, tick and grace exactly."""
    if rate != catalog.price:
        raise TermsRefused("The provider quoted another rate than the one you agreed to.")
    if not _whole(tick_seconds) or tick_seconds != catalog.tick_seconds:
        raise TermsRefused(
            f"The provider quoted a tick of {tick_seconds!r} s where its catalog says "
            f"{catalog.tick_seconds} s: each payment would run further ahead of the meter than agreed."
        )
    if not _whole(grace_seconds) or grace_seconds != catalog.grace_seconds:
        raise TermsRefused(
            f"The provider quoted a grace of {grace_seconds!r} s where its catalog says "
            f"{catalog.grace_seconds} s."
        )


@dataclass(frozen=True)
class SigningLimit:
    """The most one escrow session may sign at any moment, under the catalog's ``terms`` and a ``cap``."""

    terms: Terms
    cap: int
    # Already paid on chain for this session before it started (a voucher one tick ahead claimed, then the
    # last session settled lower): signing up to it moves no new money, so the tick ahead counts from it.
    prepaid: int = 0

    def ceiling(self, elapsed_ns: int) -> int:
        """The meter's cost at ``elapsed_ns`` (or what was prepaid, if more) plus one tick, never past the
        cap."""
        owed = max(self.prepaid, self.terms.price.cost_ns(max(0, elapsed_ns)))
        return min(self.cap, owed + self.terms.tick_cost)

    def final_ceiling(self, elapsed_ns: int, acked: int) -> int:
        """At the stop: also never more than one tick past what the provider acknowledged."""
        return min(self.ceiling(elapsed_ns), max(0, acked) + self.terms.tick_cost)

    def permit(self, amount: int, elapsed_ns: int, *, acked: int | None = None) -> int:
        """``amount`` if it may be signed now (``acked`` given: under the stop's rule too), else raise."""
        limit = self.ceiling(elapsed_ns) if acked is None else self.final_ceiling(elapsed_ns, acked)
        if not _whole(amount) or amount < 0 or amount > limit:
            raise SigningRefused(f"a voucher for {amount!r} asked for, where at most {limit} may be signed")
        return amount

    def ack_deadline_ns(self, acked: int) -> int:
        """Meter time after which the acknowledged amount no longer pays for the service, grace included."""
        return (self.terms.price.seconds_for(acked) + self.terms.grace_seconds) * NS_PER_SECOND
