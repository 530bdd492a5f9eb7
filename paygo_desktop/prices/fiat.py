"""An amount's value in the user's currency, from feed readings, exactly, rounded once at the edge.

``FiatPrice`` is what one whole unit of an asset was worth in a currency: the asset's ``X / USD`` reading,
divided (for a currency other than the dollar) by the currency's ``CUR / USD`` reading. It is kept as an
exact fraction; a value (``amount`` times the price) is rounded only when shown or exported, to the
currency's minor unit (cents) with ROUND_HALF_EVEN ("banker's rounding": a value exactly half way goes
to the even cent, so a column of values carries no rounding bias). A value above zero that rounds to
nothing is shown as "< $0.01", never as "$0.00".

A price is made only from readings that are fresh: a round older than its feed's heartbeat plus margin
(``Feed.stale_after``), or one dated in the future, gives no price, and the amount shows "—" instead of
a guess. ``as_of`` is the older of the readings' times: the exports carry it beside the price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from paygo_desktop.money import Amount, Asset
from paygo_desktop.prices.aggregator import Reading
from paygo_desktop.prices.feeds import Currency

MISSING = "—"
ROUNDING = ROUND_HALF_EVEN
FUTURE_SLACK = 300  # a round stamped a little ahead of this computer's clock is still taken


@dataclass(frozen=True)
class FiatPrice:
    asset: Asset
    currency: Currency
    per_unit: Fraction  # the currency's units per whole unit of the asset, exactly
    as_of: int  # Unix seconds: the older of the readings' times
    readings: tuple[Reading, ...]

    def value(self, amount: Amount) -> Fraction:
        if amount.asset != self.asset:
            raise ValueError(f"a {self.asset.symbol} price does not value {amount.asset.symbol}")
        return Fraction(amount.units, amount.asset.one) * self.per_unit

    def rounded(self, amount: Amount) -> Decimal:
        """The value rounded to the currency's minor unit (ROUND_HALF_EVEN)."""
        return to_decimal(self.value(amount), self.currency.minor_digits)

    def text(self, amount: Amount) -> str:
        """ "≈ $1,234.56" (or "< $0.01" for a value above zero that rounds to nothing)."""
        exact = self.value(amount)
        shown = self.rounded(amount)
        if exact and not shown:
            smallest = Decimal(1).scaleb(-self.currency.minor_digits)
            return f"< {'-' if exact < 0 else ''}{self.currency.sign}{smallest}"
        sign = "-" if shown < 0 else ""
        return f"≈ {sign}{self.currency.sign}{abs(shown):,.{self.currency.minor_digits}f}"

    def price_text(self, digits: int = 8) -> str:
        """The price per whole unit as a decimal (up to ``digits`` places, trailing zeros dropped)."""
        text = f"{to_decimal(self.per_unit, digits):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    @property
    def as_of_text(self) -> str:
        return datetime.fromtimestamp(self.as_of, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def source_text(self) -> str:
        """ "ETH / USD 0x7104…Bb70 round 184467… " for each reading used."""
        return "; ".join(
            f"{r.feed.pair} {r.feed.address} round {r.round_id} at "
            f"{datetime.fromtimestamp(r.updated_at, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            for r in self.readings
        )


def to_decimal(value: Fraction, digits: int) -> Decimal:
    """``value`` rounded to ``digits`` decimal places, ROUND_HALF_EVEN."""
    with localcontext() as ctx:
        ctx.prec = 120
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUNDING)


def _as_fraction(reading: Reading) -> Fraction:
    return Fraction(reading.answer, 10**reading.decimals)


def fresh(reading: Reading, now: int) -> bool:
    """Whether ``reading`` may be used at ``now``: not older than its feed's heartbeat plus margin, and not
    from the future (beyond a little clock skew)."""
    return reading.updated_at <= now + FUTURE_SLACK and now - reading.updated_at <= reading.feed.stale_after


def price_from(
    asset: Asset,
    currency: Currency,
    asset_reading: Reading | None,
    currency_reading: Reading | None,
    *,
    now: int,
) -> FiatPrice | None:
    """The asset's price in ``currency`` at ``now`` from its ``X / USD`` reading (and, unless the currency
    is the dollar, the currency's ``CUR / USD`` reading); None when a reading is missing or stale at
    ``now`` (for a past transfer: its block's time, the readings the rounds in force then)."""
    readings = [asset_reading] if currency.code == "USD" else [asset_reading, currency_reading]
    present = [r for r in readings if r is not None]
    if len(present) != len(readings):
        return None
    if not all(fresh(r, now) for r in present):
        return None
    per_unit = _as_fraction(present[0])
    if len(present) == 2:
        per_unit /= _as_fraction(present[1])
    return FiatPrice(asset, currency, per_unit, min(r.updated_at for r in present), tuple(present))
