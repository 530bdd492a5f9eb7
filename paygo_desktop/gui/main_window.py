"""The main window: onboarding, the lock screen, or the app itself (sidebar + pages + status bar).

The window only arranges views; the core does the work, through ``TaskRunner`` for anything slow.

It paints before the data is there: ``MainWindow()`` is the frame alone (title, icon, the sidebar with
the page names, the status bar, "Loading your wallet…"), built from PySide6 and small modules only;
``attach(ctx)`` then builds the lock screen once the ``AppContext`` is open. Each page is built the first
time it is shown (``PageBook``), not before the lock screen. ``MainWindow(ctx)`` does both.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from paygo_desktop import APP_NAME
from paygo_desktop.changes import X402_PAID, Changes
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.changes import ChangeAnnouncer
from paygo_desktop.gui.idle import IdleWatcher
from paygo_desktop.gui.main_pages import PAGE_ORDER, build_page
from paygo_desktop.gui.notifier import Notifier, make_notifier
from paygo_desktop.gui.page_book import PageBook
from paygo_desktop.gui.resources import app_icon_path
from paygo_desktop.gui.settings_writes import SettingsWrites
from paygo_desktop.gui.shell import LOADING_TEXT, Shell
from paygo_desktop.gui.status_bar import StatusBar

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.first_screen_while_opening import FirstScreenWhileOpening
    from paygo_desktop.gui.lock_screen import LockScreen
    from paygo_desktop.gui.pages.home_page import HomePage
    from paygo_desktop.gui.pages.settings_page import SettingsPage
    from paygo_desktop.gui.theme import ThemeManager
    from paygo_desktop.wallet import Wallet
    from paygo_desktop.wallet.keychain import PasswordKeychain

log = logging.getLogger(__name__)

# what a network switch or a sandbox that came up changes: everything read from the chain or a provider
NETWORK_SWITCHED = Changes(network=True, balances=True, channels=True, transactions=True, providers=True)
SANDBOX_STARTED = NETWORK_SWITCHED
DEFAULT_SIZE = QSize(1200, 760)


class MainWindow(QMainWindow):
    first_painted = Signal()
    mode_changed = Signal(str)  # "onboarding" | "locked" | "app" (and "error" if the data cannot be opened)
    ctx: AppContext  # set by attach(); the frame alone has none

    def __init__(
        self,
        ctx: AppContext | None = None,
        *,
        runner: TaskRunner | None = None,
        theme: ThemeManager | None = None,
        poll_network: bool = True,
        keychain: PasswordKeychain | None = None,
        sandbox: Any = None,
        notifier: Notifier | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._keychain = keychain
        self._notifier = notifier  # reminders; None: the tray, or the banner where there is no tray
        self.sandbox = sandbox  # a SandboxLauncher: starts the local world when the Sandbox network is used
        self.runner = runner or TaskRunner(self)
        self.theme = theme
        self.poll_network = poll_network
        self.mode = "loading"
        self.is_loaded = False
        self._quitting = ""  # "ending": what must end first runs (gui/quit_steps.py); then "ready"
        self.first_screen: FirstScreenWhileOpening | None = None  # set by show_first_screen_while_opening
        self._has_lock_screen = False
        self._painted = False
        self.setWindowTitle(APP_NAME)
        self.setAccessibleName(f"{APP_NAME} main window")
        icon = app_icon_path()
        if icon:
            self.setWindowIcon(QIcon(str(icon)))
        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(860, 560))

        self.root = QStackedWidget()
        self.root.setAccessibleName("Main area")
        self.setCentralWidget(self.root)
        self.onboarding: Any = None  # built on demand: gui.onboarding.wizard.OnboardingView
        self.pages = PageBook(PAGE_ORDER, lambda key: build_page(self, key))
        self.shell = Shell(self, lambda key: self._shortcut_page(key))
        self.sidebar = self.shell.sidebar
        self.pages_stack = self.shell.pages_stack
        self.placeholder = self.shell.placeholder
        self.banner = self.shell.banner
        self.shortcuts = self.shell.shortcuts
        self.sidebar.currentRowChanged.connect(self._row_changed)
        self.root.addWidget(self.shell)

        self.status = StatusBar(self.runner)
        self.setStatusBar(self.status)
        self.status.showMessage(LOADING_TEXT)

        self.idle = IdleWatcher(lambda: self.ctx.settings.idle_lock_minutes * 60.0, parent=self)
        self.idle.idle.connect(self._on_idle)  # it watches the app's events only while started (app mode)
        self.installEventFilter(self)
        if ctx is not None:
            self.attach(ctx)

    def attach(self, ctx: AppContext) -> None:
        """The data is open: build the lock screen and the pages, in place of the placeholder. After
        ``show_first_screen_while_opening`` that screen stays as it is (what was typed, a task waiting)."""
        self.ctx = ctx
        self.settings_writes = SettingsWrites(ctx, self.runner, parent=self)
        if not self._has_lock_screen:
            self._build_lock_screen()
        self._build_controller()
        self.pages_stack.removeWidget(self.placeholder)  # the pages come when first shown
        self.placeholder.hide()
        self.status.clearMessage()
        self.status.set_network(ctx.network)
        self.sidebar.setEnabled(True)
        self.is_loaded = True
        if self.first_screen is not None:
            self.first_screen.store_opened()
            if ctx.settings.remember_password and self.mode == "locked":
                self._unlock_with_remembered_password()
            return
        self.root.setCurrentWidget(self.lock_screen)
        self.mode = ""

    def _build_lock_screen(self) -> None:
        from paygo_desktop.gui.lock_screen import LockScreen

        first = self.first_screen
        self.lock_screen: LockScreen = LockScreen(
            self.runner,
            self.wallet,
            opened=first.opened if first else None,
            opening=first.opening if first else None,
        )
        self.lock_screen.unlocked.connect(self._on_unlocked)
        self.root.insertWidget(0, self.lock_screen)
        self._has_lock_screen = True

    def show_first_screen_while_opening(self, wallet_listed: bool) -> None:
        """The lock screen or the wizard before the store has opened (``gui/first_screen_while_opening.py``);
        ``attach(ctx)`` or ``show_load_error`` follows."""
        from paygo_desktop.gui.first_screen_while_opening import FirstScreenWhileOpening

        self.first_screen = FirstScreenWhileOpening(self)
        self.first_screen.show(wallet_listed)

    def show_load_error(self, message: str) -> None:
        """The data could not be opened: say so in the window, where the pages would be."""
        if self.first_screen is not None:
            self.first_screen.store_failed(message)
            self.root.setCurrentWidget(self.shell)  # in place of the screen shown while it opened
            self.status.setVisible(True)
        self.placeholder.setText(message)
        self.placeholder.setAccessibleName(message)
        self.placeholder.setObjectName("LoadError")
        self.status.showMessage("Could not open your wallet")
        self.mode = "error"
        self.mode_changed.emit(self.mode)

    # ---- the wallet, loaded only when first needed (it pulls in the crypto libraries)
    def wallet(self) -> Wallet:
        return self.ctx.wallet

    def keychain(self) -> Any:
        if self._keychain is None:
            from paygo_desktop.wallet.keychain import PasswordKeychain

            self._keychain = PasswordKeychain()
        return self._keychain

    def _wallet_loaded(self) -> bool:
        return "wallet" in self.ctx.__dict__

    # ---- what the pages share (the pages themselves: gui/main_pages.py; the frame: gui/shell.py)
    @property
    def notifier(self) -> Notifier:
        """Where reminders go: the one given, else the tray (the banner above the pages without a tray)."""
        if self._notifier is None:
            self._notifier = make_notifier(self.banner, self.windowIcon(), self)
        return self._notifier

    def _build_controller(self) -> None:
        from paygo_desktop.gui.sessions.controller import SessionController

        self.changes = ChangeAnnouncer(self)  # what changed, announced once: every page refreshes from it
        self.sessions = SessionController(
            self.ctx, self.runner, self.wallet, self.notifier, parent=self, changes=self.changes
        )
        self.sessions.started.connect(lambda _local_id: self.show_page("sessions"))
        from paygo_desktop.gui.x402_proxy_control import X402ProxyControl

        self.x402_proxy = X402ProxyControl(self.ctx, self.runner, self.sessions.live, parent=self)
        self.x402_proxy.paid.connect(lambda: self.changes.announce(X402_PAID))
        from paygo_desktop.gui.x402_lapsed import X402LapsedCheck

        # x402 payments whose authorization lapsed, looked up on chain when the app opens and when the node
        # answers again (a sandbox started after unlocking, a node back): found settled, they are booked
        self.x402_lapsed = X402LapsedCheck(self.ctx, self.runner, parent=self)
        self.x402_lapsed.changed.connect(self.changes.announce)
        # balances are read again whenever the node answers again
        self.status.connected.connect(lambda: self.changes.announce(Changes(balances=True)))
        self.status.connected.connect(self._check_lapsed_x402)

    @property
    def home_page(self) -> HomePage:
        return self.pages["home"]  # type: ignore[return-value]

    @property
    def settings_page(self) -> SettingsPage:
        return self.pages["settings"]  # type: ignore[return-value]

    # ---- modes
    def start(self) -> None:
        """Show the first screen: onboarding for a new user, else the lock screen."""
        if self.ctx.accounts.list():
            self.show_lock_screen()
            if self.ctx.settings.remember_password:
                self._unlock_with_remembered_password()
        else:
            self.show_onboarding()

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self.status.setVisible(mode == "app")
        zcash: Any = self.pages.get("zcash")
        if mode == "app":  # renewal reminders only while the app is open, never on the lock screen
            QTimer.singleShot(0, self._watch_reminders)  # after the page shown first has painted
        elif zcash is not None:
            zcash.stop_watching()
        if mode == "app":
            self.idle.start()
            self._ensure_sandbox()
            if self.poll_network:
                self.status.start_polling()
        else:
            self.idle.stop()
            self.status.stop_polling()
        self.mode_changed.emit(mode)

    def _watch_reminders(self) -> None:
        if self.mode == "app":
            zcash: Any = self.pages["zcash"]
            zcash.start_watching()
            self._warm_up()

    def _warm_up(self) -> None:
        """Once per run, after the first page is on screen: the modules the next clicks need, imported in a
        worker thread, not on the GUI thread at the first click (``gui/warm_up.py``)."""
        if getattr(self, "_warmed_up", False):
            return
        self._warmed_up = True
        from paygo_desktop.gui.warm_up import warm_up

        self.runner.run(warm_up, on_success=lambda _failed: self._prebuild_sessions_page(), name="warm-up")

    def _prebuild_sessions_page(self) -> None:
        """The Sessions page comes up by itself when a session starts: built now, while nothing happens,
        rather than in the same turn as the start (benchmarks/session_stall.py)."""
        if self.mode == "app":
            self.pages["sessions"].ensurePolished()  # its style too, which Qt would work out on first show

    def show_onboarding(self) -> None:
        if self.onboarding is None:
            from paygo_desktop.gui.onboarding.wizard import OnboardingView

            first = self.first_screen
            self.onboarding = OnboardingView(
                lambda: self.ctx, self.runner, self.wallet, opened=first.opened if first else None
            )
            self.onboarding.completed.connect(self._on_onboarded)
            self.root.addWidget(self.onboarding)
        self.root.setCurrentWidget(self.onboarding)
        self._set_mode("onboarding")

    def show_lock_screen(self) -> None:
        """The lock screen; the wallet forgets its keys first, whatever state it was in."""
        if self._wallet_loaded():
            try:
                self.wallet().lock()
            except Exception:
                log.exception("locking the wallet failed")
        self.lock_screen.reset()
        self.root.setCurrentWidget(self.lock_screen)
        self._set_mode("locked")
        self.lock_screen.password.setFocus()

    def show_app(self, page: str | None = None) -> None:
        self._refresh_account()
        self.root.setCurrentWidget(self.shell)
        self._set_mode("app")
        self.show_page(page or self.current_page() or "home")
        if self.poll_network and not getattr(self, "_watching_transactions", False):
            self._watching_transactions = True  # pending transactions from an earlier run: watch them again
            QTimer.singleShot(0, self._watch_transactions)  # after the page shown first has painted
        QTimer.singleShot(0, self._check_lapsed_x402)  # the same: x402 payments left on the server's word

    def _check_lapsed_x402(self) -> None:
        if self.mode == "app":
            self.x402_lapsed.run()

    def _watch_transactions(self) -> None:
        escrow: Any = self.pages["escrow"]
        escrow.start_watching()

    def lock(self) -> None:
        """Lock now; running sessions are stopped first (their vouchers need the key that locking drops)."""
        if self.sessions.has_live():
            self.status.showMessage("Stopping the running sessions before locking…")
            self.runner.run(self.sessions.shutdown(), on_success=lambda _r: self.lock(), name="stop-for-lock")
            return
        self.x402_proxy.stop()  # it holds the key while it runs
        self.ctx.activity.record("lock", "Wallet locked")
        self.changes.announce(Changes(activity=True))
        self.show_lock_screen()

    def _quit_now(self, _result: object) -> None:
        self._quitting = "ready"
        self.close()

    def start_session(self, provider_url: str, service_id: str) -> None:
        self.sessions.begin(provider_url, service_id, self)

    def _unlock_with_remembered_password(self) -> None:
        """At start-up only: unlock with the password in the OS keychain, if one is there and right."""
        wallet, keychain = self.wallet(), self.keychain()

        def work() -> bool:
            password = keychain.recall(wallet.wallet_id)
            if not password:
                return False
            wallet.unlock(password)
            return True

        def done(unlocked: object) -> None:
            if unlocked and self.mode == "locked":
                self._on_unlocked()

        self.runner.run(work, on_success=done, on_error=lambda _m: None, name="remembered-unlock")

    def _on_idle(self) -> None:
        if self.is_loaded and self.sessions.has_live():
            return  # a running session is activity: the wallet must stay able to sign its vouchers
        if self.mode == "app" and self.is_loaded:
            log.info("locking after %s idle minutes", self.ctx.settings.idle_lock_minutes)
            self.lock()

    def _on_unlocked(self) -> None:
        self.ctx.activity.record("unlock", "Wallet unlocked")
        self.changes.announce(Changes(activity=True))
        self.show_app()
        self.sessions.recover()  # sessions a crash left running are settled with their providers

    def _on_onboarded(self) -> None:
        self.ctx.invalidate_network()
        self.changes.announce(NETWORK_SWITCHED | Changes(accounts=True))
        self.status.set_network(self.ctx.network)
        self.show_app("home")

    # ---- pages
    def current_page(self) -> str | None:
        widget = self.pages_stack.currentWidget()
        for key, page in self.pages.items():
            if page is widget:
                return key if self.mode == "app" else None
        return None

    def show_page(self, key: str) -> None:
        self.sidebar.setCurrentRow(PAGE_ORDER.index(key))
        self._row_changed(PAGE_ORDER.index(key))

    def _shortcut_page(self, key: str) -> None:
        if self.is_loaded and self.root.currentWidget() is self.shell:
            self.show_page(key)

    def _row_changed(self, row: int) -> None:
        if row < 0 or not self.is_loaded:
            return
        page = self.pages[PAGE_ORDER[row]]
        self.pages_stack.setCurrentWidget(page)
        page.shown()

    # ---- reactions
    def _refresh_account(self) -> None:
        """The accounts read in a worker; an active account no longer among them gives way to the first
        (announced, so the pages read again with it). The account in use is shown meanwhile."""
        if self.ctx.settings.active_account:
            self.status.set_account(self.ctx.settings.active_account)
        self.runner.run(self.ctx.accounts.list, on_success=self._accounts_read, name="accounts", owner=self)

    def _accounts_read(self, records: list[Any]) -> None:
        active = self.ctx.settings.active_account
        if records and not any(r.address.lower() == (active or "").lower() for r in records):
            active = records[0].address
            self.ctx.settings.active_account = active
            self.settings_writes.save(failed=self._settings_not_saved)
            self.changes.announce(Changes(accounts=True, balances=True))
        self.status.set_account(active if records else None)

    def set_active_account(self, address: str) -> None:
        if address != self.ctx.settings.active_account:
            self.ctx.settings.active_account = address
            self.settings_writes.save(failed=self._settings_not_saved)
            self.changes.announce(Changes(accounts=True, balances=True))
        self.status.set_account(address)

    def _settings_not_saved(self, message: str) -> None:
        self.status.showMessage(message, 15_000)

    def _ensure_sandbox(self) -> None:
        """On the Sandbox network, make sure the local chain and provider run (reusing a running one)."""
        if self.sandbox is None or self.ctx.network.key != "sandbox" or self.sandbox.running() is not None:
            return
        self.status.showMessage("Starting the sandbox: a local chain and provider…")

        def started(_state: object) -> None:
            note = getattr(self.sandbox, "world_note", None)  # a new chain replaced the kept one: say so
            self.status.showMessage(note or "Sandbox running", 30_000 if note else 5000)
            self.ctx.invalidate_network()  # it may have had to use another port
            self.status.set_network(self.ctx.network)
            # its contracts are deployed, its accounts funded and its provider up now
            self.changes.announce(SANDBOX_STARTED)
            if self.poll_network:
                self.status.poll()
            self.ctx.activity.record("sandbox", "Started the sandbox", network="sandbox")

        def failed(message: str) -> None:
            self.status.showMessage(f"The sandbox could not start: {message}")

        self.runner.run(self.sandbox.ensure_running(), on_success=started, on_error=failed, name="sandbox")

    def on_network_changed(self, network: object) -> None:
        self.changes.announce(NETWORK_SWITCHED)
        self._ensure_sandbox()
        self.status.set_network(self.ctx.network)
        if self.mode == "app" and self.poll_network:
            self.status.poll()

    def on_fee_ceiling_changed(self) -> None:
        """The network in use holds to another fee ceiling: the session engines built on it hold to it at
        once, and the pages that build a service on it build it again when next read (the network is part
        of what makes one)."""
        self.sessions.network_terms_changed(self.ctx.network)
        self.changes.announce(Changes(network=True))

    def on_theme_changed(self, theme: str) -> None:
        if self.theme is not None:
            self.theme.apply(theme)

    def on_accounts_changed(self) -> None:
        self._refresh_account()
        self.changes.announce(Changes(accounts=True, balances=True))

    # ---- events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self and event.type() == QEvent.Type.Paint and not self._painted:
            self._painted = True
            self.removeEventFilter(self)  # only the first paint: not every event of the window, in Python
            QTimer.singleShot(0, self.first_painted.emit)
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_loaded and self._quitting != "ready":
            # running sessions stopped properly (final voucher, receipt), connections closed: then for real
            from paygo_desktop.gui.quit_steps import before_quit

            event.ignore()
            if self._quitting == "ending":  # closed again meanwhile: it closes once that has ended
                return
            self._quitting = "ending"
            if self.sessions.has_live():
                self.status.showMessage("Stopping the running sessions before quitting…")
            self.runner.run(
                before_quit(self.sessions, self.x402_proxy, self.pages.values()),
                on_success=self._quit_now,
                on_error=self._quit_now,
                name="before-quit",
            )
            return
        if self.sandbox is not None:
            self.sandbox.stop()  # only one this window started; a sandbox run by hand keeps running
        self.idle.stop()
        self.status.stop_polling()
        self.runner.cancel_all()
        if not self.is_loaded:  # nothing to save into yet
            super().closeEvent(event)
            return
        self.ctx.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        try:
            self.ctx.settings.save()
        except OSError:
            log.exception("could not save the window geometry")
        super().closeEvent(event)
