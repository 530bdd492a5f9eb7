"""Trust, but verify: the provider's deductions from a permission against the app's own meter.

The session engine meters every permission-funded session itself and adds what it measured to the
permission's ``metered_zat`` once a tick. Between two ticks the provider's figure (which counts up to its
own "now") may be ahead of the app's by up to one tick of use, so that much is allowed:

    interval (zatoshi) = ceil(rate per hour × tick seconds / 3600)

where the tick is the longest tick of the sessions this permission paid (``sessions.tick_seconds``), or
``DEFAULT_TICK_SECONDS`` when the app knows of none. A warning is raised when the provider's deductions
exceed the meter by more than one interval. Deductions below the meter are the provider's loss, not the
user's, and raise nothing.
"""

from __future__ import annotations

from paygo_desktop.zcash.amounts import format_zec
from paygo_desktop.zcash.permissions import SECONDS_PER_HOUR

DEFAULT_TICK_SECONDS = 60


def interval_zat(rate_per_hour_zat: int, tick_seconds: int) -> int:
    """What one tick of use costs at the permission's rate, rounded up to a whole zatoshi."""
    if rate_per_hour_zat < 0 or tick_seconds <= 0:
        raise ValueError("the rate must be >= 0 and the tick > 0")
    return -(-rate_per_hour_zat * tick_seconds // SECONDS_PER_HOUR)


def overcharge_zat(deducted_zat: int, metered_zat: int, rate_per_hour_zat: int, tick_seconds: int) -> int:
    """How far the deductions go beyond the meter plus one interval (0 when within it)."""
    return max(0, deducted_zat - metered_zat - interval_zat(rate_per_hour_zat, tick_seconds))


def overcharge_warning(
    provider_name: str, deducted_zat: int, metered_zat: int, rate_per_hour_zat: int, tick_seconds: int
) -> str | None:
    """A sentence for the user when the provider took more than the app measured (plus one interval)."""
    if overcharge_zat(deducted_zat, metered_zat, rate_per_hour_zat, tick_seconds) == 0:
        return None
    return (
        f"{provider_name} has deducted {format_zec(deducted_zat)} ZEC from this permission, but this app "
        f"measured {format_zec(metered_zat)} ZEC of use ({format_zec(deducted_zat - metered_zat)} ZEC more "
        f"than measured; one {tick_seconds}-second tick would explain "
        f"{format_zec(interval_zat(rate_per_hour_zat, tick_seconds))} ZEC). Check your sessions with "
        "this provider, and revoke the permission if you do not trust it."
    )
