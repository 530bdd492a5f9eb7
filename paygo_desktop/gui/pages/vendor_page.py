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
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
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
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import TRANSACTION_WENT_THROUGH, Changes
from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.vendor_calls import VENDOR_READ_TIMEOUT, run_bounded
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.chart_loader import load_chart
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import readonly_table

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

LIVE_REFRESH_MS = 5_000


def _fill(table: QTableWidget, rows: list[tuple[str, ...]], right_from: int = 1) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c >= right_from:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


class VendorPage(Page):
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

    def _build_earnings(self) -> None:
        """Earnings per asset, per day (chart and table), per service, and the sessions running now."""
        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "Not connected to a provider",
            "Choose your provider's address and press Connect. The provider's key must be an account of "
            "this wallet: on the Sandbox it is the tenth account of the test phrase.",
            "Your earnings per day, what was claimed on-chain and what is still pending, your services, "
            "and the sessions running now will appear here.",
        )
        earnings = QWidget()
        columns = QHBoxLayout(earnings)  # two columns that size their sections independently
        columns.setContentsMargins(0, 0, 0, 0)
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        self.totals = readonly_table(["Asset", "Earned", "Claimed on-chain", "Pending"], "Earnings per asset")
        self.days = readonly_table(
            ["Day (UTC)", "Earned", "Sessions started", "Claimed on-chain"], "Earnings per day"
        )
        self.services = readonly_table(["Service", "Earned", "Sessions", "Live now"], "Earnings per service")
        self.live = readonly_table(["Service", "Payer", "Running for", "Meter"], "Sessions running now")
        self.over_time = QTabWidget()
        self.over_time.setAccessibleName("Earnings over time")
        chart_tab = QWidget()
        chart_layout = QVBoxLayout(chart_tab)
        chart_layout.setContentsMargins(4, 4, 4, 4)
        asset_row = QHBoxLayout()
        self.chart_asset = QComboBox()
        self.chart_asset.setAccessibleName("Asset shown on the earnings chart")
        asset_caption = QLabel("Asset")
        asset_caption.setBuddy(self.chart_asset)
        self.chart_hover = QLabel("Point at a day to see its exact figures.")
        self.chart_hover.setAccessibleName("Earnings on the day under the pointer")
        self.chart_hover.setObjectName("Hint")
        asset_row.addWidget(asset_caption)
        asset_row.addWidget(self.chart_asset)
        asset_row.addWidget(self.chart_hover, 1)
        chart_layout.addLayout(asset_row)
        self.chart_holder = QVBoxLayout()
        chart_layout.addLayout(self.chart_holder, 1)
        self.chart: Any = None  # EarningsChart, built when earnings are first shown (pyqtgraph loads then)
        self.chart_failed = False  # its libraries did not load: the page says so in its place
        self.chart_days: list[Any] = []
        self.over_time.addTab(chart_tab, "Chart")
        self.over_time.addTab(self.days, "Table")
        for column, title, widget, stretch in (
            (left, "Totals: earned, claimed on-chain, pending", self.totals, 0),
            (left, "Earnings per day", self.over_time, 1),
            (right, "Sessions running now", self.live, 1),
            (right, "Per service", self.services, 2),
        ):
            label = QLabel(title)
            label.setObjectName("EmptyTitle")
            column.addWidget(label)
            column.addWidget(widget, stretch)
        self._build_tabs(earnings)

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

    def show_overview(self, overview: Any) -> None:
        self.overview = overview
        self._set_connected(True)
        account = self.account or overview.provider_address
        label = next((r.label for r in self.ctx.accounts.list() if r.address == account), "")
        status = f" — {self.claim_status}" if self.claim_status else ""
        who = label or "the provider key"
        self.signed_in.setText(
            f"{overview.provider_name}, signed in as {who} ({short_address(account)}); "
            f"chain read to block {overview.synced_to_block}, {local_time(overview.loaded_at)}{status}"
        )
        _fill(
            self.totals,
            [
                (a.asset.symbol, a.earned.format(), a.paid_out.format(), a.pending.format())
                for a in overview.assets
            ],
        )
        rows = max(self.totals.rowCount(), 1)  # as tall as its rows: the chart gets the rest
        self.totals.setFixedHeight(
            self.totals.horizontalHeader().height()
            + rows * self.totals.verticalHeader().defaultSectionSize()
            + 2 * self.totals.frameWidth()
            + 2
        )
        _fill(
            self.days,
            [
                (d.day.strftime("%Y-%m-%d"), d.earned.format(), str(d.sessions), d.paid_out.format())
                for d in reversed(overview.days)
            ],
        )
        _fill(
            self.services,
            [(s.name, s.earned.format(), str(s.sessions), str(s.live)) for s in overview.services],
        )
        self._show_chart_assets(overview)
        now = int(datetime.now(UTC).timestamp())
        _fill(
            self.live,
            [
                (m.service, short_address(m.payer), duration(max(m.seconds, 0)), m.amount.format())
                for m in overview.live
            ],
            right_from=2,
        )
        self.live.setToolTip(
            f"As the provider counted them at {local_time(datetime.fromtimestamp(now, UTC))}"
        )

    def _jobs_counted(self, waiting: int) -> None:
        self.content.setTabText(1, f"Jobs ({waiting} to answer or deliver)" if waiting else "Jobs")

    # ---- the earnings chart
    def _show_chart_assets(self, overview: Any) -> None:
        symbols = list(dict.fromkeys(d.asset.symbol for d in overview.days))
        current = self.chart_asset.currentText()
        if symbols != [self.chart_asset.itemText(i) for i in range(self.chart_asset.count())]:
            self.chart_asset.blockSignals(True)
            self.chart_asset.clear()
            self.chart_asset.addItems(symbols)
            if current in symbols:
                self.chart_asset.setCurrentText(current)
            self.chart_asset.blockSignals(False)
        self.chart_asset.setEnabled(len(symbols) > 1)
        self._draw_chart()

    def ensure_chart(self) -> Any:
        if self.chart is None and not self.chart_failed:

            def build() -> Any:
                from paygo_desktop.gui.widgets.earnings_chart import EarningsChart

                return EarningsChart()

            self.chart = load_chart(build, self.chart_holder)
            self.chart_failed = self.chart is None
            if self.chart is None:
                return None
            self.chart.hovered.connect(self._chart_hovered)
            self.chart_holder.addWidget(self.chart)
            self.chart.set_dark(self.palette().window().color().lightness() < 128)
        return self.chart

    def _draw_chart(self) -> None:
        from paygo_desktop.vendor.earnings import earnings_by_day

        if self.overview is None:
            return
        asset = next(
            (d.asset for d in self.overview.days if d.asset.symbol == self.chart_asset.currentText()), None
        )
        self.chart_days = earnings_by_day(self.overview, asset) if asset is not None else []
        chart = self.ensure_chart()
        if chart is None:
            return
        chart.set_days(self.chart_days, asset.symbol if asset is not None else "")
        if not self.chart_days:
            self.chart_hover.setText("No earnings yet: days appear here once sessions have paid.")
        elif chart.hovered_index < 0:
            self.chart_hover.setText("Point at a day to see its exact figures.")

    def _chart_hovered(self, index: int) -> None:
        if not 0 <= index < len(self.chart_days):
            self.chart_hover.setText("Point at a day to see its exact figures.")
            return
        d = self.chart_days[index]
        self.chart_hover.setText(
            f"{d.day.strftime('%a %d %b %Y')} (UTC): earned {d.earned.format()}, claimed on-chain "
            f"{d.claimed.format()}; pending at the end of the day {d.pending.format()}"
        )

    # ---- claim now
    def claim_service(self, setup: Any | None = None) -> Any:
        """The vendor account's ``EscrowService`` on this network: its vault and the transaction manager
        the shared transaction dialog sends through. Made from ``setup`` (``escrow.service.EscrowSetup``,
        read off the GUI thread) for a claim, closed when the claim's dialog is."""
        from paygo_desktop.escrow.service import EscrowService

        if setup is not None and (
            self._service is None or self._service.account.lower() != setup.account.lower()
        ):
            self.release_service()
            self._service = EscrowService.build(self.ctx.store, setup)
        assert self._service is not None, "made for a claim first"
        return self._service

    def release_service(self) -> None:
        """Close the claim's RPC connection (a dialog still open keeps it)."""
        if self._service is not None and self.flow_dialog is None:
            self.runner.run(self._service.aclose(), name="vendor-close-rpc")
            self._service = None

    def claim(self) -> None:
        """Claim now: the provider's vouchers, checked here, as one ``claimBatch`` the vendor's own account
        sends through the transaction dialog (fee shown first). A claim still pending is shown again."""
        if self.provider_url is None or self.account is None:
            return
        if self.flow_dialog is not None and self.flow_dialog.isVisible():
            self.flow_dialog.raise_()
            self.flow_dialog.activateWindow()
            return
        self.message.clear_message()
        ctx, account = self.ctx, self.account

        def look() -> tuple[Any, list[Any]]:  # SQL and files: off the GUI thread
            from eth_utils import to_checksum_address

            from paygo_desktop.escrow.service import EscrowSetup
            from paygo_desktop.store.transactions import TransactionRepository

            setup = EscrowSetup.read(ctx, account)
            sender = to_checksum_address(account)
            open_ones = TransactionRepository(ctx.store).open(setup.network.chain_id)
            return setup, [r for r in open_ones if r.sender == sender and r.kind == "vendor-claim"]

        def failed(message: str) -> None:
            self.claim_button.setEnabled(True)
            self.message.error(message)

        self.claim_button.setEnabled(False)  # one claim at a time, from this click on
        self.runner.run(look, on_success=self._claim_looked, on_error=failed, name="vendor-claim-look")

    def _claim_looked(self, found: tuple[Any, list[Any]]) -> None:
        """A claim sent earlier and still waiting is shown again; otherwise a new one is planned."""
        setup, pending = found
        self.claim_button.setEnabled(True)
        if self.provider_url is None or self.account is None:
            return
        service = self.claim_service(setup)
        if service.vault is None:
            self.message.error(
                f"No PayGo vault is known on {service.network.name}; there is nothing to claim."
            )
            self.release_service()
            return
        if pending:
            self.message.ok("A claim sent earlier is still waiting for the network; here it is.")
            self.open_pending(pending[0])
            return
        from paygo_desktop.protocol.client import ProviderClient
        from paygo_desktop.vendor.claims import plan_claim

        try:
            key = self.ctx.wallet.local_account(self.account)
        except UserFacingError as exc:
            self.message.error(str(exc))
            self.release_service()
            return
        url, chain_id = self.provider_url, service.network.chain_id

        async def plan() -> Any:
            async with ProviderClient(url) as client:
                work = plan_claim(client, key, service.vault, chain_id)
                try:
                    return await asyncio.wait_for(work, VENDOR_READ_TIMEOUT)
                except TimeoutError:
                    raise UserFacingError(
                        "The provider or the network did not answer in time; try again."
                    ) from None

        self.claim_button.setEnabled(False)
        self.busy.start("Fetching the provider's vouchers and checking them…")

        def failed(message: str) -> None:
            self.busy.stop()
            self.claim_button.setEnabled(True)
            self.message.error(message)
            self.release_service()

        self.runner.run(plan(), on_success=self._claim_planned, on_error=failed, name="vendor-claim-plan")

    def _claim_planned(self, claim: Any) -> None:
        """The checked claim: nothing left to claim (and why), or its transaction to review and send."""
        self.busy.stop()
        self.claim_button.setEnabled(True)
        notes = self._claim_notes(claim)
        if claim.request is None:
            self.release_service()
            self.claim_status = "nothing was left to claim"
            if claim.rejected:
                self.message.error("Nothing was claimed. " + notes)
            else:
                self.message.ok(
                    ("Nothing to claim: every voucher is already claimed on-chain. " + notes).strip()
                )
            return
        if notes:
            self.message.ok(notes)
        self.start_claim(claim.request, claim.summary())

    @staticmethod
    def _claim_notes(claim: Any) -> str:
        notes = []
        if claim.skipped:
            notes.append(
                f"{claim.skipped} voucher(s) were claimed meanwhile (by the provider) and are skipped."
            )
        if claim.rejected:
            notes.append(
                f"Left out {len(claim.rejected)} voucher(s) from the provider that do not check out: "
                + "; ".join(claim.rejected[:3])
                + ("…" if len(claim.rejected) > 3 else ".")
            )
        if claim.refused:
            notes.append(
                f"The vault refuses the vouchers of {len(claim.refused)} channel(s); the provider serves "
                "them no more: " + "; ".join(claim.refused[:3]) + ("…" if len(claim.refused) > 3 else ".")
            )
        if claim.later:
            notes.append(
                f"{claim.later} more voucher(s) are left for another Claim now once this one is done."
            )
        return " ".join(notes)

    def start_claim(self, request: Any, summary: str) -> Any:
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        service = self.claim_service()
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        dialog = TransactionDialog.for_requests(
            self.runner,
            self.ctx.wallet,
            service.transactions,
            service.account,
            [request],
            title="Claim your vouchers",
            explorer=service.explorer_url,
            parent=self,
            **kw,
        )
        return self._show_flow(dialog, summary)

    def open_pending(self, record: Any) -> Any:
        from paygo_desktop.chain.tx_flow import TxFlow
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        service = self.claim_service()
        flow = TxFlow.resume(service.transactions, record, explorer=service.explorer_url)
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        dialog = TransactionDialog(
            flow, self.runner, self.ctx.wallet, title="Pending claim", parent=self, **kw
        )
        return self._show_flow(dialog, record.description.removeprefix("Claim "))

    def _show_flow(self, dialog: Any, summary: str) -> Any:
        dialog.flow_finished.connect(lambda state: self._claim_finished(state, summary))
        dialog.finished.connect(lambda _code: self._flow_closed(dialog))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.flow_dialog = dialog
        dialog.open()
        return dialog

    def _flow_closed(self, dialog: Any) -> None:
        if dialog is self.flow_dialog:
            self.flow_dialog = None  # deleted on close
            self.release_service()
        if not dialog.state.is_final:
            self.message.ok("The claim is still on its way; press Claim now to follow it.")

    def _claim_finished(self, state: Any, summary: str) -> None:
        record = state.record
        if state.phase == "done":
            self.announce(TRANSACTION_WENT_THROUGH)
        if state.phase == "done" and record is not None:
            self.claim_status = f"last claim confirmed in block {record.block_number}"
            self.message.ok(
                f"Claimed {summary}. Transaction {record.tx_hash}, confirmed in block {record.block_number}."
            )
        elif state.phase == "cancelled":
            self.claim_status = "the last claim was cancelled"
            self.message.ok(state.message or "The claim was cancelled; nothing was claimed.")
        else:
            self.claim_status = "the last claim failed"
            self.message.error(f"The claim failed: {state.message or 'see the transaction for details'}")
        if record is not None:
            self.connect_provider(keep_message=True)  # read the new payouts

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
