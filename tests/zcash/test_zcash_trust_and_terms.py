"""Trust but verify (the warning threshold), typed terms (decimals, rate, hours) and the token seal."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.store import Store
from paygo_desktop.store.models import SessionRow
from paygo_desktop.zcash.book import PermissionBook
from paygo_desktop.zcash.permissions import PermissionStatus
from paygo_desktop.zcash.terms_input import TermsError, describe, hours_text, parse_terms
from paygo_desktop.zcash.token_seal import TokenSealError, open_token, seal_token
from paygo_desktop.zcash.trust import (
    OwnRecord,
    allowance_zat,
    disagreements,
    interval_zat,
    overcharge_warning,
)
from tests.zcash.test_zcash_reminders import (
    AMOUNT,
    EXPIRES,
    START,
    Clock,
    add_permission,
    no_key,
    reported_json,
)

RATE = 100_000  # zat per hour


def test_interval_is_one_tick_of_use_rounded_up() -> None:
    assert interval_zat(RATE, 60) == 1667  # 1666.67
    assert interval_zat(3600, 1) == 1
    assert interval_zat(1, 1) == 1


def test_the_over_deduction_warning_only_beyond_one_tick_and_the_slack() -> None:
    allowed = interval_zat(RATE, 62)  # a 60-second tick and the provider's 2 s of whole-second rounding
    assert allowance_zat(RATE, 60) == allowed == 1723
    assert overcharge_warning("Radio Co", 50_000 + allowed, 50_000, RATE, 60) is None
    assert overcharge_warning("Radio Co", 10, 50_000, RATE, 60) is None  # below: not this warning
    text = overcharge_warning("Radio Co", 50_000 + allowed + 1, 50_000, RATE, 60)
    assert text is not None and "Radio Co has deducted 0.00051724 ZEC" in text
    assert "measured 0.0005 ZEC" in text and "60-second tick" in text


HOUR_USED = 3600  # of the 100 hours AMOUNT buys at RATE


def own(**changes: object) -> OwnRecord:
    base = OwnRecord(
        provider_name="Radio Co",
        amount_zat=AMOUNT,
        rate_per_hour_zat=RATE,
        expires_at=EXPIRES,
        used_seconds=HOUR_USED,
        metered_zat=RATE,
        status=PermissionStatus.ACTIVE,
        tick_seconds=60,
        at=START + 86400,
    )
    return base.__class__(**{**base.__dict__, **changes})


def said(**changes: object) -> zm.ZcashPermission:
    """What an honest provider says of ``own()``, with ``changes`` (wire names)."""
    agreed = {
        "usedSeconds": HOUR_USED,
        "usedHours": "1.00",
        "spentZat": str(RATE),
        "remainingSeconds": 360_000 - HOUR_USED,
        "remainingHours": "99.00",
        "remainingZat": str(AMOUNT - RATE),
    }
    return zm.ZcashPermission.model_validate_json(reported_json(**{**agreed, **changes}))


def figures(record: OwnRecord, reported: zm.ZcashPermission) -> list[str]:
    return [d.figure for d in disagreements(record, reported, reported.spent_zat)]


def test_an_honest_answer_disagrees_with_nothing() -> None:
    assert figures(own(), said()) == []


def test_any_figure_off_either_way_is_flagged() -> None:
    # less used than measured is flagged too: the app adopts none of the provider's figures
    fewer = said(usedSeconds=0, usedHours="0.00", spentZat="0", remainingSeconds=360_000)
    assert figures(
        own(), fewer.model_copy(update={"remaining_hours": "100.00", "remaining_zat": AMOUNT})
    ) == [
        "spent",
        "used",
        "remaining",
    ]
    assert figures(own(), said(remainingHours="0.00")) == ["remaining"]  # only the hours text is off
    assert figures(own(), said(ratePerHourZat="1")) == ["rate"]
    assert figures(own(), said(amountZat=str(AMOUNT + 1))) == ["amount"]
    assert figures(own(), said(expiresAt=EXPIRES - 1)) == ["expiry"]
    assert figures(own(), said(status="revoked")) == ["status"]
    assert figures(own(status=PermissionStatus.REVOKED), said()) == ["status"]
    assert figures(own(), said(status="pending_payment")) == ["status"]


def test_statuses_honest_timing_explains_raise_nothing() -> None:
    assert figures(own(), said(status="expired")) == ["status"]  # a month before the agreed expiry
    near = own(at=EXPIRES - 300)  # five minutes of clock difference around the expiry
    assert figures(near, said(status="expired")) == []
    expired = own(at=EXPIRES + 300, status=PermissionStatus.EXPIRED)
    assert figures(expired, said(status="active")) == []
    assert figures(own(at=EXPIRES + 3600, status=PermissionStatus.EXPIRED), said(status="active")) == [
        "status"
    ]
    # used up one tick (plus the provider's whole-second slack) ahead of the app's meter
    last = own(used_seconds=360_000 - 62, metered_zat=AMOUNT - RATE * 62 // 3600)
    ahead = said(
        status="exhausted",
        usedSeconds=360_000,
        usedHours="100.00",
        spentZat=str(AMOUNT),
        remainingSeconds=0,
        remainingHours="0.00",
        remainingZat="0",
    )
    assert figures(last, ahead) == []
    assert figures(own(used_seconds=360_000 - 63, metered_zat=AMOUNT - 1751), ahead) == [
        "spent",
        "used",
        "remaining",
        "status",
    ]


def test_the_interval_comes_from_the_sessions_the_permission_paid(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite3")
    book = PermissionBook(store, no_key, clock=Clock(START))
    add_permission(store, "zp_t", deducted=10_000 + allowance_zat(RATE, 60) + 1, metered=10_000)
    [view] = book.all()
    assert view.tick_seconds == 60 and view.trust_warning is not None  # no session known: 60 s
    assert book.trust_warnings() == [view.trust_warning]
    with store.session() as db:  # a session with a 5-minute tick paid from it
        db.add(
            SessionRow(
                local_id="s1",
                account="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                network="sandbox",
                funding="zcash",
                zcash_permission_id="zp_t",
                provider_url="http://provider.test",
                provider_name="Radio Co",
                service_id="radio",
                service_name="Radio",
                category="music",
                service_type="audio",
                asset_symbol="ZEC",
                decimals=8,
                rate_amount="100000",
                rate_unit="per_hour",
                tick_seconds=300,
                grace_seconds=10,
                budget="0",
                channel_base="0",
                signed="0",
                acked="0",
                cost="0",
                seconds=0,
                status="running",
                started_at=datetime.fromtimestamp(START, UTC),
            )
        )
    [view] = book.all()
    assert view.tick_seconds == 300 and view.trust_warning is None
    store.close()


@pytest.mark.parametrize(
    ("amount", "rate", "message"),
    [
        ("0.123456789", "0.001", "more than 8 decimals"),
        ("1", "0.000000001", "rate per hour has more than 8 decimals"),
        ("", "0.1", "Enter the amount in ZEC"),
        ("-1", "0.1", "must be a number of ZEC"),
        ("1e3", "0.1", "must be a number of ZEC"),
        ("0", "0.1", "more than zero"),
        ("0.1", "0.2", "at least one hour"),
        ("30000000", "1", "21,000,000 ZEC"),
    ],
)
def test_bad_terms_say_what_is_wrong(amount: str, rate: str, message: str) -> None:
    with pytest.raises(TermsError, match=message):
        parse_terms(amount, rate, 30)
    ok, text = describe(amount, rate, 30)
    assert not ok and message in text


def test_terms_are_integer_zatoshi_and_the_hours_follow() -> None:
    terms = parse_terms(" 0.01 ", "0.004", 7)
    assert (terms.amount_zat, terms.rate_zat_per_hour, terms.duration_days) == (1_000_000, 400_000, 7)
    assert describe("0.01", "0.004", 7) == (True, "Buys 2.50 hours of service, to use within 7 days.")
    assert describe("1", "0.00000003", 30)[1].startswith("Buys 33333333.33 hours")
    assert hours_text(3599) == "0.99" and hours_text(0) == "0.00"
    with pytest.raises(TermsError, match="1 to 365 days"):
        parse_terms("1", "0.1", 0)


def test_a_sealed_token_opens_only_with_its_key_and_permission() -> None:
    key, other = os.urandom(32), os.urandom(32)
    sealed = seal_token("secret-token", key, "http://p", "zp_1")
    assert "secret-token" not in sealed and sealed != seal_token("secret-token", key, "http://p", "zp_1")
    assert open_token(sealed, key, "http://p", "zp_1") == "secret-token"
    for args in ((other, "http://p", "zp_1"), (key, "http://q", "zp_1"), (key, "http://p", "zp_2")):
        with pytest.raises(TokenSealError):
            open_token(sealed, *args)
    for damaged in ("v2." + sealed[3:], sealed[:20], "v1.!!!!"):
        with pytest.raises(TokenSealError):
            open_token(damaged, key, "http://p", "zp_1")
