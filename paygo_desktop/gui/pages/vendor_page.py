"""The Vendor page, for a user who runs a provider: earnings (claimed on-chain and pending), per day and per
service, the sessions running now with their meters, "Claim now", a CSV export, and the Jobs tab (the
fixed-price jobs requested from the provider, answered and delivered there: ``gui/widgets/vendor_jobs.py``)
the Services tab (create, edit, pause a service and set its upstream: ``gui/widgets/vendor_services.py``)
and the Consultations tab (answering a consultation's chat room: ``gui/widgets/vendor_chat.py``).

It signs the provider's vendor requests with the provider's own key, which must be an account of this
wallet. Loading (signed HTTP requests, the vault's event sync, SQLite sums) runs in a worker thread with
its own asyncio loop (``vendor.earnings``); progress comes back through a signal.

"Claim now" runs on the app's loop like the Escrow page's actions: it fetches the provider's claimable
vouchers and checks them (``vendor.claims``), then opens the shared transaction dialog
(``gui/widgets/transaction_flow.py``) for one ``claimBatch`` sent from that same account: the fee first,
the password if the wallet is locked, then pending, confirmations, done. A claim still pending (the dialog
closed, or the app restarted) is shown again by the next Claim now instead of a second one being sent.

The page composes its parts: the earnings tables and chart (``gui/vendor/earnings.py``) and Claim now
(``gui/vendor/claims.py``); it keeps the connection, the loading and the CSV export.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.vendor.claims import VendorClaims
from paygo_desktop.gui.vendor.earnings import VendorEarnings
from paygo_desktop.gui.vendor_calls import run_bounded
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

LIVE_REFRESH_MS = 5_000


class VendorPage(VendorEarnings, VendorClaims, Page):
    key = "vendor"
    title = "Vendor"
    shows = Changes(network=True, providers=True, accounts=True)
    progress = Signal(str)  # from the worker thread; queued to the GUI thread
    overview: Any
    account: str | None

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        poll_ms: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.poll_ms = poll_ms  # the transaction dialog's poll interval (tests make it short)
        self._service: Any = None  # EscrowService of the vendor account, while a claim is planned or shown
        self.flow_dialog: Any = None  # the claim's transaction dialog, once opened
        self.overview: Any = None
        self.account: str | None = None  # the wallet account that is the provider's key
        self.provider_url: str | None = None
        self.claim_status = ""

        self._build_connection()
        self._build_earnings()
        self._connect()

    def _build_connection(self) -> None:
        """The provider to manage, Connect, Claim now, Export, and what it says."""
        intro = QLabel(
            "Run a provider? Connect to it with its own key (an account of this wallet) to see what you "
            "earned, what is already claimed on-chain and what is pending."
        )
        intro.setWordWrap(True)
        intro.setObjectName("Hint")
        self.layout_.addWidget(intro)
        row = QHBoxLayout()
        caption = QLabel("Provider")
        self.provider = QComboBox()
        self.provider.setEditable(True)
        self.provider.setAccessibleName("Provider address")
        self.provider.setMinimumWidth(320)
        line = self.provider.lineEdit()
        if line is not None:
            line.setAccessibleName("Provider address")
            line.setPlaceholderText("Your provider's address, e.g. http://127.0.0.1:8600")
        caption.setBuddy(self.provider)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setAccessibleName("Connect to the provider with its key")
        self.claim_button = QPushButton("Claim now")
        self.claim_button.setAccessibleName("Claim the pending vouchers on-chain now")
        self.claim_button.setToolTip(
            "Fetch the vouchers the provider holds, check them, and send one batch claim from this "
            "account: you see the network fee before anything is sent"
        )
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export the earnings as CSV")
        controls: tuple[QWidget, ...] = (
            caption,
            self.provider,
            self.connect_button,
            self.claim_button,
            self.export_button,
        )
        for control in controls:
            row.addWidget(control)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.busy = BusyIndicator()
        self.layout_.addWidget(self.busy)
        self.message = InlineMessage(self, "Vendor message")
        self.layout_.addWidget(self.message)
        self.signed_in = QLabel()
        self.signed_in.setAccessibleName("Connected provider")
        self.signed_in.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.signed_in)

    def _build_tabs(self, earnings: QWidget) -> None:
        """Once connected: the earnings, and the jobs requested from the provider."""
        from paygo_desktop.gui.widgets.vendor_chat import VendorChatPanel
        from paygo_desktop.gui.widgets.vendor_jobs import VendorJobsPanel
        from paygo_desktop.gui.widgets.vendor_services import VendorServicesPanel

        self.jobs = VendorJobsPanel(self.ctx, self.runner)
        self.jobs.count_changed.connect(self._jobs_counted)
        self.catalog = VendorServicesPanel(self.ctx, self.runner)
        self.content = QTabWidget()
        self.content.setAccessibleName("Earnings, jobs and services")
        self.content.addTab(earnings, "Earnings")
        self.content.addTab(self.jobs, "Jobs")
        self.content.addTab(self.catalog, "Services")
        self.consultations = VendorChatPanel(self.ctx, self.runner)
        self.content.addTab(self.consultations, "Consultations")
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        self.layout_.addWidget(self.stack, 1)

    def _connect(self) -> None:
        """What each control does, and the live figures' timer."""
        self.connect_button.clicked.connect(lambda: self.connect_provider())
        self.claim_button.clicked.connect(self.claim)
        self.export_button.clicked.connect(self.choose_export)
        self.progress.connect(self.busy.start)
        self.chart_asset.currentTextChanged.connect(lambda _symbol: self._draw_chart())
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_REFRESH_MS)
        self.timer.timeout.connect(self._reload_quietly)
        self._set_connected(False)

    # ---- page life
    def refresh(self) -> None:
        current = self.provider.currentText()
        self.provider.clear()
        urls = self.ctx.provider_urls()
        for url in urls:
            self.provider.addItem(url)
        self.provider.setCurrentText(current or (urls[0] if urls else ""))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.overview is not None:
            self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def _set_connected(self, connected: bool) -> None:
        self.claim_button.setEnabled(connected)
        self.export_button.setEnabled(connected)
        self.stack.setCurrentWidget(self.content if connected else self.empty)

    # ---- connecting and loading
    def _provider_key_account(self, signing_key: str) -> str:
        for record in self.ctx.accounts.list():
            if record.address.lower() == signing_key.lower():
                return str(record.address)
        raise UserFacingError(
            f"This provider signs with {signing_key}, which is not an account of this wallet. Import its "
            "key (Settings → Import another key) to manage the provider here."
        )

    def _load_work(self, url: str, quiet: bool = False) -> Any:
        """The blocking work of a (re)load, for a worker thread: its own event loop, client and web3."""
        from paygo_desktop.protocol.client import ProviderClient
        from paygo_desktop.vendor.earnings import VendorError, load_overview

        ctx = self.ctx
        network = ctx.network
        vault = ctx.vault_address(network)
        if not vault:
            raise VendorError(f"No PayGo vault is known on {network.name}; there is nothing to claim from.")
        say = (lambda _text: None) if quiet else self.progress.emit

        async def work() -> tuple[str, Any]:
            async with ProviderClient(url) as client:
                say("Connecting to the provider…")
                info = await client.provider_info()
                account = self._provider_key_account(info.signing_key)
                key = ctx.wallet.local_account(account)
                overview = await load_overview(
                    client,
                    key,
                    ctx.store,
                    rpc_url=network.rpc_url,
                    chain_id=network.chain_id,
                    vault_address=vault,
                    on_progress=say,
                )
                return account, overview

        return run_bounded(work())

    def connect_provider(self, *, keep_message: bool = False) -> None:
        url = self.provider.currentText().strip()
        if not url:
            self.message.error("Enter your provider's address, for example http://127.0.0.1:8600.")
            return
        if not keep_message:
            self.message.clear_message()
        self.busy.start("Connecting to the provider…")
        self.connect_button.setEnabled(False)

        def done(result: object) -> None:
            self.busy.stop()
            self.connect_button.setEnabled(True)
            pair: Any = result
            account, overview = pair
            self.provider_url = url
            self.account = account
            self.show_overview(overview)
            self.jobs.set_provider(url, account)
            self.catalog.set_provider(url, account)
            if self.isVisible():
                self.timer.start()

        def failed(message: str) -> None:
            self.busy.stop()
            self.connect_button.setEnabled(True)
            self.message.error(message)

        self.runner.run(self._load_work, url, on_success=done, on_error=failed, name="vendor-connect")

    def _reload_quietly(self) -> None:
        """Every few seconds while shown: the meters move, claims land."""
        if self.provider_url is None or self.runner.busy:
            return

        def done(result: object) -> None:
            pair: Any = result
            self.show_overview(pair[1])
            if self.content.currentWidget() is self.jobs and not self.jobs.acting:
                self.jobs.reload(quiet=True)

        self.runner.run(
            self._load_work,
            self.provider_url,
            True,
            on_success=done,
            on_error=lambda _m: None,
            name="vendor-tick",
        )

    def _jobs_counted(self, waiting: int) -> None:
        self.content.setTabText(1, f"Jobs ({waiting} to answer or deliver)" if waiting else "Jobs")

    # ---- CSV
    def choose_export(self) -> None:
        if self.overview is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Export earnings", str(Path.home() / "paygo-earnings.csv"), "CSV (*.csv)"
        )
        if name:
            self.export_csv(Path(name))

    def export_csv(self, target: Path) -> None:
        from paygo_desktop.fileio import atomic_write_text
        from paygo_desktop.vendor.earnings import overview_csv

        try:
            atomic_write_text(target, overview_csv(self.overview))
        except OSError as exc:
            self.message.error(f"Could not write {target}: {exc.strerror or exc}.")
            return
        self.message.ok(f"Saved the earnings to {target}.")
