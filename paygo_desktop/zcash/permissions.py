"""Spending-permission arithmetic shared by the app and the service provider.

A permission is bought by paying ``amount_zat`` (ZIP-321 request with memo
``paygo:perm:<id>``); it is then consumed at ``rate_zat_per_hour``. Usage is charged
cumulatively — ``rate * used_seconds // 3600`` on the *total* used seconds — so no
per-interval rounding ever accumulates. Time comes from an injected clock or an explicit
``now`` (Unix seconds); nothing here reads the system time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction

from .amounts import MAX_MONEY
from .zip321 import Payment, build_uri

SECONDS_PER_HOUR = 3600
DEFAULT_EXPIRY_SECONDS = 30 * 24 * SECONDS_PER_HOUR
MEMO_PREFIX = "paygo:perm:"
_PERMISSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

Clock = Callable[[], int]
"""Returns the current Unix time in whole seconds."""


class PermissionsError(ValueError):
    """Base for spending-permission errors."""


class InvalidTerms(PermissionsError):
    pass


class PermissionStateError(PermissionsError):
    """An operation is not allowed in the permission's current status."""


class PermissionStatus(Enum):
    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def is_terminal(self) -> bool:
        return self in (PermissionStatus.EXHAUSTED, PermissionStatus.EXPIRED, PermissionStatus.REVOKED)


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTerms(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise InvalidTerms(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class PermissionTerms:
    amount_zat: int
    rate_zat_per_hour: int
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS

    def __post_init__(self) -> None:
        _check_int("amount_zat", self.amount_zat, 1)
        if self.amount_zat > MAX_MONEY:
            raise InvalidTerms("amount_zat exceeds the 21,000,000 ZEC supply")
        _check_int("rate_zat_per_hour", self.rate_zat_per_hour, 1)
        _check_int("expiry_seconds", self.expiry_seconds, 1)

    @property
    def max_seconds(self) -> int:
        """Whole seconds the amount pays for in full: the largest s with rate*s <= amount*3600."""
        return self.amount_zat * SECONDS_PER_HOUR // self.rate_zat_per_hour

    @property
    def max_hours(self) -> int:
        """Whole hours the amount buys."""
        return self.amount_zat // self.rate_zat_per_hour

    @property
    def max_hours_exact(self) -> Fraction:
        return Fraction(self.amount_zat, self.rate_zat_per_hour)

    def cost_zat(self, used_seconds: int) -> int:
        """Charge for ``used_seconds`` in total: rate * seconds // 3600, capped at the amount."""
        _check_int("used_seconds", used_seconds, 0)
        return min(self.amount_zat, self.rate_zat_per_hour * used_seconds // SECONDS_PER_HOUR)

    def remaining_zat(self, used_seconds: int) -> int:
        return self.amount_zat - self.cost_zat(used_seconds)

    def remaining_seconds(self, used_seconds: int) -> int:
        _check_int("used_seconds", used_seconds, 0)
        return max(0, self.max_seconds - used_seconds)

    def expires_at(self, created_at: int) -> int:
        return created_at + self.expiry_seconds


def payment_memo(permission_id: str) -> str:
    """The memo text that ties a payment to a permission: ``paygo:perm:<id>``."""
    if not _PERMISSION_ID_RE.fullmatch(permission_id):
        raise InvalidTerms(f"permission id {permission_id!r} must be 1-128 of A-Z a-z 0-9 _ -")
    return MEMO_PREFIX + permission_id


def payment_memo_bytes(permission_id: str) -> bytes:
    return payment_memo(permission_id).encode("ascii")


def parse_payment_memo(memo: bytes | str) -> str | None:
    """The permission id in a payment memo, or None if the memo is not a PayGo permission memo.

    Trailing zero bytes (memo field padding) are ignored.
    """
    if isinstance(memo, bytes):
        try:
            memo = memo.rstrip(b"\x00").decode("ascii")
        except UnicodeDecodeError:
            return None
    if not memo.startswith(MEMO_PREFIX):
        return None
    ident = memo[len(MEMO_PREFIX) :]
    return ident if _PERMISSION_ID_RE.fullmatch(ident) else None


@dataclass
class Permission:
    """A permission's lifecycle: pending_payment → active → exhausted / expired / revoked."""

    permission_id: str
    terms: PermissionTerms
    created_at: int
    status: PermissionStatus = PermissionStatus.PENDING_PAYMENT
    used_seconds: int = 0
    activated_at: int | None = None
    ended_at: int | None = None
    _memo: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._memo = payment_memo(self.permission_id)
        _check_int("created_at", self.created_at, 0)
        _check_int("used_seconds", self.used_seconds, 0)

    @property
    def memo(self) -> str:
        return self._memo

    @property
    def expires_at(self) -> int:
        return self.terms.expires_at(self.created_at)

    @property
    def spent_zat(self) -> int:
        return self.terms.cost_zat(self.used_seconds)

    @property
    def remaining_zat(self) -> int:
        return self.terms.remaining_zat(self.used_seconds)

    @property
    def remaining_seconds(self) -> int:
        return self.terms.remaining_seconds(self.used_seconds)

    def refresh(self, now: int) -> PermissionStatus:
        """Apply expiry at time ``now`` and return the (possibly new) status."""
        if not self.status.is_terminal and now >= self.expires_at:
            self.status = PermissionStatus.EXPIRED
            self.ended_at = self.expires_at
        return self.status

    def activate(self, now: int) -> None:
        """The payment was seen: pending_payment → active."""
        if self.refresh(now) is not PermissionStatus.PENDING_PAYMENT:
            raise PermissionStateError(f"cannot activate a permission that is {self.status.value}")
        self.status = PermissionStatus.ACTIVE
        self.activated_at = now

    def record_usage(self, seconds: int, now: int) -> int:
        """Add ``seconds`` of use; returns the zatoshi charged for them (cumulative arithmetic)."""
        _check_int("seconds", seconds, 0)
        if self.refresh(now) is not PermissionStatus.ACTIVE:
            raise PermissionStateError(f"cannot use a permission that is {self.status.value}")
        before = self.spent_zat
        self.used_seconds = min(self.used_seconds + seconds, self.terms.max_seconds)
        if self.used_seconds >= self.terms.max_seconds:
            self.status = PermissionStatus.EXHAUSTED
            self.ended_at = now
        return self.spent_zat - before

    def revoke(self, now: int) -> None:
        if self.refresh(now).is_terminal:
            raise PermissionStateError(f"cannot revoke a permission that is {self.status.value}")
        self.status = PermissionStatus.REVOKED
        self.ended_at = now


class PermissionClock:
    """Binds a :class:`Permission` to an injected clock so callers need not pass ``now``."""

    def __init__(self, permission: Permission, clock: Clock) -> None:
        self.permission = permission
        self._clock = clock

    @property
    def status(self) -> PermissionStatus:
        return self.permission.refresh(self._clock())

    def activate(self) -> None:
        self.permission.activate(self._clock())

    def record_usage(self, seconds: int) -> int:
        return self.permission.record_usage(seconds, self._clock())

    def revoke(self) -> None:
        self.permission.revoke(self._clock())


def new_permission(permission_id: str, terms: PermissionTerms, clock: Clock) -> Permission:
    return Permission(permission_id, terms, created_at=clock())


def payment_request(permission: Permission, address: str, label: str | None = None) -> Payment:
    """The ZIP-321 payment that funds ``permission`` (memo ``paygo:perm:<id>``; shielded address only)."""
    return Payment(
        address=address,
        amount_zat=permission.terms.amount_zat,
        memo=payment_memo_bytes(permission.permission_id),
        label=label,
    )


def payment_request_uri(permission: Permission, address: str, label: str | None = None) -> str:
    return build_uri(payment_request(permission, address, label))
