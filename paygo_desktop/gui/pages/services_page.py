"""The Services page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class ServicesPage(EmptyPage):
    key = "services"
    title = "Services"
    empty_title = "No services yet"
    explanation = "PayGo Desktop does not list services yet: service discovery is still being built."
    what_appears = (
        "Here you will find services you can pay for by the second, with each one's provider, price"
        " and a button to start a session."
    )
