"""The per-slot spending totals (``spending_slots``) always equal the records' own sums, to the base unit:
after inserts, deletes and updates of any amount (past 64 bits), on a new database and on one upgraded
from 0012, and after the writing process is killed with SIGKILL mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.store import Store
from paygo_desktop.store.models import SLOT_SECONDS, SessionRow, SpendingRow
from paygo_desktop.store.spending import join_amount, spending_row, split_amount
from tests.reports.spending_data import ETH_VIDEO, USDC_FEED, USDC_GPU, Spent, add_session, entry, write

KINDS = (USDC_FEED, USDC_GPU, ETH_VIDEO)  # two services of one asset, and another asset
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def expected_slots(store: Store) -> dict[tuple[str, int], tuple[int, int]]:
    """Each (asset, slot)'s total and record count, computed in Python from the records themselves."""
    found: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    with store.session() as s:
        for row in s.scalars(select(SpendingRow)):
            at = row.at.replace(tzinfo=UTC)
            seconds = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
            cell = found[(row.asset_key, seconds - seconds % SLOT_SECONDS)]
            cell[0] += join_amount(row.amount_giga, row.amount_rem)
            cell[1] += 1
    return {key: (units, count) for key, (units, count) in found.items()}


def kept_slots(store: Store) -> dict[tuple[str, int], tuple[int, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT asset_key, slot, amount_giga, amount_rem, records FROM spending_slots")
        ).all()
    for _, _, giga, rem, _ in rows:
        assert isinstance(giga, int) and isinstance(rem, int)  # never a float
    return {(key, slot): (join_amount(giga, rem), records) for key, slot, giga, rem, records in rows}


amounts = st.one_of(
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**26),  # 100 million ETH in wei: far past 2**63
    st.sampled_from([10**9 - 1, 10**9, 10**9 + 1]),
)
# seconds after START, and microseconds, so that records fall on, just before and just after slot edges
moments = st.builds(
    lambda seconds, micro: START + timedelta(seconds=seconds, microseconds=micro),
    st.integers(min_value=-2 * SLOT_SECONDS, max_value=8 * SLOT_SECONDS),
    st.sampled_from([0, 1, 999_999, 500_000]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.sampled_from(KINDS), moments, amounts),
        st.tuples(st.just("delete"), st.integers(min_value=0)),
        st.tuples(st.just("amount"), st.integers(min_value=0), amounts),
        st.tuples(st.just("move"), st.integers(min_value=0), moments),
        st.tuples(st.just("asset"), st.integers(min_value=0), st.sampled_from(KINDS)),
        st.tuples(st.just("session"), st.integers(min_value=0)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
@example(
    [("insert", USDC_FEED, START - timedelta(microseconds=1), 5)]
)  # 1 µs before an edge: the slot before
def test_slot_totals_equal_the_records_after_any_writes(ops: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "paygo.sqlite3")
        try:
            ids: list[int] = []
            for op in ops:
                with store.session() as s:
                    if op[0] == "insert":
                        _, kind, at, amount = op
                        row = spending_row(entry(kind, at, amount))
                        s.add(row)
                        s.flush()
                        ids.append(row.id)
                        continue
                    if not ids:
                        continue
                    target = ids[op[1] % len(ids)]
                    where = SpendingRow.id == target
                    if op[0] == "delete":
                        s.execute(delete(SpendingRow).where(where))
                        ids.remove(target)
                    elif op[0] == "amount":  # as a receipt's correction lowers a record
                        giga, rem = split_amount(op[2])
                        s.execute(update(SpendingRow).where(where).values(amount_giga=giga, amount_rem=rem))
                    elif op[0] == "move":
                        s.execute(update(SpendingRow).where(where).values(at=op[2]))
                    elif op[0] == "asset":
                        row = spending_row(entry(op[2], START, 1))
                        s.execute(
                            update(SpendingRow)
                            .where(where)
                            .values(asset_key=row.asset_key, asset_symbol=row.asset_symbol)
                        )
                    else:  # a column no slot depends on (as deleting a session sets session_id NULL)
                        s.execute(update(SpendingRow).where(where).values(provider_name="renamed"))
            assert kept_slots(store) == expected_slots(store)
        finally:
            store.close()


def test_the_app_s_own_writes_keep_the_slots(tmp_path: Path) -> None:
    """A voucher's record, the receipt's correction taking records down, a record of a deleted session."""
    store = Store.open(tmp_path / "paygo.sqlite3")
    session = add_session(store, USDC_FEED, START, 0)
    write(
        store,
        [Spent(USDC_FEED, START + timedelta(minutes=7 * i), 10**24 + i, 0) for i in range(6)],
        [session],
    )
    with store.session() as s:
        local_id = s.scalar(select(SessionRow.local_id).where(SessionRow.id == session))
    history = SessionHistory(store)
    assert history.settle_spending(local_id, 3 * 10**24) < 0  # more recorded than the cost: rows lowered
    assert history.settle_spending(local_id, 3 * 10**24 + 5) == 5  # less: a correction record added
    with store.session() as s:
        s.execute(delete(SessionRow).where(SessionRow.id == session))  # spending.session_id SET NULL
    slots = kept_slots(store)
    assert slots == expected_slots(store)
    assert sum(units for units, _ in slots.values()) == 3 * 10**24 + 5
    store.close()


def test_upgrade_from_0012_fills_the_slots_from_the_records_already_there(tmp_path: Path) -> None:
    path = tmp_path / "paygo.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0012")
    with old.session() as s:
        s.add_all(
            spending_row(entry(kind, START + timedelta(seconds=97 * i), 10**20 + i))
            for i, kind in enumerate(KINDS * 50)
        )
    old.close()
    store = Store.open(path)
    slots = kept_slots(store)
    assert slots == expected_slots(store)
    assert sum(count for _, count in slots.values()) == 150
    with store.session() as s:  # and the triggers run from then on
        s.add(spending_row(entry(USDC_FEED, START, 3)))
        s.execute(delete(SpendingRow).where(SpendingRow.id == 1))
    assert kept_slots(store) == expected_slots(store)
    store.close()


WRITER = """
import os, random, signal, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from sqlalchemy import delete
from paygo_desktop.store import Store
from paygo_desktop.store.models import SpendingRow
from paygo_desktop.store.spending import spending_row
from tests.reports.spending_data import ETH_VIDEO, USDC_FEED, entry

store = Store.open(Path(sys.argv[1]))
rnd = random.Random(5)
start = datetime(2026, 3, 1, tzinfo=UTC)
for n in range(6):  # five transactions committed; the sixth killed after its rows and triggers ran
    with store.session() as s:
        for _ in range(200):
            at = start + timedelta(seconds=rnd.randrange(86_400))
            s.add(spending_row(entry(rnd.choice((USDC_FEED, ETH_VIDEO)), at, rnd.randrange(10**22))))
        s.flush()
        s.execute(delete(SpendingRow).where(SpendingRow.id % 7 == n))
        s.flush()
        if n == 5:
            os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_transaction_leaves_slots_equal_to_the_records(tmp_path: Path) -> None:
    path = tmp_path / "paygo.sqlite3"
    Store.open(path).close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)], env=env, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    store = Store.open(path)
    slots = kept_slots(store)
    assert slots == expected_slots(store)
    with store.engine.connect() as conn:
        records = conn.execute(text("SELECT COUNT(*) FROM spending")).scalar_one()
    assert 500 < records < 1000  # five batches of 200 less what they deleted; nothing of the sixth
    assert sum(count for _, count in slots.values()) == records
    store.close()
