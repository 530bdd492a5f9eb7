"""Schema upgrades of a SQLite database in one transaction, schema changes included: all of it, or nothing.

Python's ``sqlite3`` driver commits each CREATE, DROP and ALTER on its own, so a migration that fails half-way
(or a process killed in it) would leave a half-upgraded database, still marked with its old revision, that
no later upgrade can finish. ``upgrading_engine`` gives connections where the driver leaves transactions
to SQLAlchemy (``isolation_level = None``), which begins each with ``BEGIN IMMEDIATE`` (the write lock
first), so every statement of the upgrade is inside it. Foreign keys are off while it runs (a pragma that
cannot change inside a transaction; a table a migration rebuilds is dropped and renamed) and
``check_foreign_keys`` asks SQLite before the commit, as SQLite's own procedure for schema changes does.
Used by the app's store and by the reference provider's SQLite database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


class BrokenReference(Exception):
    """The upgrade would leave a row pointing at one that is not there: it is rolled back."""


def upgrading_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)

    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", begin)
    return engine


def check_foreign_keys(conn: Connection) -> None:
    """Raise ``BrokenReference`` (the caller's transaction then rolls back) if any reference is broken."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise BrokenReference(f"the upgrade would break a reference in table {broken[0]}")
