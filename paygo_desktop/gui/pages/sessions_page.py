"""The Sessions page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class SessionsPage(EmptyPage):
    key = "sessions"
    title = "Sessions"
    empty_title = "No sessions"
    explanation = "A session is a running, pay-as-you-go use of a service. You have not started any."
    what_appears = (
        "Open and closed sessions will appear here with the service, the time used and what it cost."
    )
