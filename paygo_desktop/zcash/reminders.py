"""Renewal reminders for active permissions: expiry − 7 days, − 1 day, − 1 hour, and "hours running low".

``due(permission, now)`` is pure arithmetic on an injected ``now`` (Unix seconds): the reminders whose time
has come, each with a stable key. The permission book claims keys in the ``notices`` table, so each
reminder is shown once, also across restarts.

When several expiry reminders are due at once (the app was closed for days), only the most urgent one is
worth showing: ``due`` marks the others ``superseded`` so they are recorded as shown without being shown.
"Hours running low" means at most a fifth of the hours left, or less than one hour left.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from paygo_desktop.zcash.permissions import SECONDS_PER_HOUR, PermissionStatus
from paygo_desktop.zcash.terms_input import hours_text

DAY = 86400
# (key suffix, seconds before expiry, how the text says it) — least urgent first
EXPIRY_STEPS = (
    ("expiry-7d", 7 * DAY, "in 7 days"),
    ("expiry-1d", DAY, "in 1 day"),
    ("expiry-1h", SECONDS_PER_HOUR, "within the hour"),
)
LOW_FRACTION = 5  # low when remaining <= max / 5
LOW_SECONDS = SECONDS_PER_HOUR  # ... or below one hour


class RemindedPermission(Protocol):
    @property
    def provider_url(self) -> str: ...
    @property
    def provider_name(self) -> str: ...
    @property
    def permission_id(self) -> str: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def max_seconds(self) -> int: ...
    @property
    def remaining_seconds(self) -> int: ...
    @property
    def status(self) -> PermissionStatus: ...


@dataclass(frozen=True)
class Reminder:
    key: str
    title: str
    text: str
    superseded: bool = False  # record as shown, do not show (a more urgent one is shown instead)


def notice_key(provider_url: str, permission_id: str, what: str) -> str:
    """A key of at most 200 characters: the provider's URL hashed, the permission id, the reminder."""
    url = hashlib.sha256(provider_url.encode()).hexdigest()[:16]
    return f"zcash:{url}:{permission_id[:100]}:{what}"


def is_low(max_seconds: int, remaining_seconds: int) -> bool:
    if remaining_seconds <= 0:
        return False
    return remaining_seconds * LOW_FRACTION <= max_seconds or remaining_seconds < LOW_SECONDS


def due(permission: RemindedPermission, now: int) -> list[Reminder]:
    """The reminders whose time has come for ``permission`` at ``now`` (shown or not)."""
    if permission.status is not PermissionStatus.ACTIVE or now >= permission.expires_at:
        return []
    p = permission
    reminders: list[Reminder] = []
    passed = [step for step in EXPIRY_STEPS if now >= p.expires_at - step[1]]
    for index, (what, _lead, when) in enumerate(passed):
        reminders.append(
            Reminder(
                key=notice_key(p.provider_url, p.permission_id, what),
                title="Zcash permission expires soon",
                text=(
                    f"Your permission with {p.provider_name} expires {when}; "
                    f"{hours_text(p.remaining_seconds)} hours are unused. Create a new one on the Zcash "
                    "page to keep paying this way."
                ),
                superseded=index < len(passed) - 1,
            )
        )
    if is_low(p.max_seconds, p.remaining_seconds):
        reminders.append(
            Reminder(
                key=notice_key(p.provider_url, p.permission_id, "hours-low"),
                title="Zcash permission running low",
                text=(
                    f"Your permission with {p.provider_name} has {hours_text(p.remaining_seconds)} of "
                    f"{hours_text(p.max_seconds)} hours left. Create a new one on the Zcash page before it "
                    "runs out."
                ),
            )
        )
    return reminders
