"""Whether the store lists a wallet, read with the stdlib ``sqlite3`` alone (no SQLAlchemy, no Alembic).

The first screen (lock screen or first-run wizard) depends only on this, and SQLAlchemy's import is most
of the time before it could be shown; so the app asks here first and opens the store (``Store.open``)
behind the lock screen. The wallet's accounts live in the ``accounts`` table, which every revision of the
schema has (0001 on). Only a clear answer is given: a database this version does not know (a newer one),
one that cannot be read, is locked or is half made answers ``None``, and the caller opens the store
first, as before, which says what is wrong. Read-only: the file is never created or changed here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from paygo_desktop.store.revision import is_known

PROBE_TIMEOUT_SECONDS = 0.2  # a database locked longer is left to Store.open (and its own wait)


def wallet_listed(database: Path) -> bool | None:
    """True: the database lists at least one account; False: there is no wallet (no database yet, an empty
    file, or a known schema with no account); None: it cannot be told without opening the store."""
    try:
        if not database.exists() or database.stat().st_size == 0:
            return False  # Store.open will create it
    except OSError:
        return None
    try:
        conn = sqlite3.connect(
            f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=PROBE_TIMEOUT_SECONDS
        )
    except sqlite3.Error:
        return None
    try:
        listed = (
            "SELECT name FROM sqlite_master WHERE type='table' AND name IN ('alembic_version', 'accounts')"
        )
        tables = {name for (name,) in conn.execute(listed)}
        if "alembic_version" not in tables:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is None or not isinstance(row[0], str) or not is_known(row[0]) or "accounts" not in tables:
            return None
        return conn.execute("SELECT EXISTS (SELECT 1 FROM accounts)").fetchone()[0] == 1
    except sqlite3.Error:
        return None
    finally:
        conn.close()
