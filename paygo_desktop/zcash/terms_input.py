"""What a person types to buy a permission (amount and rate in ZEC, a duration), checked and explained.

Amounts become integer zatoshi through ``amounts.parse_zec``: more than 8 decimals, signs, exponents or
other text are refused with a sentence that says what is wrong. ``describe`` is the live line under the
form: the hours the amount buys at the rate, or why it cannot be computed yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.errors import UserFacingError
from paygo_desktop.zcash.amounts import DECIMALS, InvalidAmount, parse_zec
from paygo_desktop.zcash.permissions import SECONDS_PER_HOUR, PermissionTerms

MIN_DAYS, MAX_DAYS = 1, 365


class TermsError(UserFacingError):
    """The amount, rate or duration typed cannot be used; the message says why."""


def hours_text(seconds: int) -> str:
    """Seconds as hours with 2 decimals, rounded down (as the provider shows them)."""
    centi = max(0, seconds) * 100 // SECONDS_PER_HOUR
    return f"{centi // 100}.{centi % 100:02d}"


def parse_zec_field(text: str, what: str) -> int:
    """``text`` (ZEC, up to 8 decimals) as zatoshi, > 0; ``TermsError`` naming ``what`` otherwise."""
    cleaned = text.strip()
    if not cleaned:
        raise TermsError(f"Enter the {what} in ZEC, for example 0.5.")
    try:
        zat = parse_zec(cleaned)
    except InvalidAmount as exc:
        if "decimal places" in str(exc):
            raise TermsError(
                f"The {what} has more than {DECIMALS} decimals; the smallest amount is 0.00000001 ZEC "
                "(1 zatoshi)."
            ) from None
        if "supply" in str(exc):
            raise TermsError(f"The {what} is more than the 21,000,000 ZEC that can ever exist.") from None
        raise TermsError(f"The {what} must be a number of ZEC such as 0.5 (digits and one dot).") from None
    if zat == 0:
        raise TermsError(f"The {what} must be more than zero.")
    return zat


@dataclass(frozen=True)
class TermsInput:
    amount_zat: int
    rate_zat_per_hour: int
    duration_days: int

    @property
    def terms(self) -> PermissionTerms:
        return PermissionTerms(self.amount_zat, self.rate_zat_per_hour, self.duration_days * 86400)


def parse_terms(amount_text: str, rate_text: str, duration_days: int) -> TermsInput:
    amount = parse_zec_field(amount_text, "amount")
    rate = parse_zec_field(rate_text, "rate per hour")
    if rate > amount:
        raise TermsError("The amount must pay for at least one hour at this rate.")
    if not MIN_DAYS <= duration_days <= MAX_DAYS:
        raise TermsError(f"A permission lasts {MIN_DAYS} to {MAX_DAYS} days.")
    return TermsInput(amount, rate, duration_days)


def describe(amount_text: str, rate_text: str, duration_days: int) -> tuple[bool, str]:
    """(ok, text) for the live line: what the amount buys, or what to fix."""
    try:
        terms = parse_terms(amount_text, rate_text, duration_days).terms
    except TermsError as exc:
        return False, str(exc)
    return True, f"Buys {hours_text(terms.max_seconds)} hours of service, to use within {duration_days} days."
