"""The store's newest schema revision, known without loading SQLAlchemy or Alembic.

Revisions are four-digit numbers, one a migration, in order ("0001" … ``SCHEMA_HEAD``); a test checks the
migrations folder against this, so ``is_known`` answers as Alembic's history would.
"""

from __future__ import annotations

# The newest migration's revision. Opening a database already at it skips loading Alembic.
SCHEMA_HEAD = "0016"


def is_known(revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations (not a newer version's)."""
    return len(revision) == 4 and revision.isdigit() and "0001" <= revision <= SCHEMA_HEAD
