"""The Escrow page: an honest empty state until the feature exists."""

from __future__ import annotations

from paygo_desktop.gui.pages.placeholder_pages import EmptyPage


class EscrowPage(EmptyPage):
    key = "escrow"
    title = "Escrow"
    empty_title = "No escrow deposits"
    explanation = (
        "Escrow holds funds in the PayGo vault on your network so that signed vouchers can pay "
        "services. Nothing is deposited from this wallet."
    )
    what_appears = (
        "Your deposits, what vouchers have spent from them, and buttons to deposit and withdraw "
        "will appear here."
    )
