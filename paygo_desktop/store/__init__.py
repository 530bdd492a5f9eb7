"""The local store: SQLite through SQLAlchemy 2, upgraded by Alembic migrations. Public data only."""

from paygo_desktop.store.database import Store, StoreError

__all__ = ["Store", "StoreError"]
