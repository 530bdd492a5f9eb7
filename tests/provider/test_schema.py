"""The provider's schema comes from its own migrations, the same on SQLite and PostgreSQL; an old SQLite
database is upgraded in place, keeping its rows; a newer one is refused unchanged."""

from __future__ import annotations

import sqlite3
import threading
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text

from paygo_desktop.provider import schema
from paygo_desktop.provider.job_store import JobsBase
from paygo_desktop.provider.store import Base, ChannelRow, DatabaseError, SessionRow, Store
from paygo_desktop.provider.zcash_store import ZcashBase

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "fixtures" / "provider_schema_before_migrations.sql"


def models() -> MetaData:
    metadata = MetaData()
    for base in (Base, ZcashBase, JobsBase):
        for table in base.metadata.tables.values():
            table.to_metadata(metadata)
    return metadata


def differences(store: Store) -> list[object]:
    """What the migrated database lacks or has beyond the models (tables, columns, types, indexes)."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, kind, *_: name != schema.VERSION_TABLE,
            },
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLite's reflection skips the expression index, with a warning
            return list(compare_metadata(context, models()))


def test_the_head_revision_is_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(schema.alembic_config())
    assert script.get_current_head() == schema.SCHEMA_HEAD


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_new_database_gets_the_models_schema(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "provider.sqlite3") if kind == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url)
    try:
        assert store.dialect == kind
        assert differences(store) == []
        with store.engine.connect() as conn:
            assert schema.revision(conn) == schema.SCHEMA_HEAD
            if kind == "postgresql":  # SQLite's reflection cannot see an expression index
                indexes = {i["name"] for i in inspect(conn).get_indexes("provider_sessions")}
                assert "ix_provider_sessions_due" in indexes
    finally:
        store.close()


def legacy_database(path: Path, *, without_close_deadline: bool) -> None:
    """A database as create_all made it before the migrations (optionally from before close_deadline)."""
    ddl = LEGACY.read_text()
    if without_close_deadline:
        ddl = ddl.replace("\tclose_deadline INTEGER, \n", "").replace("\tclose_deadline INTEGER,\n", "")
        assert "close_deadline" not in ddl
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    conn.execute(
        "INSERT INTO provider_sessions VALUES ('s_old', 'svc', '0x' || hex(zeroblob(32)), '0xabc', 'USDC', "
        "'1000', 'per_second', 5, 5, 'ended', 1.0, 2.0, 2.0, '0', '5000', 3, 'token-old', NULL)"
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("without_close_deadline", [False, True])
def test_a_sqlite_database_from_before_the_migrations_is_upgraded_in_place(
    tmp_path: Path, without_close_deadline: bool
) -> None:
    path = tmp_path / "provider.sqlite3"
    legacy_database(path, without_close_deadline=without_close_deadline)
    store = Store(path)
    try:
        with store.engine.connect() as conn:
            assert schema.revision(conn) == schema.SCHEMA_HEAD
            columns = {c["name"] for c in inspect(conn).get_columns("provider_channels")}
            assert "close_deadline" in columns
            assert inspect(conn).has_table("provider_workers")
            due = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'ix_provider_sessions_due'"))
            assert due.first() is not None
        with store.tx() as db:  # the rows are kept
            old = db.get(SessionRow, "s_old")
            assert old is not None and old.cumulative == "5000" and old.access_token == "token-old"
    finally:
        store.close()
    Store(path).close()  # and a second open finds it at the head


def test_a_database_written_by_a_newer_provider_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "provider.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="newer provider"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT version_num FROM {schema.VERSION_TABLE}").fetchone() == ("9999",)
    conn.close()


def test_workers_starting_together_migrate_a_postgres_database_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    store = Store(pg_url)
    try:
        assert differences(store) == []
        with store.engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {schema.VERSION_TABLE}")).scalar() == 1
    finally:
        store.close()


def test_a_migration_walks_down_and_up_on_both(tmp_path: Path, pg_url: str) -> None:
    from alembic import command

    for url in (str(tmp_path / "provider.sqlite3"), pg_url):
        store = Store(url)
        try:
            with store.engine.begin() as conn:
                command.downgrade(schema.alembic_config(connection=conn), "0001")
            with store.engine.connect() as conn:
                assert schema.revision(conn) == "0001" and not inspect(conn).has_table("provider_workers")
            schema.upgrade(store.engine, postgres=store.is_postgres, shown=store.shown)
            assert differences(store) == []
        finally:
            store.close()


def test_a_sqlite_upgrade_that_fails_half_way_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """The last step (recording the new revision) is refused: what the migration had already built is
    rolled back with it, the database stays at its old revision and a later upgrade goes through (SQLite's
    driver used to commit each CREATE on its own)."""
    from alembic import command

    path = tmp_path / "provider.sqlite3"
    store = Store(path)
    with store.engine.begin() as conn:
        command.downgrade(schema.alembic_config(connection=conn), "0004")
    store.close()
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TRIGGER refuse_new_revision BEFORE UPDATE ON {schema.VERSION_TABLE} "
        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
    )
    conn.commit()
    before = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)
    conn.close()

    with pytest.raises(DatabaseError, match="left as it is"):
        Store(path)

    conn = sqlite3.connect(path)
    assert sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str) == before
    assert conn.execute(f"SELECT version_num FROM {schema.VERSION_TABLE}").fetchone() == ("0004",)
    conn.execute("DROP TRIGGER refuse_new_revision")
    conn.commit()
    conn.close()
    Store(path).close()  # the next start upgrades it


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0007_indexes_the_channels_signers_and_keeps_the_channels(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A database at 0006 with a channel in it: 0007 adds the signer index (``Store.has_stake`` asks it on
    every signed request while the nonces are at their cap), the channel stays, and the way down drops it."""
    from alembic import command

    url = str(tmp_path / "provider.sqlite3") if kind == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url)

    def signer_indexed() -> bool:
        with store.engine.connect() as conn:
            names = {i["name"] for i in inspect(conn).get_indexes("provider_channels")}
        return "ix_provider_channels_signer" in names

    try:
        with store.engine.begin() as conn:
            command.downgrade(schema.alembic_config(connection=conn), "0006")
        assert not signer_indexed()
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO provider_channels (id, payer, signer, provider, token, withdraw_delay, "
                    "salt, last_cumulative, last_seq, claimed_cumulative) VALUES ('0xc', '0xpayer', "
                    "'0xsigner', '0xprovider', '0xtoken', 86400, '0xsalt', '7000', 2, '0')"
                )
            )
        schema.upgrade(store.engine, postgres=store.is_postgres, shown=store.shown)
        with store.engine.connect() as conn:
            assert schema.revision(conn) == schema.SCHEMA_HEAD
        assert signer_indexed()
        assert differences(store) == []
        with store.tx() as db:
            kept = db.get(ChannelRow, "0xc")
            assert kept is not None and kept.last_cumulative == "7000" and kept.signer == "0xsigner"
            assert Store.has_stake(db, "0xsigner") and not Store.has_stake(db, "0xstranger")
        with store.engine.begin() as conn:
            command.downgrade(schema.alembic_config(connection=conn), "0006")
        assert not signer_indexed()
    finally:
        store.close()
