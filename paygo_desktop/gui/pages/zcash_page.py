"""The Zcash page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class ZcashPage(EmptyPage):
    key = "zcash"
    title = "Zcash"
    empty_title = "No Zcash permissions"
    explanation = (
        "Zcash spending permissions let a service draw small amounts from a shielded account within"
        " limits you set. None have been granted."
    )
    what_appears = "Each permission, its limit, what it has spent and a way to revoke it will appear here."
