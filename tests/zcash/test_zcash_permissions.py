from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygo_desktop.zcash.amounts import COIN
from paygo_desktop.zcash.permissions import (
    DEFAULT_EXPIRY_SECONDS,
    InvalidTerms,
    Permission,
    PermissionClock,
    PermissionStateError,
    PermissionStatus,
    PermissionTerms,
    new_permission,
    parse_payment_memo,
    payment_memo,
    payment_memo_bytes,
    payment_request,
    payment_request_uri,
)
from paygo_desktop.zcash.zip321 import InvalidPaymentRequest, decode_memo, parse_uri

SAPLING = "ztestsapling10yy2ex5dcqkclhc7z7yrnjq2z6feyjad56ptwlfgmy77dmaqqrl9gyhprdx59qgmsnyfska2kez"
P2PKH = "tmEZhbWHTpdKMw5it8YDspUXSMGQyFwovpU"
T0 = 1_700_000_000


class FakeClock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_default_expiry_is_30_days() -> None:
    terms = PermissionTerms(COIN, 1000)
    assert terms.expiry_seconds == DEFAULT_EXPIRY_SECONDS == 30 * 86400
    assert terms.expires_at(T0) == T0 + 2_592_000


def test_max_time_bought() -> None:
    terms = PermissionTerms(amount_zat=1_000_000, rate_zat_per_hour=300_000)
    assert terms.max_hours == 3
    assert terms.max_hours_exact == Fraction(10, 3)
    assert terms.max_seconds == 12_000  # 1_000_000 * 3600 // 300_000
    assert terms.cost_zat(terms.max_seconds) == 1_000_000
    odd = PermissionTerms(amount_zat=10, rate_zat_per_hour=7)
    assert odd.max_seconds == 5142  # floor(36000 / 7)
    assert 7 * odd.max_seconds <= 10 * 3600 < 7 * (odd.max_seconds + 1)


def test_cost_uses_total_seconds_not_per_interval_rounding() -> None:
    terms = PermissionTerms(amount_zat=COIN, rate_zat_per_hour=1000)
    # 1000 zat/hour is 0.2777… zat/s: one-second intervals would each round to 0.
    assert terms.cost_zat(1) == 0
    assert terms.cost_zat(3600) == 1000
    assert terms.cost_zat(5) == 1  # 5000 // 3600
    permission = Permission("p1", terms, created_at=T0)
    permission.activate(T0)
    charged = [permission.record_usage(1, T0 + i) for i in range(3600)]
    assert sum(charged) == 1000 == permission.spent_zat
    assert permission.remaining_zat == COIN - 1000


@given(
    amount=st.integers(1, 10 * COIN),
    rate=st.integers(1, COIN),
    chunks=st.lists(st.integers(0, 10_000), max_size=30),
)
def test_charges_sum_to_cost_of_total(amount: int, rate: int, chunks: list[int]) -> None:
    terms = PermissionTerms(amount, rate)
    permission = Permission("h", terms, created_at=0)
    permission.activate(0)
    total = 0
    for seconds in chunks:
        if permission.status is not PermissionStatus.ACTIVE:
            break
        total += permission.record_usage(seconds, 1)
    assert total == permission.spent_zat == terms.cost_zat(permission.used_seconds)
    assert terms.cost_zat(permission.used_seconds) == rate * permission.used_seconds // 3600
    assert 0 <= permission.remaining_zat <= amount
    assert permission.used_seconds <= terms.max_seconds


def test_lifecycle_to_exhausted() -> None:
    clock = FakeClock(T0)
    permission = new_permission("perm-1", PermissionTerms(3600, 3600), clock)  # 1 zat/s, 3600 s
    assert permission.created_at == T0
    bound = PermissionClock(permission, clock)
    assert bound.status is PermissionStatus.PENDING_PAYMENT
    with pytest.raises(PermissionStateError, match="pending_payment"):
        bound.record_usage(10)
    clock.now += 60
    bound.activate()
    assert permission.activated_at == T0 + 60
    assert bound.record_usage(3000) == 3000
    assert bound.status is PermissionStatus.ACTIVE
    assert permission.remaining_seconds == 600
    assert bound.record_usage(1000) == 600  # clamped to what is left
    assert bound.status is PermissionStatus.EXHAUSTED
    assert permission.remaining_zat == 0
    with pytest.raises(PermissionStateError, match="exhausted"):
        bound.record_usage(1)
    with pytest.raises(PermissionStateError, match="exhausted"):
        bound.revoke()


def test_expiry_from_pending_and_active() -> None:
    terms = PermissionTerms(COIN, 1000, expiry_seconds=100)
    pending = Permission("a", terms, created_at=T0)
    assert pending.refresh(T0 + 99) is PermissionStatus.PENDING_PAYMENT
    assert pending.refresh(T0 + 100) is PermissionStatus.EXPIRED
    with pytest.raises(PermissionStateError, match="expired"):
        pending.activate(T0 + 100)

    active = Permission("b", terms, created_at=T0)
    active.activate(T0 + 10)
    with pytest.raises(PermissionStateError, match="expired"):
        active.record_usage(5, T0 + 150)
    assert active.status is PermissionStatus.EXPIRED
    assert active.ended_at == T0 + 100


def test_revoke() -> None:
    permission = Permission("c", PermissionTerms(COIN, 1000), created_at=T0)
    permission.activate(T0)
    permission.revoke(T0 + 5)
    assert permission.status is PermissionStatus.REVOKED
    assert permission.status.is_terminal
    assert permission.ended_at == T0 + 5
    with pytest.raises(PermissionStateError, match="revoked"):
        permission.activate(T0 + 6)
    pending = Permission("d", PermissionTerms(COIN, 1000), created_at=T0)
    pending.revoke(T0)
    assert pending.status is PermissionStatus.REVOKED


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"amount_zat": 0, "rate_zat_per_hour": 1}, "amount_zat"),
        ({"amount_zat": 22_000_000 * COIN, "rate_zat_per_hour": 1}, "supply"),
        ({"amount_zat": 1, "rate_zat_per_hour": 0}, "rate_zat_per_hour"),
        ({"amount_zat": 1.5, "rate_zat_per_hour": 1}, "must be an int"),
        ({"amount_zat": 1, "rate_zat_per_hour": 1, "expiry_seconds": 0}, "expiry_seconds"),
    ],
)
def test_invalid_terms(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidTerms, match=reason):
        PermissionTerms(**kwargs)  # type: ignore[arg-type]


def test_memo() -> None:
    assert payment_memo("abc-123") == "paygo:perm:abc-123"
    assert payment_memo_bytes("abc") == b"paygo:perm:abc"
    assert parse_payment_memo(b"paygo:perm:abc" + bytes(498)) == "abc"
    assert parse_payment_memo("paygo:perm:x_y") == "x_y"
    assert parse_payment_memo("paygo:other:abc") is None
    assert parse_payment_memo(b"\xff") is None
    assert parse_payment_memo("paygo:perm:") is None
    for bad in ("", "a b", "a:b", "x" * 129):
        with pytest.raises(InvalidTerms, match="permission id"):
            payment_memo(bad)


def test_payment_request_uri_carries_memo_base64url() -> None:
    permission = Permission("perm-42", PermissionTerms(25_000_000, 5_000_000), created_at=T0)
    uri = payment_request_uri(permission, SAPLING, label="PayGo")
    assert uri == f"zcash:{SAPLING}?amount=0.25&memo=cGF5Z286cGVybTpwZXJtLTQy&label=PayGo"
    assert decode_memo("cGF5Z286cGVybTpwZXJtLTQy") == b"paygo:perm:perm-42"
    (payment,) = parse_uri(uri).payments
    assert payment == payment_request(permission, SAPLING, label="PayGo")
    assert parse_payment_memo(payment.memo or b"") == "perm-42"
    with pytest.raises(InvalidPaymentRequest, match="shielded"):
        payment_request(permission, P2PKH)
