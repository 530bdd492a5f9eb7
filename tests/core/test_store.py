import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from paygo_desktop.networks import custom_network
from paygo_desktop.store import Store, StoreError
from paygo_desktop.store.accounts import AccountRecord, AccountRepository
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.database import SCHEMA_HEAD, alembic_config
from paygo_desktop.store.networks import NetworkRepository


def test_schema_head_constant_matches_the_migrations():
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def test_new_database_is_at_head_with_wal_and_foreign_keys(tmp_path):
    """WAL, foreign keys, and commits that survive a power cut (synchronous FULL: a commit the app acted
    on, a voucher recorded before it was sent, is on the disk; a power cut cannot be made here, so the
    setting itself is what is checked)."""
    store = Store.open(tmp_path / "db.sqlite3")
    assert store.revision() == SCHEMA_HEAD
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    assert os.stat(tmp_path / "db.sqlite3").st_mode & 0o777 == 0o600


def test_accounts_keep_their_order_and_labels(tmp_path):
    repo = AccountRepository(Store.open(tmp_path / "db.sqlite3"))
    repo.add(AccountRecord("0x00000000000000000000000000000000000000B1", "Main", "hd", "b1.json", 0))
    repo.add(AccountRecord("0x00000000000000000000000000000000000000a2", "Spare", "private_key", "a2.json"))
    repo.rename("0x00000000000000000000000000000000000000b1", "Everyday")
    assert [(a.label, a.kind) for a in repo.list()] == [("Everyday", "hd"), ("Spare", "private_key")]
    assert repo.next_hd_index() == 1


def test_custom_networks_join_the_builtin_ones(tmp_path):
    repo = NetworkRepository(Store.open(tmp_path / "db.sqlite3"))
    vault = "0x00000000000000000000000000000000000000Aa"
    repo.save_custom(custom_network("My node", "http://127.0.0.1:9999", 1337, vault_address=vault))
    keys = [n.key for n in repo.all()]
    assert keys == ["sandbox", "base-sepolia", "base", "custom-my-node"]
    assert repo.get("custom-my-node").chain_id == 1337
    assert repo.get("custom-my-node").vault_address == vault


def test_activity_log_newest_first(tmp_path):
    log = ActivityLog(Store.open(tmp_path / "db.sqlite3"))
    log.record("wallet", "Wallet created", at=datetime(2026, 1, 1, tzinfo=UTC))
    log.record("wallet", "Unlocked", at=datetime(2026, 1, 2, tzinfo=UTC))
    assert [e.message for e in log.recent()] == ["Unlocked", "Wallet created"]


def test_upgrade_from_the_first_revision_keeps_the_data(tmp_path):
    path = tmp_path / "db.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0001")
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (address, label, kind, hd_index, keystore_file, created_at) "
                "VALUES ('0x00000000000000000000000000000000000000c3', 'Old', 'hd', 0, 'c3.json', "
                "'2025-05-01 10:00:00'), ('0x00000000000000000000000000000000000000d4', 'Older', "
                "'keystore', NULL, 'd4.json', '2025-05-02 10:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO networks (key, name, chain_id, rpc_url, explorer_url, created_at) "
                "VALUES ('custom-lab', 'Lab', 777, 'http://127.0.0.1:1', NULL, '2025-05-01 10:00:00')"
            )
        )
    old.close()

    store = Store.open(path)
    assert store.revision() == SCHEMA_HEAD
    accounts = AccountRepository(store).list()
    assert [(a.address[-2:], a.label, a.kind, a.hd_index) for a in accounts] == [
        ("c3", "Old", "hd", 0),
        ("d4", "Older", "keystore", None),
    ]
    assert NetworkRepository(store).get("custom-lab").chain_id == 777
    ActivityLog(store).record("store", "upgraded")
    # a copy of the old database was kept before the upgrade
    backup = tmp_path / f"db.sqlite3.before-{SCHEMA_HEAD}"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (2,)


def test_database_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version"):
        Store.open(path)
    assert path.read_bytes() == before


def test_corrupt_database_gives_a_clear_error_and_stays(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"this is not sqlite at all" * 100


def test_migrations_build_exactly_the_tables_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from paygo_desktop.store.models import Base

    store = Store.open(tmp_path / "paygo.db")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.close()


def _schema(path):
    """Every table's columns, indexes, foreign keys, checks and rowid as SQLite reports them (column order
    aside), and every trigger's full SQL."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        schema: dict[str, object] = {
            f"trigger {name} on {table}": sql
            for name, table, sql in conn.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type='trigger'"
            )
        }
        for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type='table'"):
            schema[sql.split("(")[0].strip()] = (
                re.findall(r"CHECK \(.*\)", sql),
                sql.rstrip().endswith("WITHOUT ROWID"),
            )
        for table in tables:
            columns = sorted(tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info('{table}')"))
            indexes = sorted(
                (r[1], r[2], r[3], tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')")))
                for r in conn.execute(f"PRAGMA index_list('{table}')")
            )
            keys = sorted(tuple(r[2:]) for r in conn.execute(f"PRAGMA foreign_key_list('{table}')"))
            schema[table] = (columns, indexes, keys)
        return schema
    finally:
        conn.close()


def test_a_new_database_gets_the_schema_the_migrations_build_without_loading_alembic(tmp_path):
    """A new database is created from the models and stamped at head (fast start-up); it must be the very
    database that running every migration gives: same columns, types, defaults, indexes, foreign keys."""
    fresh = tmp_path / "fresh.sqlite3"
    code = (
        "import sys; from pathlib import Path; from paygo_desktop.store import Store; "
        f"Store.open(Path({str(fresh)!r})).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    migrated = tmp_path / "migrated.sqlite3"
    store = Store.open(migrated, upgrade=False)
    store.upgrade_to("head")
    assert store.revision() == SCHEMA_HEAD
    store.close()
    assert Store.open(fresh).revision() == SCHEMA_HEAD
    assert _schema(fresh) == _schema(migrated)
    triggers = {key for key in _schema(fresh) if key.startswith("trigger ")}
    assert triggers == {
        f"trigger {table}_{w} on spending"
        for table in ("spending_slots", "spending_session_spans")
        for w in ("insert", "delete", "update")
    }


def test_an_upgrade_that_fails_half_way_leaves_the_database_as_it_was(tmp_path):
    """Every migration runs, then the last step (recording the new revision) is refused: the tables and
    triggers the migrations had already made are rolled back with it, so the database is still exactly the
    old one (before, Python's sqlite3 driver committed each CREATE on its own: a half-upgraded database,
    marked old, that no later upgrade could finish)."""
    path = tmp_path / "db.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0012")
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_new_revision BEFORE UPDATE ON alembic_version "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
        )
    before = _schema(path)

    with pytest.raises(StoreError, match="left as it is"):
        Store.open(path)

    assert _schema(path) == before  # no spending_slots, no new triggers
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0012",)
        conn.execute("DROP TRIGGER refuse_new_revision")
    assert Store.open(path).revision() == SCHEMA_HEAD  # and the next upgrade goes through
