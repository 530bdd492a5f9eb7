"""Home: the wallet's accounts, the network in use, and the recent activity log. Real data only."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from paygo_desktop.context import AppContext
from paygo_desktop.gui.format import local_time
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.empty_state import EmptyState

KIND_NAMES = {"hd": "From recovery phrase", "private_key": "Imported key", "keystore": "Imported keystore"}


class HomePage(Page):
    key = "home"
    title = "Home"
    active_account_chosen = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        row = QHBoxLayout()
        self.network_label = QLabel()
        self.network_label.setAccessibleName("Current network")
        row.addWidget(self.network_label)
        row.addStretch(1)
        self.layout_.addLayout(row)

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
        self.accounts.setMaximumHeight(180)
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
        self._refreshing = True
        try:
            network = self.ctx.network
            self.network_label.setText(f"Network: <b>{network.name}</b> (chain id {network.chain_id})")
            records = self.ctx.accounts.list()
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
            self.activity.clear()
            entries = self.ctx.activity.recent(50)
            if not entries:
                placeholder = QListWidgetItem("Nothing has happened yet.")
                placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
                self.activity.addItem(placeholder)
            for entry in entries:
                line = QListWidgetItem(f"{local_time(entry.at)}   {entry.message}")
                if entry.is_error:
                    line.setForeground(Qt.GlobalColor.red)
                self.activity.addItem(line)
        finally:
            self._refreshing = False

    def _selection_changed(self) -> None:
        if self._refreshing:
            return
        rows = self.accounts.selectionModel().selectedRows()
        if rows:
            item = self.accounts.item(rows[0].row(), 1)
            if item is not None:
                self.active_account_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
