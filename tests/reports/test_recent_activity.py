"""Home's recent lines (``reports.recent_activity``), read from a real SQLite store: the sessions as booked,
the transactions this app sent and how they ended, the activity log, newest first, one network only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from paygo_desktop.reports.recent_activity import recent_activity
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SessionRow, TransactionRow
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository
from tests.reports.spending_data import ACCOUNT, ETH_VIDEO, USDC_FEED, add_session

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SANDBOX_CHAIN = 31337


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "paygo.sqlite3")
    yield s
    s.close()


def sent(
    store: Store, nonce: int, description: str, status: str, at: datetime, chain_id: int = SANDBOX_CHAIN
) -> None:
    record = TransactionRecord(
        chain_id=chain_id, sender=ACCOUNT, nonce=nonce, tx_hash=f"0x{nonce:064x}", raw_tx="0x02",
        kind="deposit", description=description, to_address=None, value=0, gas_limit=21_000,
        max_fee_per_gas=1, max_priority_fee_per_gas=1, status=status,
    )  # fmt: skip
    TransactionRepository(store).add(record)
    with store.session() as s:
        s.execute(update(TransactionRow).where(TransactionRow.nonce == nonce).values(created_at=at))


def ended(store: Store, session: int, *, seconds: int, at: datetime, reason: str | None = None) -> None:
    with store.session() as s:
        row = s.get(SessionRow, session)
        assert row is not None
        row.seconds, row.ended_at, row.stop_reason = seconds, at, reason


def test_sessions_transactions_and_the_log_newest_first(store: Store) -> None:
    ActivityLog(store).record("unlock", "Wallet unlocked", at=NOW - timedelta(hours=3))
    sent(
        store,
        0,
        "Deposit 1.8 USDC into your channel with PayGo Sandbox Provider",
        "confirmed",
        NOW - timedelta(hours=2),
    )
    feed = add_session(store, USDC_FEED, NOW - timedelta(hours=1), 11_626)
    ended(store, feed, seconds=12, at=NOW - timedelta(minutes=59))
    sent(store, 1, "Close the channel", "failed", NOW - timedelta(minutes=30))
    add_session(store, USDC_FEED, NOW - timedelta(minutes=5), 0, status="running")

    lines = recent_activity(store, USDC_FEED.network, SANDBOX_CHAIN)

    assert [line.text for line in lines] == [
        f"Session: {USDC_FEED.service_name} with {USDC_FEED.provider_name}, running",
        "Transaction: Close the channel, failed on chain (nothing moved but the fee)",
        f"Session: {USDC_FEED.service_name} with {USDC_FEED.provider_name}, 0.011626 USDC for 12 s",
        "Transaction: Deposit 1.8 USDC into your channel with PayGo Sandbox Provider, confirmed",
        "Wallet unlocked",
    ]
    assert [line.is_error for line in lines] == [False, True, False, False, False]
    assert [line.at for line in lines] == sorted((line.at for line in lines), reverse=True)
    assert lines[2].at == NOW - timedelta(minutes=59)  # a session's line is when it ended


def test_another_network_is_left_out_and_the_limit_keeps_the_newest(store: Store) -> None:
    video = add_session(store, ETH_VIDEO, NOW - timedelta(hours=1), 10**15)
    ended(store, video, seconds=1, at=NOW)
    with store.session() as s:  # on another network
        s.execute(update(SessionRow).where(SessionRow.id == video).values(network="base"))
    sent(store, 0, "Deposit on Base", "confirmed", NOW, chain_id=8453)
    ActivityLog(store).record("network", "Switched to Base", network="base", at=NOW)
    for minute in range(20):
        ActivityLog(store).record(
            "x402", f"Paid request {minute}", network=USDC_FEED.network, at=NOW - timedelta(minutes=minute)
        )

    lines = recent_activity(store, USDC_FEED.network, SANDBOX_CHAIN, limit=12)

    assert [line.text for line in lines] == [f"Paid request {m}" for m in range(12)]


def test_a_failed_session_says_why_and_an_interrupted_one_is_flagged(store: Store) -> None:
    failed = add_session(store, USDC_FEED, NOW - timedelta(hours=2), 5_000, status="failed")
    ended(store, failed, seconds=5, at=NOW - timedelta(hours=2), reason="The provider stopped answering")
    add_session(store, USDC_FEED, NOW - timedelta(hours=1), 3_000, status="interrupted")

    lines = recent_activity(store, USDC_FEED.network, SANDBOX_CHAIN)

    assert [(line.text.split(", ", 1)[1], line.is_error) for line in lines] == [
        ("interrupted, to be settled with the provider at the next start", True),
        ("0.005 USDC for 5 s; stopped: The provider stopped answering", False),
    ]


def test_a_long_amount_is_shortened_and_says_so(store: Store) -> None:
    video = add_session(store, ETH_VIDEO, NOW - timedelta(hours=1), 1_234_567_891_234_567_891)
    ended(store, video, seconds=600, at=NOW)
    started = add_session(store, USDC_FEED, NOW - timedelta(hours=2), 0, status="failed")
    ended(store, started, seconds=0, at=NOW - timedelta(hours=2))  # refused at its start: no time metered

    lines = recent_activity(store, USDC_FEED.network, SANDBOX_CHAIN)

    assert [line.text.split(", ", 1)[1] for line in lines] == ["≈ 1.234567 ETH for 10 min 0 s", "0 USDC"]


HOSTILE = "Evil\u202eredivorP\n\tFake: 0 USDC\u200b\u2066" + "x" * 10_000


def test_hostile_names_make_one_readable_line_each(store: Store) -> None:
    """A provider and a service named with 10,000 characters, line breaks, tabs, a bidi override, isolates
    and zero-width characters; a stop reason and a transaction's description the same: each line is one
    line of visible characters, each name cut with "…"."""
    from dataclasses import replace

    from paygo_desktop.peer_text import NAME_CHARS
    from paygo_desktop.reports.recent_activity import PART_CHARS

    hostile = replace(USDC_FEED, provider_name=HOSTILE, service_name="Feed\r\n" + HOSTILE)
    session = add_session(store, hostile, NOW - timedelta(hours=1), 11_626, status="failed")
    ended(store, session, seconds=12, at=NOW - timedelta(minutes=59), reason=HOSTILE)
    sent(
        store, 0, "Deposit 1 USDC into the escrow channel with " + HOSTILE, "failed", NOW - timedelta(hours=2)
    )
    ActivityLog(store).record("x402", "Paid " + HOSTILE, at=NOW - timedelta(hours=3))

    lines = [line.text for line in recent_activity(store, USDC_FEED.network, SANDBOX_CHAIN)]

    assert len(lines) == 3
    for text in lines:
        assert text.isprintable() and "  " not in text  # no control, bidi or zero-width character; one space
    seen = "Evil redivorP Fake: 0 USDC " + "x" * 10_000  # as it reads once made one line
    name, service = seen[: NAME_CHARS - 1] + "…", ("Feed " + seen)[: NAME_CHARS - 1] + "…"
    assert lines[0].startswith(
        f"Session: {service} with {name}, 0.011626 USDC for 12 s; stopped: Evil redivorP"
    )
    assert len(lines[0]) < 2 * NAME_CHARS + 2 * PART_CHARS
    assert lines[1].startswith("Transaction: Deposit 1 USDC into the escrow channel with Evil redivorP Fake")
    assert (
        lines[1].endswith("…, failed on chain (nothing moved but the fee)") and len(lines[1]) < 2 * PART_CHARS
    )
    assert lines[2].startswith("Paid Evil redivorP Fake: 0 USDC xxx") and len(lines[2]) == PART_CHARS
