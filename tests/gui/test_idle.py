"""The idle watcher's arithmetic on an injected clock: when the app counts as idle, and never at 0 minutes.
(The lock that follows, on real events and timers, is in test_lock.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.gui.idle import IdleWatcher


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watcher(minutes: int, clock: FakeClock) -> IdleWatcher:
    return IdleWatcher(lambda: minutes * 60.0, clock=clock)


def test_idle_after_the_minutes_without_activity(qapp: Any) -> None:
    clock = FakeClock()
    policy = watcher(5, clock)
    assert policy.seconds_until_idle() == 300
    clock.now += 299
    assert not policy.is_idle()
    policy.note_activity()
    clock.now += 299
    assert policy.seconds_until_idle() == 1
    clock.now += 1
    assert policy.is_idle()
    clock.now += 100
    assert policy.seconds_until_idle() == 0


def test_zero_minutes_never_counts_as_idle(qapp: Any) -> None:
    clock = FakeClock()
    policy = watcher(0, clock)
    clock.now += 10**9
    assert policy.seconds_until_idle() is None
    assert not policy.is_idle()
    with pytest.raises(ValueError):
        watcher(-1, clock).seconds_until_idle()
