"""The local store: SQLite through SQLAlchemy 2, upgraded by Alembic migrations. Public data only.

Importing this package is cheap: SQLAlchemy loads with ``Store`` (on first access), so ``wallet_probe``
can answer before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paygo_desktop.store.database import Store, StoreError

__all__ = ["Store", "StoreError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from paygo_desktop.store import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
