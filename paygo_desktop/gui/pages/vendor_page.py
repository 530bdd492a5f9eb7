"""The Vendor page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class VendorPage(EmptyPage):
    key = "vendor"
    title = "Vendor"
    empty_title = "Not selling anything"
    explanation = (
        "As a vendor you could offer your own service and be paid by the second. Selling is not set"
        " up on this computer."
    )
    what_appears = "Your offered services, their prices and the payments you received will appear here."
