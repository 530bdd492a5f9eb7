"""Opening the store: one SQLite file (WAL, foreign keys on), upgraded to the current schema on open.

Before an upgrade touches an existing database, a copy is taken beside it (``*.before-<revision>``). The
upgrade itself is one SQLite transaction, schema changes included: a migration that fails, or a process
killed half-way, leaves the database exactly as it was, at its old revision (Python's ``sqlite3`` driver
would otherwise commit each CREATE, DROP and ALTER on its own, leaving a half-upgraded database no later
upgrade can finish; ``store/sqlite_upgrades.py``). A database written by a newer version of the app is
refused.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from paygo_desktop.errors import UserFacingError
from paygo_desktop.store.revision import SCHEMA_HEAD

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Alembic's own bookkeeping table, as Alembic creates it (a new database is stamped without loading Alembic)
ALEMBIC_VERSION_TABLE = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


class StoreError(UserFacingError):
    """The database file cannot be used; the message names it and says why."""


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: each commit reaches the disk before it returns. The app writes what it is about to do before
    # it does it (a voucher before it is sent, an x402 payment, a transaction before it is broadcast), and
    # a power cut must not take back a commit the app acted on; NORMAL survives a kill, not a power cut.
    # A commit costs ~0.4 ms more (a WAL fsync; docs/performance.md), a few times a second at most.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config(engine: Engine | None = None, connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Store:
    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, path: Path, *, upgrade: bool = True) -> Store:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists() and path.stat().st_size > 0
        engine = create_engine(f"sqlite:///{path}", future=True)
        event.listen(engine, "connect", _on_connect)
        store = cls(path, engine)
        try:
            current = store.revision()
            if upgrade and current is None and store._is_empty():
                store._create_at_head()
            elif upgrade and current != SCHEMA_HEAD:
                store._upgrade(current, backup=existed)
        except (DatabaseError, OperationalError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            raise StoreError(
                f"The database {path} cannot be read ({_short(exc)}). It was left as it is; "
                "move it aside to start with an empty one."
            ) from None
        except StoreError:
            engine.dispose()
            raise
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        return store

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            exists = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'")
            ).first()
            if not exists:
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return row[0] if row else None

    def _is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM sqlite_master LIMIT 1")).first() is None

    def _create_at_head(self) -> None:
        """A new database: the tables straight from the models, stamped at the newest revision, in one
        transaction. Running every migration instead loads Alembic and replays the history (0.24 s);
        migrations are for upgrading an existing database. A test checks both give the same schema."""
        from paygo_desktop.store.models import Base

        log.info("creating database %s at schema %s", self.path.name, SCHEMA_HEAD)
        with self.engine.begin() as conn:
            Base.metadata.create_all(conn)
            conn.execute(text(ALEMBIC_VERSION_TABLE))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": SCHEMA_HEAD})

    def _upgrade(self, current: str | None, *, backup: bool) -> None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
            raise StoreError(
                f"The database {self.path} was written by a newer version of PayGo Desktop "
                f"(schema {current}). Update the app to open it; nothing was changed."
            )
        if backup and current is not None:
            self._backup(self.path.with_name(f"{self.path.name}.before-{script.get_current_head()}"))
        log.info("upgrading database %s from %s to %s", self.path.name, current, script.get_current_head())
        self.upgrade_to("head")

    def upgrade_to(self, revision: str) -> None:
        """Move the schema to ``revision`` in one transaction: all of it, or nothing (tests use it to build
        an old database)."""
        from alembic import command

        from paygo_desktop.store.sqlite_upgrades import BrokenReference, check_foreign_keys, upgrading_engine

        engine = upgrading_engine(f"sqlite:///{self.path}")
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(connection=conn), revision)
                check_foreign_keys(conn)
        except BrokenReference as exc:
            raise StoreError(f"Upgrading the database {self.path}: {exc}; it was left as it is.") from None
        finally:
            engine.dispose()
        self.engine.dispose()  # the store's own connections see the new schema from a fresh start

    def _backup(self, target: Path) -> None:
        source = sqlite3.connect(self.path)
        try:
            dest = sqlite3.connect(target)
            with dest:
                source.backup(dest)
            dest.close()
        finally:
            source.close()
        target.chmod(0o600)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0][:120]
