"""The first screen's question, answered from the database file with the stdlib sqlite3 alone: is there a
wallet? It must agree with the store at every schema revision, and leave every unclear case (a newer
schema, a corrupt or locked file) to ``Store.open``, which says what is wrong."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRecord, AccountRepository
from paygo_desktop.store.database import alembic_config
from paygo_desktop.store.revision import SCHEMA_HEAD, is_known
from paygo_desktop.store.wallet_probe import wallet_listed

REVISIONS = sorted(rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def test_known_revisions_are_exactly_the_migrations():
    numbered = [f"{n:04d}" for n in range(1, int(SCHEMA_HEAD) + 1)]
    assert numbered == REVISIONS
    assert all(is_known(rev) for rev in REVISIONS)
    assert not any(is_known(rev) for rev in ("0000", f"{int(SCHEMA_HEAD) + 1:04d}", "9999", "12", "abcd", ""))


def _add_account_row(path: Path) -> None:
    """One account, with whatever columns this revision's table requires (filled with plain values)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        columns = conn.execute("PRAGMA table_info(accounts)").fetchall()
        values = {"address": "0x00000000000000000000000000000000000000c3", "kind": "hd", "label": "Old"}
        names, params = [], []
        for _cid, name, type_, notnull, default, pk in columns:
            if pk or (not (notnull and default is None) and name not in values):
                continue
            names.append(name)
            text_type = "CHAR" in type_.upper() or "TEXT" in type_.upper() or "DATE" in type_.upper()
            params.append(values.get(name, "2025-05-01 10:00:00" if text_type else 1))
        marks = ", ".join("?" for _ in names)
        conn.execute(f"INSERT INTO accounts ({', '.join(names)}) VALUES ({marks})", params)


@pytest.mark.parametrize("revision", REVISIONS)
def test_agrees_with_the_store_at_every_revision(tmp_path: Path, revision: str) -> None:
    path = tmp_path / "db.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to(revision)
    old.close()
    assert wallet_listed(path) is False
    _add_account_row(path)
    before = path.read_bytes()
    assert wallet_listed(path) is True
    assert path.read_bytes() == before  # read only
    store = Store.open(path)  # upgraded to the head: the store sees the same wallet
    try:
        assert [a.label for a in AccountRepository(store).list()] == ["Old"]
    finally:
        store.close()
    assert wallet_listed(path) is True


def test_no_database_or_an_empty_one_means_no_wallet_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    assert wallet_listed(path) is False
    assert not path.exists()
    path.write_bytes(b"")
    assert wallet_listed(path) is False
    store = Store.open(path)
    try:
        assert wallet_listed(path) is False
        AccountRepository(store).add(
            AccountRecord("0x00000000000000000000000000000000000000B1", "M", "hd", "b.json", 0)
        )
        assert wallet_listed(path) is True  # written through the store's WAL, seen here
    finally:
        store.close()


def test_a_newer_schema_is_left_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()
    _add_account_row(path)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    assert wallet_listed(path) is None


def test_a_corrupt_file_or_a_table_without_a_revision_is_left_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    assert wallet_listed(path) is None
    assert path.read_bytes() == b"this is not sqlite at all" * 100
    other = tmp_path / "other.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO accounts DEFAULT VALUES")
    assert wallet_listed(other) is None


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")  # in WAL mode, only this keeps readers out
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def test_a_locked_file_is_left_to_the_store_quickly(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()
    _add_account_row(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), "5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert wallet_listed(path) is None
        assert time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()
