"""Trust, but verify: every figure a provider reports about a permission against the app's own record.

The app keeps its own record of each permission (``cross_check``): what it bought (amount, rate, expiry,
fixed at buying) and what its own meter measured (seconds used, zatoshi). ``disagreements`` compares a
provider's answer with that record and returns one ``Disagreement`` per figure that differs beyond what
honest timing explains — in either direction, since the app adopts none of the provider's figures:

* **rate**, **amount**, **expiry**: must equal what was bought, exactly.
* **used** (``usedSeconds``) and **remaining** (``remainingSeconds``, ``remainingHours``): within one tick
  plus ``SECONDS_SLACK`` of the app's meter, where the tick is the longest tick of the sessions this
  permission paid (``sessions.tick_seconds``), or ``DEFAULT_TICK_SECONDS`` when the app knows of none:
  between two ticks the provider's figure (which counts up to its own "now") may be ahead of the app's by
  up to one tick of use, and the provider counts whole seconds at a session's start and end.
* **spent** (``spentZat``) and ``remainingZat``: within the allowance of the app's meter, what that many
  seconds cost:

      allowance (zatoshi) = ceil(rate per hour × (tick + SECONDS_SLACK) seconds / 3600)

* **status**: what the app's own record says at the time of the answer, or a status that one tick of
  use or ``CLOCK_SKEW_SECONDS`` of clock difference around the agreed expiry explains.
* **exhausted**: a session the provider ended as "exhausted" while the app's meter had more than that
  allowance of the permission left (``exhaustion_agrees``) — kept on the permission's row, so it stays
  flagged whatever the provider says next.

Each disagreement is shown the same way as an over-deduction: a warning on the Zcash page and an entry in
the activity log (``cross_check.record_disagreements``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paygo_desktop.peer_text import is_digits
from paygo_desktop.zcash.amounts import format_zec
from paygo_desktop.zcash.permissions import SECONDS_PER_HOUR, PermissionStatus, PermissionTerms
from paygo_desktop.zcash.terms_input import hours_text

DEFAULT_TICK_SECONDS = 60
SECONDS_SLACK = 2  # the provider truncates its clock to whole seconds at a session's start and its end
CLOCK_SKEW_SECONDS = 600  # how far two computers' clocks may differ around the expiry

STATUS_WORDS = {
    PermissionStatus.PENDING_PAYMENT: "waiting for payment",
    PermissionStatus.ACTIVE: "active",
    PermissionStatus.EXHAUSTED: "used up",
    PermissionStatus.EXPIRED: "expired",
    PermissionStatus.REVOKED: "revoked",
}


def interval_zat(rate_per_hour_zat: int, tick_seconds: int) -> int:
    """What one tick of use costs at the permission's rate, rounded up to a whole zatoshi."""
    if rate_per_hour_zat < 0 or tick_seconds <= 0:
        raise ValueError("the rate must be >= 0 and the tick > 0")
    return -(-rate_per_hour_zat * tick_seconds // SECONDS_PER_HOUR)


def allowance_zat(rate_per_hour_zat: int, tick_seconds: int) -> int:
    """How far a fair provider's figure may be from the app's meter: one tick plus the slack, in zatoshi."""
    return interval_zat(rate_per_hour_zat, tick_seconds + SECONDS_SLACK)


def overcharge_zat(deducted_zat: int, metered_zat: int, rate_per_hour_zat: int, tick_seconds: int) -> int:
    """How far the deductions go beyond the meter plus the allowance (0 when within it)."""
    return max(0, deducted_zat - metered_zat - allowance_zat(rate_per_hour_zat, tick_seconds))


def overcharge_warning(
    provider_name: str, deducted_zat: int, metered_zat: int, rate_per_hour_zat: int, tick_seconds: int
) -> str | None:
    """A sentence for the user when the provider took more than the app measured (plus the allowance)."""
    if overcharge_zat(deducted_zat, metered_zat, rate_per_hour_zat, tick_seconds) == 0:
        return None
    return (
        f"{provider_name} has deducted {format_zec(deducted_zat)} ZEC from this permission, but this app "
        f"measured {format_zec(metered_zat)} ZEC of use ({format_zec(deducted_zat - metered_zat)} ZEC more "
        f"than measured; one {tick_seconds}-second tick and the provider's rounding to whole seconds would "
        f"explain {format_zec(allowance_zat(rate_per_hour_zat, tick_seconds))} ZEC). Check your sessions "
        "with this provider, and revoke the permission if you do not trust it."
    )


@dataclass(frozen=True)
class OwnRecord:
    """The app's own record of a permission, as of ``at`` (Unix seconds)."""

    provider_name: str
    amount_zat: int
    rate_per_hour_zat: int
    expires_at: int
    used_seconds: int
    metered_zat: int
    status: PermissionStatus
    tick_seconds: int
    at: int

    @property
    def max_seconds(self) -> int:
        return PermissionTerms(self.amount_zat, self.rate_per_hour_zat).max_seconds

    @property
    def remaining_seconds(self) -> int:
        return max(0, self.max_seconds - self.used_seconds)


@dataclass(frozen=True)
class Disagreement:
    figure: str  # rate | amount | expiry | spent | used | remaining | status
    text: str


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _centi_hours(text: str) -> int | None:
    """Hundredths of an hour in a provider's hours text (``"2.50"`` → 250), None if it is no such text."""
    whole, _, frac = text.partition(".")
    if not is_digits(whole) or (frac and not is_digits(frac)):
        return None
    return int(whole) * 100 + int((frac + "00")[:2])


def explained_statuses(own: OwnRecord) -> set[PermissionStatus]:
    """The statuses an honest provider may report while the app's record says ``own.status``."""
    tolerance = own.tick_seconds + SECONDS_SLACK
    near_expiry = own.at >= own.expires_at - CLOCK_SKEW_SECONDS
    before_expiry = own.at < own.expires_at + CLOCK_SKEW_SECONDS
    nearly_used = own.remaining_seconds <= tolerance
    s = PermissionStatus
    explained = {own.status}
    if own.status in (s.PENDING_PAYMENT, s.ACTIVE, s.EXHAUSTED) and near_expiry:
        explained.add(s.EXPIRED)
    if own.status is s.ACTIVE and nearly_used:
        explained.add(s.EXHAUSTED)
    if own.status is s.EXHAUSTED:
        explained.add(s.ACTIVE)  # its count a tick behind ours (the remaining figures bound how far)
    if own.status is s.EXPIRED:
        if before_expiry:
            explained |= {s.PENDING_PAYMENT, s.ACTIVE}
        if nearly_used:
            explained.add(s.EXHAUSTED)
    return explained


def exhaustion_agrees(left_zat: int, rate_per_hour_zat: int, tick_seconds: int) -> bool:
    """Whether a provider's word that the permission ran out agrees with the app's meter, which has
    ``left_zat`` of it left: within one tick's use (plus the slack)."""
    return left_zat <= allowance_zat(rate_per_hour_zat, tick_seconds)


def exhaustion_claim_text(provider_name: str, left_zat: int, amount_zat: int) -> str:
    """The disagreement of a provider that ended a session as "exhausted" with ``left_zat`` left."""
    return (
        f"{provider_name} ended a session saying this permission is used up, but by this app's meter "
        f"{format_zec(left_zat)} ZEC of its {format_zec(amount_zat)} ZEC was left; PayGo stopped that "
        "session and did not continue it on the escrow channel."
    )


def disagreements(
    own: OwnRecord, reported: Any, deducted_zat: int, exhaustion_claim_left_zat: int | None = None
) -> list[Disagreement]:
    """The provider's figures that disagree with the app's record. ``reported`` is the provider's last
    ``ZcashPermission`` answer (None when the app holds none: only the deduction is compared);
    ``exhaustion_claim_left_zat``: what the app's meter had left when the provider ended a session as
    "exhausted" anyway (None: it never did), flagged for good."""
    name = own.provider_name
    found: list[Disagreement] = []

    def add(figure: str, text: str) -> None:
        found.append(Disagreement(figure, text))

    if exhaustion_claim_left_zat is not None:
        add("exhausted", exhaustion_claim_text(name, exhaustion_claim_left_zat, own.amount_zat))

    allowance = allowance_zat(own.rate_per_hour_zat, own.tick_seconds)
    over = overcharge_warning(name, deducted_zat, own.metered_zat, own.rate_per_hour_zat, own.tick_seconds)
    if over is not None:
        add("spent", over)
    elif own.metered_zat - deducted_zat > allowance:
        add(
            "spent",
            f"{name} reports {format_zec(deducted_zat)} ZEC deducted from this permission, but this app "
            f"measured {format_zec(own.metered_zat)} ZEC of use.",
        )
    if reported is None:
        return found
    if reported.rate_per_hour_zat != own.rate_per_hour_zat:
        add(
            "rate",
            f"{name} reports a rate of {format_zec(reported.rate_per_hour_zat)} ZEC per hour for this "
            f"permission, but you bought it at {format_zec(own.rate_per_hour_zat)} ZEC per hour; the app "
            "keeps metering at the agreed rate.",
        )
    if reported.amount_zat != own.amount_zat:
        add(
            "amount",
            f"{name} reports this permission as {format_zec(reported.amount_zat)} ZEC, but you bought "
            f"{format_zec(own.amount_zat)} ZEC.",
        )
    if reported.expires_at != own.expires_at:
        add(
            "expiry",
            f"{name} says this permission expires on {_utc(reported.expires_at)}, but you bought it to "
            f"last until {_utc(own.expires_at)}.",
        )
    tolerance = own.tick_seconds + SECONDS_SLACK
    if abs(reported.used_seconds - own.used_seconds) > tolerance:
        add(
            "used",
            f"{name} reports {hours_text(reported.used_seconds)} hours used on this permission, but this "
            f"app measured {hours_text(own.used_seconds)} hours.",
        )
    left = own.remaining_seconds
    shown = _centi_hours(reported.remaining_hours)
    lowest, highest = (max(0, s) * 100 // SECONDS_PER_HOUR for s in (left - tolerance, left + tolerance))
    if (
        abs(reported.remaining_seconds - left) > tolerance
        or shown is None
        or not lowest <= shown <= highest
        or abs(reported.remaining_zat - max(0, own.amount_zat - own.metered_zat)) > allowance
    ):
        add(
            "remaining",
            f"{name} reports {reported.remaining_hours} hours left on this permission, but by this app's "
            f"meter {hours_text(left)} hours are left.",
        )
    status = PermissionStatus(reported.status.value)
    if status not in explained_statuses(own):
        add(
            "status",
            f"{name} reports this permission as {STATUS_WORDS[status]}, but by this app's record it is "
            f"{STATUS_WORDS[own.status]}.",
        )
    return found
