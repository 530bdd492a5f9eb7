"""Renewal reminders on an injected clock: expiry − 7 days, − 1 day, − 1 hour and "hours running low",
each shown once, also after a restart (a new store and book on the same database file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.store import Store
from paygo_desktop.store.models import ZcashPermissionRow
from paygo_desktop.store.notices import NoticeLog
from paygo_desktop.zcash.book import PermissionBook
from paygo_desktop.zcash.reminders import is_low

URL = "http://provider.test"
START = 1_700_000_000
DAY, HOUR = 86400, 3600
EXPIRES = START + 30 * DAY
AMOUNT, RATE = 10_000_000, 100_000  # 100 hours


def add_permission(
    store: Store,
    permission_id: str,
    *,
    status: str = "active",
    used_seconds: int = 0,
    expires_at: int = EXPIRES,
    deducted: int = 0,
    metered: int = 0,
    reported: str | None = None,
) -> None:
    """A permission row as the book keeps it; ``reported``: the provider's last answer (``reported_json``)."""
    with store.session() as db:
        db.add(
            ZcashPermissionRow(
                provider_url=URL,
                provider_name="Radio Co",
                permission_id=permission_id,
                account="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                user_address=None,
                pay_address="ztestsapling10yy2ex5dcqkclhc7z7yrnjq2z6feyjad56ptwlfgmy77dmaqqrl9gyhprdx59qgmsnyfska2kez",
                payment_uri="zcash:x",
                amount_zat=AMOUNT,
                rate_per_hour_zat=RATE,
                used_seconds=used_seconds,
                deducted_zat=deducted,
                metered_zat=metered,
                status=status,
                verification="confirmed",
                confirmations=3,
                token_sealed=None,
                allow_fallback=False,
                expires_at=datetime.fromtimestamp(expires_at, UTC),
                created_at=datetime.fromtimestamp(START, UTC),
                updated_at=datetime.fromtimestamp(START, UTC),
                reported=reported,
                reported_at=None if reported is None else datetime.fromtimestamp(START, UTC),
            )
        )


def reported_json(**changes: Any) -> str:
    """The provider's answer about an ``add_permission`` row, agreeing with it unless ``changes`` say
    otherwise (wire names: ``status``, ``usedSeconds``, ...)."""
    max_seconds = AMOUNT * HOUR // RATE
    wire: dict[str, Any] = {
        "id": "zp_reported",
        "userWalletAddress": "ztestsapling1x",
        "status": "active",
        "verification": "confirmed",
        "paymentAddress": "ztestsapling1x",
        "paymentUri": "zcash:x",
        "amountZat": str(AMOUNT),
        "ratePerHourZat": str(RATE),
        "spentZat": "0",
        "remainingZat": str(AMOUNT),
        "maxSeconds": max_seconds,
        "usedSeconds": 0,
        "remainingSeconds": max_seconds,
        "maxHours": "100.00",
        "usedHours": "0.00",
        "remainingHours": "100.00",
        "createdAt": START,
        "expiresAt": EXPIRES,
    }
    wire.update(changes)
    return zm.ZcashPermission.model_validate(wire).model_dump_json(by_alias=True)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def no_key(account: str) -> bytes:
    raise AssertionError("reminders never need a key")


def open_book(path: Path, clock: Clock) -> tuple[Store, PermissionBook]:
    store = Store.open(path)
    return store, PermissionBook(store, no_key, clock=clock)


def test_each_expiry_reminder_once_and_never_again_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "paygo.sqlite3"
    clock = Clock(START)
    store, book = open_book(db, clock)
    add_permission(store, "zp_a")
    assert book.due_reminders() == []
    clock.now = EXPIRES - 7 * DAY - 1
    assert book.due_reminders() == []
    clock.now = EXPIRES - 7 * DAY
    first = book.due_reminders()
    assert [r.key.rsplit(":", 1)[1] for r in first] == ["expiry-7d"]
    assert "Radio Co" in first[0].text and "expires in 7 days" in first[0].text
    assert "100.00 hours are unused" in first[0].text
    assert book.due_reminders() == []  # shown once
    store.close()

    store, book = open_book(db, clock)  # the app restarts
    assert book.due_reminders() == []
    clock.now = EXPIRES - DAY
    assert [r.key.rsplit(":", 1)[1] for r in book.due_reminders()] == ["expiry-1d"]
    clock.now = EXPIRES - HOUR + 1
    [last] = book.due_reminders()
    assert last.key.endswith("expiry-1h") and "within the hour" in last.text
    clock.now = EXPIRES + 1  # expired: nothing more to remind of
    assert book.due_reminders() == []
    store.close()


def test_after_days_away_only_the_most_urgent_reminder_is_shown(tmp_path: Path) -> None:
    clock = Clock(START)
    store, book = open_book(tmp_path / "db.sqlite3", clock)
    add_permission(store, "zp_b")
    clock.now = EXPIRES - 2 * HOUR  # the app was closed from 30 days before expiry until now
    [shown] = book.due_reminders()
    assert shown.key.endswith("expiry-1d")
    notices = NoticeLog(store)
    assert notices.was_shown(shown.key.replace("expiry-1d", "expiry-7d"))  # recorded, not shown
    assert book.due_reminders() == []
    store.close()


def test_hours_running_low_once(tmp_path: Path) -> None:
    clock = Clock(START + DAY)
    db = tmp_path / "db.sqlite3"
    store, book = open_book(db, clock)
    add_permission(store, "zp_c", used_seconds=79 * HOUR)  # 21 of 100 hours left
    add_permission(store, "zp_pending", status="pending_payment", used_seconds=99 * HOUR)
    assert book.due_reminders() == []
    with store.session() as s:
        row = s.query(ZcashPermissionRow).filter_by(permission_id="zp_c").one()
        row.used_seconds = 80 * HOUR  # 20 hours left: a fifth
    [low] = book.due_reminders()
    assert low.title == "Zcash permission running low"
    assert "20.00 of 100.00 hours left" in low.text
    store.close()
    store, book = open_book(db, clock)
    assert book.due_reminders() == []
    store.close()


def test_low_means_a_fifth_or_under_an_hour() -> None:
    assert not is_low(100 * HOUR, 21 * HOUR) and is_low(100 * HOUR, 20 * HOUR)
    assert is_low(2 * HOUR, HOUR - 1) and not is_low(2 * HOUR, HOUR)
    assert not is_low(100 * HOUR, 0)  # used up: the status says it, no reminder


def test_notice_claim_is_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite3")
    notices = NoticeLog(store)
    assert notices.claim("k") is True
    assert notices.claim("k") is False and notices.was_shown("k")
    assert not notices.was_shown("other")
    store.close()
