"""Money: integer base units tagged with their asset. Decimal appears only when parsing or showing.

``Amount(USDC, 1_500_000)`` is 1.5 USDC. Amounts of different assets never add up, compare or mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from paygo_desktop.errors import UserFacingError


class AmountError(UserFacingError, ValueError):
    """Text that is not an amount of the asset, or arithmetic across assets."""


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    decimals: int
    address: str | None = None  # token contract; None for a chain's native coin

    def __post_init__(self) -> None:
        if not 0 <= self.decimals <= 36:
            raise ValueError(f"unsupported decimals {self.decimals}")

    @property
    def one(self) -> int:
        return 10**self.decimals

    def __str__(self) -> str:
        return self.symbol


ETH = Asset("ETH", 18)
ZEC = Asset("ZEC", 8)


@dataclass(frozen=True, slots=True, order=False)
class Amount:
    asset: Asset
    units: int

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise TypeError("Amount.units must be an int of base units")

    # -- parsing and showing -------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, asset: Asset, *, allow_negative: bool = False) -> Amount:
        """Parse a human amount ("1.25", "1,000.5") in whole units of ``asset``."""
        cleaned = text.strip().replace(",", "").replace("_", "")
        if cleaned.upper().endswith(asset.symbol.upper()):
            cleaned = cleaned[: -len(asset.symbol)].strip()
        if not cleaned:
            raise AmountError("Enter an amount.")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise AmountError(f"“{text.strip()[:40]}” is not a number.") from None
        if not value.is_finite():
            raise AmountError("Enter a finite amount.")
        if value < 0 and not allow_negative:
            raise AmountError("The amount cannot be negative.")
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > asset.decimals and value != value.quantize(Decimal(1).scaleb(-asset.decimals)):
            raise AmountError(f"{asset.symbol} has at most {asset.decimals} decimal places.")
        with localcontext() as ctx:
            ctx.prec = 80
            units = int(value.scaleb(asset.decimals))
        return cls(asset, units)

    def to_decimal(self) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 80
            return Decimal(self.units).scaleb(-self.asset.decimals)

    def approx(self, decimals: int = 6) -> str:
        """At most ``decimals`` decimals; "≈" says when digits were cut (for a line of text; the exact
        figure belongs in a tooltip or a detail view)."""
        shown = self.format(max_decimals=decimals)
        return shown if shown == self.format() else f"≈ {shown}"

    def format(
        self,
        *,
        max_decimals: int | None = None,
        symbol: bool = True,
        grouping: bool = True,
        fixed: bool = False,
    ) -> str:
        """Show the amount exactly, trimming trailing zeros; ``max_decimals`` rounds down for display.
        ``fixed`` keeps every decimal shown, trailing zeros too: a counting number (the live meter) whose
        width and symbol do not jump from one change to the next.

        In integers (the live meter formats its cost 20 times a second); ``_format_decimal`` is the same
        through Decimal, kept for a negative ``max_decimals`` (rounding to tens, hundreds…), and the tests
        hold the two to the same text."""
        decimals = self.asset.decimals
        if max_decimals is not None and max_decimals < 0:
            return self._format_decimal(
                max_decimals=max_decimals, symbol=symbol, grouping=grouping, fixed=fixed
            )
        shown = decimals if max_decimals is None else min(decimals, max_decimals)
        whole, fraction = divmod(abs(self.units), 10**decimals)
        fraction //= 10 ** (decimals - shown)  # towards zero, as ROUND_DOWN
        text = f"{whole:,}" if grouping else str(whole)
        digits = f"{fraction:0{shown}d}" if shown else ""
        if not fixed:
            digits = digits.rstrip("0")
        if digits:
            text = f"{text}.{digits}"
        if self.units < 0 and (whole or fraction):
            text = "-" + text
        return f"{text} {self.asset.symbol}" if symbol else text

    def _format_decimal(
        self, *, max_decimals: int | None, symbol: bool, grouping: bool, fixed: bool = False
    ) -> str:
        value = self.to_decimal()
        if max_decimals is not None and max_decimals < self.asset.decimals:
            with localcontext() as ctx:
                ctx.prec = 80
                value = value.quantize(Decimal(1).scaleb(-max_decimals), rounding="ROUND_DOWN")
        text = f"{value:,f}" if grouping else f"{value:f}"
        if "." in text and not fixed:
            text = text.rstrip("0").rstrip(".")
        if value.is_zero():
            text = text.lstrip("-") or "0"
        return f"{text} {self.asset.symbol}" if symbol else text

    def __str__(self) -> str:
        return self.format()

    # -- arithmetic, same asset only -------------------------------------------------------------------
    def _same(self, other: object) -> Amount:
        if not isinstance(other, Amount):
            raise TypeError(f"cannot combine Amount with {type(other).__name__}")
        if other.asset != self.asset:
            raise AmountError(f"cannot combine {self.asset.symbol} with {other.asset.symbol}")
        return other

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.asset, self.units + self._same(other).units)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.asset, self.units - self._same(other).units)

    def __neg__(self) -> Amount:
        return Amount(self.asset, -self.units)

    def __lt__(self, other: Amount) -> bool:
        return self.units < self._same(other).units

    def __le__(self, other: Amount) -> bool:
        return self.units <= self._same(other).units

    def __gt__(self, other: Amount) -> bool:
        return self.units > self._same(other).units

    def __ge__(self, other: Amount) -> bool:
        return self.units >= self._same(other).units

    def __bool__(self) -> bool:
        return self.units != 0

    @classmethod
    def zero(cls, asset: Asset) -> Amount:
        return cls(asset, 0)
