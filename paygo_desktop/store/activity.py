"""The activity log: a short, human line for each thing that happened (wallet created, unlocked, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ActivityRow, utcnow


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    kind: str
    message: str
    account: str | None
    network: str | None
    is_error: bool


class ActivityLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self,
        kind: str,
        message: str,
        *,
        account: str | None = None,
        network: str | None = None,
        is_error: bool = False,
        at: datetime | None = None,
    ) -> None:
        with self._store.session() as s:
            s.add(activity_row(kind, message, account=account, network=network, is_error=is_error, at=at))

    def recent(self, limit: int = 50) -> list[ActivityEntry]:
        with self._store.session() as s:
            rows = s.scalars(
                select(ActivityRow).order_by(ActivityRow.at.desc(), ActivityRow.id.desc()).limit(limit)
            )
            return [
                ActivityEntry(r.at, r.kind, r.message, r.account, r.network, r.is_error) for r in rows.all()
            ]


def activity_row(
    kind: str,
    message: str,
    *,
    account: str | None = None,
    network: str | None = None,
    is_error: bool = False,
    at: datetime | None = None,
) -> ActivityRow:
    """One line of the activity log, for ``ActivityLog.record`` or for another write's own transaction."""
    return ActivityRow(
        at=at or utcnow(), kind=kind, message=message, account=account, network=network, is_error=is_error
    )
