"""A session's life in the words the store, the engine and the GUI share: its status (the sessions
table's column, ``store.models.SessionStatus``) and the events the engine reports.

Both are ``StrEnum``s: the store keeps their values as they are, the headless command prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from paygo_desktop.changes import NOTHING, Changes
from paygo_desktop.store.models import OPEN_STATUSES, SessionStatus

__all__ = ["OPEN_STATUSES", "EventKind", "SessionEvent", "SessionStatus"]


class EventKind(StrEnum):
    STARTED = "started"
    VOUCHER = "voucher"
    ACKED = "acked"
    LOW_FUNDS = "low_funds"
    STOPPED = "stopped"
    FAILED = "failed"
    RECEIPT_INVALID = "receipt_invalid"  # a session's end, as its status
    CLAIMED = "claimed"
    FALLBACK = "fallback"  # a Zcash permission ran out; the event names the escrow session that continues
    TRANSACTION = "transaction"  # a deposit's progress, or an earlier transaction sent again (no session)
    # a provider went back on an ended session's receipt (the event names that session): rebooked
    RECEIPT_BROKEN = "receipt_broken"

    @classmethod
    def ending(cls, status: SessionStatus) -> EventKind:
        """The event that reports a session's end with ``status``."""
        return cls(status.value)

    @property
    def changes(self) -> Changes:
        return _CHANGES.get(self, NOTHING)


_ENDED = Changes(sessions=True, channels=True, spending=True)
_CHANGES = {
    EventKind.STARTED: _ENDED,
    EventKind.ACKED: Changes(spending=True),
    EventKind.STOPPED: _ENDED,
    EventKind.FAILED: _ENDED,
    EventKind.RECEIPT_INVALID: _ENDED,
    EventKind.RECEIPT_BROKEN: _ENDED,
    EventKind.CLAIMED: Changes(channels=True),
    EventKind.FALLBACK: Changes(sessions=True),
    EventKind.TRANSACTION: Changes(transactions=True, channels=True, balances=True),
}


@dataclass(frozen=True)
class SessionEvent:
    kind: EventKind
    local_id: str  # empty for a transaction of no session
    message: str
    changes: Changes = NOTHING  # what it changed beyond its kind's (a Zcash session: the permission)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", self.changes | self.kind.changes)
