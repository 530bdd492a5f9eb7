"""What changed is announced once, from one place, and each page reads again only what it shows: at once
when it is on screen, at its next visit when it is not, and not at all for a visit with nothing new."""

from __future__ import annotations

from collections import Counter
from typing import Any

from paygo_desktop.changes import NOTHING, Changes
from paygo_desktop.gui.changes import ChangeAnnouncer


def test_a_burst_of_changes_is_announced_once(qtbot: Any) -> None:
    announcer = ChangeAnnouncer()
    seen: list[Changes] = []
    announcer.changed.connect(seen.append)
    announcer.announce(Changes(sessions=True))
    announcer.announce(Changes(spending=True))
    announcer.announce(NOTHING)
    qtbot.waitUntil(lambda: bool(seen), timeout=2_000)
    qtbot.wait(50)
    assert seen == [Changes(sessions=True, spending=True)]


def test_pages_read_again_only_what_changed(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    # the account in use is settled first: read in a worker after unlocking, and announced when it is set
    qtbot.waitUntil(lambda: window.ctx.settings.active_account is not None, timeout=5_000)
    qtbot.wait(50)
    reads: Counter[str] = Counter()
    for key in ("sessions", "settings"):  # pages are built when first asked for: build these two now
        window.pages[key]
    for key, page in window.pages.items():
        original = page.refresh
        page.refresh = lambda key=key, original=original: (reads.update([key]), original())
    window.show_page("sessions")
    window.show_page("settings")
    assert reads == Counter(sessions=1, settings=1)  # first visits read
    window.show_page("sessions")
    window.show_page("settings")
    assert reads == Counter(sessions=1, settings=1)  # nothing changed: a visit reads nothing
    window.changes.announce(Changes(sessions=True))
    qtbot.wait(50)
    assert reads["sessions"] == 1  # not on screen: read at the next visit
    window.show_page("sessions")
    assert reads["sessions"] == 2
    window.changes.announce(Changes(sessions=True))
    qtbot.waitUntil(lambda: reads["sessions"] == 3, timeout=2_000)  # on screen: read at once
    window.changes.announce(Changes(permissions=True))
    qtbot.wait(50)
    window.show_page("settings")
    window.show_page("sessions")
    assert reads == Counter(sessions=3, settings=1)  # neither shows permissions
