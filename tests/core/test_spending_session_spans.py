"""Each session's spending per slot and per UTC day (``spending_session_spans``) always equals the records'
own sums and counts, to the base unit: after inserts, deletes and updates (of the amount, as a receipt's
correction does; of the time, the asset, the session, the names), on a new database and on one upgraded
from 0015, and after the writing process is killed with SIGKILL mid-transaction."""

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
from paygo_desktop.store.models import DAY_SECONDS, NO_SESSION, SLOT_SECONDS, SessionRow, SpendingRow
from paygo_desktop.store.spending import join_amount, spending_row, split_amount
from tests.reports.spending_data import (
    ETH_VIDEO,
    USDC_FEED,
    USDC_GPU,
    USDC_NEWS,
    Spent,
    add_session,
    entry,
    write,
)

KINDS = (USDC_FEED, USDC_GPU, USDC_NEWS, ETH_VIDEO)
START = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # half an hour before a UTC midnight
Key = tuple[str, int, int, int, str, str, str, str, str]


def expected_spans(store: Store) -> dict[Key, tuple[int, int]]:
    """Each (asset, width, start, session, names)'s total and record count, computed in Python from the
    records themselves."""
    found: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    with store.session() as s:
        for row in s.scalars(select(SpendingRow)):
            seconds = (row.at.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
            for width in (SLOT_SECONDS, DAY_SECONDS):
                key = (
                    row.asset_key,
                    width,
                    seconds - seconds % width,
                    row.session_id or NO_SESSION,
                    row.provider_url,
                    row.service_id,
                    row.category,
                    row.service_name,
                    row.provider_name,
                )
                found[key][0] += join_amount(row.amount_giga, row.amount_rem)
                found[key][1] += 1
    return {key: (units, count) for key, (units, count) in found.items()}


def kept_spans(store: Store) -> dict[Key, tuple[int, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT asset_key, width, start, session, provider_url, service_id, category, service_name, "
                "provider_name, amount_giga, amount_rem, records FROM spending_session_spans"
            )
        ).all()
    kept = {}
    for *key, giga, rem, records in rows:
        assert isinstance(giga, int) and isinstance(rem, int)  # never a float
        kept[tuple(key)] = (join_amount(giga, rem), records)
    return kept  # type: ignore[return-value]


amounts = st.one_of(
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**26),  # 100 million ETH in wei: far past 2**63
    st.sampled_from([0, 10**9 - 1, 10**9, 10**9 + 1]),
)
# around a UTC midnight and several slot edges, on, just before and just after them
moments = st.builds(
    lambda seconds, micro: START + timedelta(seconds=seconds, microseconds=micro),
    st.integers(min_value=-2 * SLOT_SECONDS, max_value=8 * SLOT_SECONDS),
    st.sampled_from([0, 1, 999_999, 500_000]),
)
sessions = st.one_of(st.none(), st.integers(min_value=0, max_value=3))  # an index into three sessions
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.sampled_from(KINDS), moments, amounts, sessions),
        st.tuples(st.just("delete"), st.integers(min_value=0)),
        st.tuples(st.just("amount"), st.integers(min_value=0), amounts),
        st.tuples(st.just("move"), st.integers(min_value=0), moments),
        st.tuples(st.just("asset"), st.integers(min_value=0), st.sampled_from(KINDS)),
        st.tuples(st.just("session"), st.integers(min_value=0), sessions),
        st.tuples(st.just("rename"), st.integers(min_value=0)),
        st.tuples(st.just("end session"), st.integers(min_value=0, max_value=3)),
    ),
    min_size=1,
    max_size=40,
)


def _session_ids(store: Store) -> list[int]:
    return [add_session(store, kind, START, 0) for kind in KINDS[:3]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
@example(
    [("insert", USDC_FEED, START + timedelta(minutes=30, microseconds=-1), 5, 0)]
)  # 1 µs before midnight
@example([("insert", USDC_FEED, START, 5, 0), ("end session", 0)])  # the session deleted: spending SET NULL
@example([("insert", USDC_FEED, START, 5, 0), ("amount", 0, 0)])  # a receipt took it down to zero
def test_session_spans_equal_the_records_after_any_writes(ops: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "paygo.sqlite3")
        try:
            made = _session_ids(store)
            ids: list[int] = []
            for op in ops:
                with store.session() as s:
                    if op[0] == "end session":  # ON DELETE SET NULL fires the update trigger
                        s.execute(delete(SessionRow).where(SessionRow.id == made[op[1] % len(made)]))
                        continue
                    if op[0] == "insert":
                        _, kind, at, amount, session = op
                        sid = None if session is None else made[session % len(made)]
                        if sid is not None and s.get(SessionRow, sid) is None:
                            sid = None  # that session was deleted
                        row = spending_row(entry(kind, at, amount, sid))
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
                        values = {
                            c: getattr(row, c)
                            for c in (
                                "asset_key",
                                "asset_symbol",
                                "provider_url",
                                "provider_name",
                                "service_id",
                                "service_name",
                                "category",
                            )
                        }
                        s.execute(update(SpendingRow).where(where).values(**values))
                    elif op[0] == "session":
                        sid = None if op[2] is None else made[op[2] % len(made)]
                        if sid is not None and s.get(SessionRow, sid) is None:
                            continue
                        s.execute(update(SpendingRow).where(where).values(session_id=sid))
                    else:  # a provider renamed its service
                        s.execute(update(SpendingRow).where(where).values(service_name="Renamed"))
            assert kept_spans(store) == expected_spans(store)
        finally:
            store.close()


def test_the_app_s_own_writes_keep_the_session_spans(tmp_path: Path) -> None:
    """A voucher's record, the receipt's correction taking records down (to zero too) and adding one, a
    record of a deleted session."""
    store = Store.open(tmp_path / "paygo.sqlite3")
    session = add_session(store, USDC_FEED, START, 0)
    other = add_session(store, ETH_VIDEO, START, 0)
    write(
        store,
        [Spent(USDC_FEED, START + timedelta(minutes=7 * i), 10**24 + i, 0) for i in range(6)]
        + [Spent(ETH_VIDEO, START + timedelta(minutes=11 * i), 10**20, 1) for i in range(4)],
        [session, other],
    )
    with store.session() as s:
        local_id = s.scalar(select(SessionRow.local_id).where(SessionRow.id == session))
    history = SessionHistory(store)
    assert history.settle_spending(local_id, 3 * 10**24) < 0  # more recorded than the cost: rows lowered
    assert kept_spans(store) == expected_spans(store)
    assert history.settle_spending(local_id, 3 * 10**24 + 5) == 5  # less: a correction record added
    with store.session() as s:
        s.execute(delete(SessionRow).where(SessionRow.id == session))  # spending.session_id SET NULL
    spans = kept_spans(store)
    assert spans == expected_spans(store)
    usdc_days = [key for key in spans if key[1] == DAY_SECONDS and key[0].startswith("sandbox:USDC")]
    assert {key[3] for key in usdc_days} == {NO_SESSION}
    assert sum(units for key, (units, _) in spans.items() if key in usdc_days) == 3 * 10**24 + 5
    assert sum(records for key, (_, records) in spans.items() if key in usdc_days) == 7  # the zeros too
    store.close()


def test_upgrade_from_0015_fills_the_session_spans_from_the_records_already_there(tmp_path: Path) -> None:
    path = tmp_path / "paygo.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0015")
    ids = _session_ids(old)
    with old.session() as s:
        s.add_all(
            spending_row(
                entry(
                    kind,
                    START + timedelta(seconds=97 * i),
                    10**20 + i,
                    ids[i % 3] if kind is not ETH_VIDEO and i % 5 else None,  # some without a session
                )
            )
            for i, kind in enumerate(KINDS * 50)
        )
    old.close()
    store = Store.open(path)
    assert (tmp_path / "paygo.sqlite3.before-0016").exists()  # the copy taken before any upgrade
    spans = kept_spans(store)
    assert spans == expected_spans(store)
    for width in (SLOT_SECONDS, DAY_SECONDS):
        assert sum(count for key, (_, count) in spans.items() if key[1] == width) == 200
    assert {key[2] for key in spans if key[1] == DAY_SECONDS} == {
        int(datetime(2026, 3, d, tzinfo=UTC).timestamp()) for d in (1, 2)
    }
    with store.session() as s:  # and the triggers run from then on
        s.add(spending_row(entry(USDC_FEED, START, 3, ids[0])))
        s.execute(delete(SpendingRow).where(SpendingRow.id == 1))
        s.execute(update(SpendingRow).where(SpendingRow.id == 2).values(amount_giga=0, amount_rem=1))
    assert kept_spans(store) == expected_spans(store)
    store.close()


WRITER = """
import os, random, signal, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from sqlalchemy import delete, update
from paygo_desktop.store import Store
from paygo_desktop.store.models import SpendingRow
from paygo_desktop.store.spending import spending_row
from tests.reports.spending_data import ETH_VIDEO, USDC_FEED, add_session, entry

store = Store.open(Path(sys.argv[1]))
rnd = random.Random(5)
start = datetime(2026, 3, 1, tzinfo=UTC)
sessions = [add_session(store, USDC_FEED, start, 0) for _ in range(4)] + [None]
for n in range(6):  # five transactions committed; the sixth killed after its rows and triggers ran
    with store.session() as s:
        for _ in range(200):
            at = start + timedelta(seconds=rnd.randrange(2 * 86_400))
            row = spending_row(entry(rnd.choice((USDC_FEED, ETH_VIDEO)), at, rnd.randrange(10**22)))
            row.session_id = rnd.choice(sessions)
            s.add(row)
        s.flush()
        s.execute(delete(SpendingRow).where(SpendingRow.id % 7 == n))
        s.execute(update(SpendingRow).where(SpendingRow.id % 11 == n).values(amount_giga=0, amount_rem=n))
        s.flush()
        if n == 5:
            os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_transaction_leaves_session_spans_equal_to_the_records(tmp_path: Path) -> None:
    path = tmp_path / "paygo.sqlite3"
    Store.open(path).close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)], env=env, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    store = Store.open(path)
    spans = kept_spans(store)
    assert spans == expected_spans(store)
    with store.engine.connect() as conn:
        records = conn.execute(text("SELECT COUNT(*) FROM spending")).scalar_one()
    assert 500 < records < 1000  # five batches of 200 less what they deleted; nothing of the sixth
    for width in (SLOT_SECONDS, DAY_SECONDS):
        assert sum(count for key, (_, count) in spans.items() if key[1] == width) == records
    store.close()
