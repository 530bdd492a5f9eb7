"""The main window's pages: their order and names in the sidebar, and each one built the first time it is
shown (``PageBook``) from the window's services, wired to what the window does for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.gui.pages.base import Page

PAGE_ORDER = ("home", "services", "sessions", "jobs", "escrow", "zcash", "activity", "vendor", "settings")
# The sidebar's names, known before the pages (and the store they read) are loaded; build_page checks them.
PAGE_TITLES = {
    "home": "Home",
    "services": "Services",
    "sessions": "Sessions",
    "jobs": "Jobs",
    "escrow": "Escrow",
    "zcash": "Zcash",
    "activity": "Activity",
    "vendor": "Vendor",
    "settings": "Settings",
}


def build_page(window: MainWindow, key: str) -> Page:
    """Build one page (the first time it is asked for) and put it in the window's page stack."""
    page = _new_page(window, key)
    assert page.key == key, f"the page built for {key!r} is {page.key!r}"
    assert page.title == PAGE_TITLES[key], f"PAGE_TITLES[{key!r}] is not {page.title!r}"
    page.announcer = window.changes  # it announces what its own operations change
    window.changes.changed.connect(page.on_changes)  # and refreshes from what others announce
    window.pages_stack.addWidget(page)
    return page


def _new_page(window: MainWindow, key: str) -> Page:
    page: Page
    if key == "home":
        from paygo_desktop.gui.pages.home_page import HomePage

        home = HomePage(window.ctx, runner=window.runner, live_sessions=window.sessions.live)
        home.active_account_chosen.connect(window.set_active_account)
        page = home
    elif key == "services":
        from paygo_desktop.gui.pages.services_page import ServicesPage

        page = ServicesPage(
            window.ctx, window.runner, start_session=window.start_session, live_sessions=window.sessions.live
        )
    elif key == "sessions":
        from paygo_desktop.gui.pages.sessions_page import SessionsPage

        page = SessionsPage(window.sessions)
    elif key == "jobs":
        from paygo_desktop.gui.pages.jobs_page import JobsPage

        page = JobsPage(window.ctx, window.runner, window.wallet)
    elif key == "escrow":
        from paygo_desktop.gui.pages.escrow_page import EscrowPage

        page = EscrowPage(window.ctx, window.runner, window.wallet)
    elif key == "zcash":
        from paygo_desktop.gui.pages.zcash_page import ZcashPage

        page = ZcashPage(window.ctx, window.runner, window.notifier)
    elif key == "activity":
        from paygo_desktop.gui.pages.activity_page import ActivityPage

        page = ActivityPage(
            window.ctx, window.runner, x402_proxy=window.x402_proxy, x402_lapsed=window.x402_lapsed
        )
    elif key == "vendor":
        from paygo_desktop.gui.pages.vendor_page import VendorPage

        page = VendorPage(window.ctx, window.runner)
    elif key == "settings":
        from paygo_desktop.gui.pages.settings_page import SettingsPage

        settings = SettingsPage(window.ctx, window.runner, window.wallet, window.keychain)
        settings.network_changed.connect(window.on_network_changed)
        settings.fee_ceiling_changed.connect(window.on_fee_ceiling_changed)
        settings.theme_changed.connect(window.on_theme_changed)
        settings.lock_requested.connect(window.lock)
        settings.accounts_changed.connect(window.on_accounts_changed)
        page = settings
    else:
        raise KeyError(key)
    return page
