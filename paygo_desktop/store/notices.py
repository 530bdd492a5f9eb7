"""Notices already shown (renewal reminders, low-hours warnings): each key is shown once, ever.

``claim(key)`` records a notice and says whether it was new, in one step: the key is unique in the
``notices`` table, so two checks racing each other, or a check after a restart, never show it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import NoticeRow, utcnow

MAX_KEY_LENGTH = 200


class NoticeLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, key: str, at: datetime | None = None) -> bool:
        """Record ``key`` as shown; True if it had not been shown before (the caller shows it now)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"a notice key is 1 to {MAX_KEY_LENGTH} characters")
        try:
            with self._store.session() as s:
                if s.scalar(select(NoticeRow.id).where(NoticeRow.key == key)) is not None:
                    return False
                s.add(NoticeRow(key=key, shown_at=at or utcnow()))
        except IntegrityError:  # claimed in between by another check
            return False
        return True

    def was_shown(self, key: str) -> bool:
        with self._store.session() as s:
            return s.scalar(select(NoticeRow.id).where(NoticeRow.key == key)) is not None
