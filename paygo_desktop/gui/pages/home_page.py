"""Home: balances at a glance (wallet, escrow, Zcash), the sessions running now with their meters, 30 days
of spending as a sparkline, the next Zcash expiry, the accounts, and the recent activity. Real data only.

Balances are read from the chain in the background (``reports.dashboard``); the running sessions come from
``live_sessions()``, a callable the session engine provides (nothing is shown without one). On the Sandbox
network they are read only once the sandbox is up (its state file is written after its contracts are
deployed and its accounts funded), and again whenever the window announces a change that moves them
(``on_changes``: the sandbox started, the network answers again, a session or a transaction went through).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.context import AppContext
from paygo_desktop.gui.async_tasks import NewestRead, TaskRunner
from paygo_desktop.gui.format import local_time, plain_tooltip, short_amount
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.sparkline import Sparkline
from paygo_desktop.money import Amount
from paygo_desktop.reports.dashboard import (
    Balance,
    HomeFigures,
    ZcashSummary,
    load_balances,
    read_home,
    values_note,
)
from paygo_desktop.reports.recent_activity import RecentLine
from paygo_desktop.reports.spending_report import SpendingReport

log = logging.getLogger(__name__)
KIND_NAMES = {"hd": "From recovery phrase", "private_key": "Imported key", "keystore": "Imported keystore"}
RECENT_ACTIVITY = 12
METER_REFRESH_MS = 1_000


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("EmptyTitle")
    return label


def _plain(name: str) -> QLabel:
    label = QLabel()
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def _amount(asset: Any, value: Any) -> Amount:
    return value if isinstance(value, Amount) else Amount(asset, int(value))


def meter_line(session: Any) -> str:
    """ "Service — Provider: 0.25 of 1 USDC" for a running session."""
    terms = session.terms
    cost, budget = terms.amount(session.meter.cost()), terms.amount(terms.cap)
    return f"{terms.service_name} — {terms.provider_name}: {cost} of {budget}"


# what the store's figures show (the recent lines: sessions started and ended, transactions, x402 payments)
WHOLE_PAGE = Changes(
    accounts=True, network=True, permissions=True, activity=True, sessions=True, transactions=True, x402=True
)
BALANCES = Changes(balances=True, channels=True)


class HomePage(Page):
    key = "home"
    title = "Home"
    shows = Changes(
        balances=True,
        network=True,
        accounts=True,
        sessions=True,
        channels=True,
        transactions=True,
        spending=True,
        permissions=True,
        activity=True,
        x402=True,
    )
    active_account_chosen = Signal(str)

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        runner: TaskRunner,
        live_sessions: Callable[[], list[Any]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.live_sessions = live_sessions
        self.report = SpendingReport(ctx.store)
        self.balances: list[Balance] | None = None
        # the store's figures (refresh) and the chain's balances: only the newest read of each is shown
        self.figures = NewestRead(runner, "home-figures", failed=self._figures_failed, parent=self)
        self.balance_reads = NewestRead(runner, "home-balances", parent=self)
        self._has_accounts: bool | None = None  # not read yet
        row = QHBoxLayout()
        self.network_label = QLabel()
        self.network_label.setAccessibleName("Current network")
        row.addWidget(self.network_label)
        row.addStretch(1)
        self.layout_.addLayout(row)

        self._build_glance()
        self._build_sessions()
        self._build_accounts()

    def _build_glance(self) -> None:
        """Balances, 30 days of spending and the Zcash permissions, at a glance."""
        glance = QGridLayout()
        glance.setHorizontalSpacing(24)
        glance.addWidget(_title("Balances"), 0, 0)
        glance.addWidget(_title("Spent in the last 30 days"), 0, 1)
        glance.addWidget(_title("Zcash"), 0, 2)
        self.balance_table = QTableWidget(0, 4)
        self.balance_table.setAccessibleName("Balances")
        self.balance_table.setHorizontalHeaderLabels(["Where", "Amount", "Value", ""])
        self.balance_table.verticalHeader().setVisible(False)
        self.balance_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.balance_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.balance_table.setMaximumHeight(130)  # grows with the balances (_fill_balances), up to 9 rows
        bh = self.balance_table.horizontalHeader()
        bh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        bh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        bh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        bh.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.balance_note = _plain("Balances status")
        self.balance_note.setObjectName("Hint")
        left = QVBoxLayout()
        left.addWidget(self.balance_table)
        left.addWidget(self.balance_note)
        glance.addLayout(left, 1, 0)
        self.spark_box = QVBoxLayout()
        self.spark_empty = _plain("Spending in the last 30 days")
        self.spark_empty.setObjectName("Hint")
        self.spark_box.addWidget(self.spark_empty)
        self.spark_lines: list[tuple[QLabel, Sparkline]] = []
        spark_holder = QVBoxLayout()
        spark_holder.addLayout(self.spark_box)
        spark_holder.addStretch(1)
        glance.addLayout(spark_holder, 1, 1)
        self.zcash_label = _plain("Zcash permissions")
        self.zcash_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        glance.addWidget(self.zcash_label, 1, 2)
        glance.setColumnStretch(0, 3)
        glance.setColumnStretch(1, 2)
        glance.setColumnStretch(2, 2)
        self.layout_.addLayout(glance)

    def _build_sessions(self) -> None:
        """The sessions running now, their meters read on a timer."""
        self.sessions_title = _title("Running now")
        self.sessions_list = QListWidget()
        self.sessions_list.setAccessibleName("Sessions running now")
        self.sessions_list.setMaximumHeight(90)
        self.layout_.addWidget(self.sessions_title)
        self.layout_.addWidget(self.sessions_list)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.HLine)
        self.layout_.addWidget(separator)
        self.meter_timer = QTimer(self)
        self.meter_timer.setInterval(METER_REFRESH_MS)
        self.meter_timer.timeout.connect(self.refresh_meters)

    def _build_accounts(self) -> None:
        """The accounts and the recent activity."""
        accounts_title = QLabel("Accounts")
        accounts_title.setObjectName("EmptyTitle")
        self.layout_.addWidget(accounts_title)
        self.accounts = QTableWidget(0, 3)
        self.accounts.setAccessibleName("Accounts")
        self.accounts.setHorizontalHeaderLabels(["Label", "Address", "Origin"])
        self.accounts.verticalHeader().setVisible(False)
        self.accounts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.accounts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.accounts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.accounts.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.accounts.itemSelectionChanged.connect(self._selection_changed)
        self.accounts.setMaximumHeight(110)
        self.layout_.addWidget(self.accounts)
        self.no_wallet = EmptyState(
            "No wallet yet",
            "This computer holds no keys for PayGo Desktop yet.",
            "Once you create or import a wallet, its accounts and their addresses appear here.",
        )
        self.layout_.addWidget(self.no_wallet)

        activity_title = QLabel("Recent activity")
        activity_title.setObjectName("EmptyTitle")
        self.layout_.addWidget(activity_title)
        self.activity = QListWidget()
        self.activity.setAccessibleName("Recent activity")
        self.activity.setAlternatingRowColors(True)
        self.layout_.addWidget(self.activity, 1)
        self._refreshing = False

    def refresh(self) -> None:
        """The network at once; the accounts, what happened, 30 days of spending and the Zcash permissions
        from the store in the background (``reports.dashboard.read_home``), then the chain's balances."""
        network = self.ctx.network
        self.network_label.setText(f"Network: <b>{network.name}</b> (chain id {network.chain_id})")
        self.refresh_meters()
        store, report, recent = self.ctx.store, self.report, RECENT_ACTIVITY

        def read() -> HomeFigures:  # SQL: in a worker thread
            return read_home(store, report, network.key, network.chain_id, datetime.now(UTC), recent)

        self.figures.request(read, self._show_figures)

    def _figures_failed(self, message: str) -> None:
        log.warning("Home could not read this computer's records: %s", message)

    def _show_figures(self, figures: HomeFigures) -> None:
        self._show_accounts(figures.accounts)
        self._show_recent(figures.recent)
        self._show_sparklines(figures.sparklines)
        self._show_zcash(figures.zcash)
        self._load_balances()

    def _show_accounts(self, records: list[Any]) -> None:
        self._has_accounts = bool(records)
        self._refreshing = True
        try:
            self.accounts.setVisible(bool(records))
            self.no_wallet.setVisible(not records)
            self.accounts.setRowCount(len(records))
            active = (self.ctx.settings.active_account or "").lower()
            for i, rec in enumerate(records):
                items = (
                    QTableWidgetItem(rec.label),
                    QTableWidgetItem(rec.address),
                    QTableWidgetItem(KIND_NAMES.get(rec.kind, rec.kind)),
                )
                items[1].setToolTip(rec.address)
                items[1].setData(Qt.ItemDataRole.UserRole, rec.address)
                for col, item in enumerate(items):
                    self.accounts.setItem(i, col, item)
                if rec.address.lower() == active:
                    self.accounts.selectRow(i)
        finally:
            self._refreshing = False

    def _show_recent(self, lines: list[RecentLine]) -> None:
        self.activity.clear()
        if not lines:
            placeholder = QListWidgetItem("Nothing has happened yet.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.activity.addItem(placeholder)
        for entry in lines:
            line = QListWidgetItem(f"{local_time(entry.at)}   {entry.text}")  # one line (recent_activity)
            line.setToolTip(plain_tooltip(entry.text))  # other machines' words: never read as markup
            if entry.is_error:
                line.setForeground(Qt.GlobalColor.red)
            self.activity.addItem(line)

    # ---- at a glance
    def _show_sparklines(self, lines: list[Any]) -> None:
        for label, spark in self.spark_lines:
            label.deleteLater()
            spark.deleteLater()
        self.spark_lines = []
        self.spark_empty.setVisible(not lines)
        self.spark_empty.setText("Nothing spent in the last 30 days.")
        for line in lines[:3]:
            label = _plain(f"Spent in {line.asset.label}")
            label.setText(f"{short_amount(line.total)} on {line.asset.network}")
            label.setToolTip(line.total.format())
            spark = Sparkline()
            spark.setAccessibleName(f"Daily spending in {line.asset.label}, last 30 days")
            spark.set_values([a.units for a in line.days], f"{len(line.days) - 1} days ago", "today")
            busiest = max(line.days, key=lambda a: a.units)
            spark.setToolTip(f"One bar a day; the busiest day spent {busiest.format()}. Details on Activity.")
            self.spark_box.addWidget(label)
            self.spark_box.addWidget(spark)
            self.spark_lines.append((label, spark))

    def _show_zcash(self, summary: ZcashSummary) -> None:
        if summary.active == 0 and summary.next_expiry is None:
            self.zcash_label.setText("No Zcash spending permission.")
            return
        lines = [f"{summary.active} active, {summary.remaining.format()} left to use"]
        if summary.next_expiry is not None:
            lines.append(f"Next expiry: {local_time(summary.next_expiry)} ({summary.next_expiry_provider})")
        self.zcash_label.setText("\n".join(lines))

    def on_changes(self, changes: Changes) -> None:
        """On screen, Home reads the chain again for what moves balances, and everything for a new account,
        network or permission, a session started or ended, a transaction or a payment (the recent lines);
        what was spent shows at its next visit (not at every voucher of a session)."""
        if not changes.touches(self.shows):
            return
        if not self.isVisible():
            self._stale = True
        elif changes.touches(WHOLE_PAGE):
            self.reread()
        else:
            self._stale = self._stale or changes.spending
            if changes.touches(BALANCES):
                self.chain_changed()

    def chain_changed(self) -> None:
        """The node, its contracts or the account's balances may have changed: read them again (now if
        the page is shown, else when it is next shown)."""
        if self.isVisible():
            self._load_balances()

    def _load_balances(self) -> None:
        if self._has_accounts is None:  # the accounts' read calls it when done
            return
        if not self._has_accounts or not self.ctx.settings.active_account:
            note = "Create or import a wallet to see its balances."
            self.balance_reads.request(lambda: None, lambda _none: self._fill_balances([], note))
            return
        network = self.ctx.network
        if self.balances is None:
            self.balance_note.setText(f"Reading balances from {network.name}…")

        async def read() -> list[Balance] | None:
            if network.key == "sandbox":  # its state file is written once its contracts are up
                from paygo_desktop.sandbox.state import read_state

                if await asyncio.to_thread(read_state, self.ctx.data_dir.sandbox_dir) is None:
                    return None
            return await load_balances(self.ctx)

        def done(result: list[Balance] | None) -> None:
            if result is None:
                self._fill_balances([], "Waiting for the sandbox: its chain and contracts are being set up…")
                return
            self.balances = result
            read = f"On {network.name}, read {local_time(datetime.now(UTC))}."
            self._fill_balances(result, f"{read} {values_note(network)}")

        def failed(message: str) -> None:
            self._fill_balances(
                self.balances or [], f"Balances could not be read from {network.name}: {message}"
            )

        self.balance_reads.request(read, done, failed=failed)

    def _fill_balances(self, balances: list[Balance], note: str) -> None:
        self.balance_table.setRowCount(len(balances))
        for row, balance in enumerate(balances):
            amount = QTableWidgetItem(balance.amount.format(max_decimals=6))
            amount.setToolTip(balance.amount.format())  # exact, all decimals
            amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value = QTableWidgetItem(balance.fiat)  # beside the amount, never instead of it
            value.setToolTip(balance.fiat_note)
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for col, item in enumerate(
                (QTableWidgetItem(balance.where), amount, value, QTableWidgetItem(balance.detail))
            ):
                self.balance_table.setItem(row, col, item)
        self.balance_note.setText(note)
        rows = sum(self.balance_table.rowHeight(r) for r in range(min(len(balances), 9)))
        header = self.balance_table.horizontalHeader().height()
        fit = max(130, rows + header + 4)  # every balance in sight (up to 9) without scrolling
        self.balance_table.setMinimumHeight(fit)
        self.balance_table.setMaximumHeight(fit)

    # ---- running sessions
    def refresh_meters(self) -> None:
        visible = self.live_sessions is not None
        self.sessions_title.setVisible(visible)
        self.sessions_list.setVisible(visible)
        if self.live_sessions is None:
            return
        try:
            running = list(self.live_sessions())
        except Exception:
            log.exception("live_sessions() failed")
            running = []
        self.sessions_list.clear()
        if not running:
            placeholder = QListWidgetItem("No session is running. Start one from the Services page.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.sessions_list.addItem(placeholder)
        for session in running:
            self.sessions_list.addItem(QListWidgetItem(meter_line(session)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.live_sessions is not None:
            self.meter_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.meter_timer.stop()
        super().hideEvent(event)

    def _selection_changed(self) -> None:
        if self._refreshing:
            return
        rows = self.accounts.selectionModel().selectedRows()
        if rows:
            item = self.accounts.item(rows[0].row(), 1)
            if item is not None:
                self.active_account_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
                QTimer.singleShot(0, self._load_balances)  # once the choice is saved
