"""Lock the wallet after some idle minutes. The clock is injectable so tests need not wait."""

from __future__ import annotations

import time
from collections.abc import Callable


class IdleLockPolicy:
    """``minutes`` of inactivity before the wallet should lock; 0 means never."""

    def __init__(self, minutes: int, clock: Callable[[], float] = time.monotonic) -> None:
        if minutes < 0:
            raise ValueError("minutes cannot be negative")
        self.minutes = minutes
        self._clock = clock
        self._last_activity = clock()

    def note_activity(self) -> None:
        self._last_activity = self._clock()

    def seconds_until_lock(self) -> float | None:
        """Seconds left before locking (0 when due); None when the policy never locks."""
        if self.minutes == 0:
            return None
        return max(0.0, self.minutes * 60 - (self._clock() - self._last_activity))

    def should_lock(self) -> bool:
        remaining = self.seconds_until_lock()
        return remaining is not None and remaining <= 0
