"""The Activity page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class ActivityPage(EmptyPage):
    key = "activity"
    title = "Activity"
    empty_title = "No payments yet"
    explanation = "This wallet has not paid for anything. Wallet events such as unlocking are listed on Home."
    what_appears = (
        "Every payment, voucher and deposit will appear here, newest first, with links to the block explorer."
    )
