"""ZEC amounts as integer zatoshi, and their decimal-string forms. No floats anywhere."""

from __future__ import annotations

import re
from decimal import Decimal

COIN = 100_000_000  # zatoshi per ZEC
MAX_MONEY = 21_000_000 * COIN
DECIMALS = 8

# ZIP-321 grammar: amount = 1*DIGIT [ "." 1*8DIGIT ]
_AMOUNT_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,8}))?")


class InvalidAmount(ValueError):
    """A ZEC amount string or value is malformed or out of range."""


def _check_zat(zat: int) -> int:
    if isinstance(zat, bool) or not isinstance(zat, int):
        raise InvalidAmount(f"amount must be an integer number of zatoshi, got {type(zat).__name__}")
    if not 0 <= zat <= MAX_MONEY:
        raise InvalidAmount(f"amount {zat} zatoshi is outside 0..{MAX_MONEY}")
    return zat


def parse_zec(text: str) -> int:
    """Parse a ZEC decimal string (``"1"``, ``"0.789"``, ``"123.45600000"``) to zatoshi.

    Rejects signs, exponents, whitespace, a bare or trailing ``.``, more than 8 decimals,
    and values above the 21 million ZEC supply.
    """
    if not isinstance(text, str):
        raise InvalidAmount("amount must be a string")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[0-9]+\.[0-9]{9,}", text):
            raise InvalidAmount(f"amount {text!r} has more than {DECIMALS} decimal places")
        raise InvalidAmount(f"malformed ZEC amount {text!r}")
    whole, frac = match.group(1), match.group(2) or ""
    zat = int(whole) * COIN + int(frac.ljust(DECIMALS, "0"))
    if zat > MAX_MONEY:
        raise InvalidAmount(f"amount {text} ZEC exceeds the 21,000,000 ZEC supply")
    return zat


def format_zec(zat: int, min_decimals: int = 0) -> str:
    """Format zatoshi as a ZEC decimal string with trailing zeros trimmed down to ``min_decimals``."""
    if isinstance(zat, bool) or not isinstance(zat, int):
        raise InvalidAmount("amount must be an integer number of zatoshi")
    if not 0 <= min_decimals <= DECIMALS:
        raise ValueError("min_decimals must be 0..8")
    sign = "-" if zat < 0 else ""
    whole, frac = divmod(abs(zat), COIN)
    digits = f"{frac:08d}".rstrip("0")
    digits = digits.ljust(min_decimals, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def zec_to_zat(value: Decimal | int | str) -> int:
    """Exact conversion of a ZEC ``Decimal``/``int``/``str`` to zatoshi; refuses sub-zatoshi precision."""
    if isinstance(value, float | bool):
        raise InvalidAmount("floats are not accepted for money")
    if isinstance(value, str):
        return parse_zec(value)
    dec = Decimal(value)
    if not dec.is_finite():
        raise InvalidAmount("amount must be finite")
    scaled = dec * COIN
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{value} ZEC has more than {DECIMALS} decimal places")
    return _check_zat(int(scaled))


def zat_to_zec(zat: int) -> Decimal:
    """Exact ``Decimal`` ZEC value of an integer zatoshi amount."""
    if isinstance(zat, bool) or not isinstance(zat, int):
        raise InvalidAmount("amount must be an integer number of zatoshi")
    return Decimal(zat).scaleb(-DECIMALS)


def check_zat(zat: int) -> int:
    """Return ``zat`` if it is an int in 0..MAX_MONEY, else raise :class:`InvalidAmount`."""
    return _check_zat(zat)
