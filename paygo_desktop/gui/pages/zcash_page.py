"""The Zcash page: spending permissions per provider, buying one (its form: gui/zcash/permission_form.py;
the ZIP-321 request as URI and QR), "I have paid" with its visible states, revoke, the fall-back choice,
renewal reminders and the trust check.

The permission book (``ctx.zcash_book``, Qt-free) does the work; its reads and writes and the calls to
providers go through the ``TaskRunner``, never on the GUI thread (``reload`` reads the book in a worker and
fills the table when it returns; "Reading your permissions…" shows until the first read is in). Reminders
are checked once a minute and handed to the notifier the window was given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.gui.async_tasks import NewestRead, Task, TaskRunner
from paygo_desktop.gui.format import local_time
from paygo_desktop.gui.notifier import Notifier
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.qr_view import QrView
from paygo_desktop.gui.zcash.permission_form import PermissionForm

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

COLUMNS = (
    "Provider",
    "Amount",
    "Rate / hour",
    "Hours bought",
    "Hours used",
    "Hours left",
    "Status",
    "Payment",
    "Expires",
)
PAYMENT_CELL = {
    "awaiting_payment": "Not seen yet",
    "seen": "Seen, confirming",
    "underpaid": "Underpaid",
    "confirmed": "Paid",
}
REMINDER_CHECK_MS = 60_000
REFRESH_EVERY_CHECKS = 5  # ask the providers every 5 minutes while a permission is not over
VERIFICATION_STEPS = (
    ("awaiting_payment", "Awaiting payment"),
    ("seen", "Seen"),
    ("confirmed", "Confirmed"),
)
INTRO = (
    "A spending permission is ZEC you pay a provider once, from any Zcash wallet; its services then bill "
    "your use by the hour from it, without a payment each time. Create one below, pay the request it shows, "
    "then press “I have paid”."
)


def zec(zat: int) -> str:
    from paygo_desktop.zcash.amounts import format_zec

    return f"{format_zec(zat)} ZEC"


PERMISSIONS = Changes(permissions=True)


class ZcashPage(Page):
    key = "zcash"
    title = "Zcash"
    shows = Changes(permissions=True, network=True, providers=True, accounts=True)
    stale_after = 60.0  # the providers' figures: a later visit asks them again

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        notifier: Notifier | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.notifier = notifier
        self.views: list[Any] = []
        self._revoke_armed: tuple[str, str] | None = None
        self._checks = 0
        self.loaded = False  # the book was read once (``reload``)

        intro = QLabel(INTRO)
        intro.setObjectName("Hint")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.message = InlineMessage(self, "Zcash message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.message)
        self.reads = NewestRead(runner, "zcash-read", failed=self.message.error, parent=self)  # the book's
        self.warnings = InlineMessage(self, "Trust check")
        self.warnings.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.warnings)

        self._build_permissions()
        self._connect()

    def _build_permissions(self) -> None:
        """The permissions' table (or why it is empty), their actions, and the forms to buy and pay one."""
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Zcash permissions")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.empty = EmptyState(
            "No Zcash permissions yet",
            "You have not bought a spending permission from a provider. Create one with the form below.",
            "Each permission appears here with its amount, rate, hours used and left, status and expiry.",
        )
        self.reading = QLabel("Reading your permissions…")
        self.reading.setObjectName("Hint")
        self.reading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.reading)  # until the book is first read
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.layout_.addWidget(self.stack, 1)

        actions = QHBoxLayout()
        self.paid_button = QPushButton("I have paid")
        self.paid_button.setAccessibleName("I have paid: check the payment")
        self.revoke_button = QPushButton("Revoke…")
        self.revoke_button.setAccessibleName("Revoke the permission")
        self.fallback = QCheckBox("When it runs out, continue on my escrow channel")
        self.fallback.setAccessibleName("Fall back to the escrow channel")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Ask the providers for the latest figures")
        for widget in (self.paid_button, self.revoke_button, self.fallback):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)
        self.layout_.addLayout(actions)

        bottom = QHBoxLayout()
        self.create_form = PermissionForm(self.ctx, self.runner, self._created)
        bottom.addWidget(self.create_form, 1)
        bottom.addWidget(self._build_request_panel(), 1)
        self.layout_.addLayout(bottom)

    def _connect(self) -> None:
        """What each control does, and the minute timer of the reminders."""
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.paid_button.clicked.connect(self.verify_selected)
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.fallback.toggled.connect(self._fallback_toggled)
        self.refresh_button.clicked.connect(self.refresh_from_providers)
        self.timer = QTimer(self)
        self.timer.setInterval(REMINDER_CHECK_MS)
        self.timer.timeout.connect(self._tick)
        self._selection_changed()

    @property
    def book(self) -> Any:
        return self.ctx.zcash_book

    # -- building ----------------------------------------------------------------------------------------
    def _build_request_panel(self) -> QGroupBox:
        box = QGroupBox("Payment request")
        self.request_box = box
        row = QHBoxLayout(box)
        self.qr = QrView("Payment request QR code")
        row.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        self.request_text = QLabel("Select a permission to see how to pay it.")
        self.request_text.setWordWrap(True)
        self.request_text.setTextFormat(Qt.TextFormat.PlainText)
        self.request_text.setAccessibleName("How to pay")
        uri_row = QHBoxLayout()
        self.uri = QLineEdit()
        self.uri.setReadOnly(True)
        self.uri.setAccessibleName("Payment request (ZIP-321 URI)")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the payment request")
        self.copy_button.clicked.connect(self._copy_uri)
        uri_row.addWidget(self.uri, 1)
        uri_row.addWidget(self.copy_button)
        self.steps = QLabel()
        self.steps.setAccessibleName("Payment check")
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setAccessibleName("Payment state")
        for widget in (self.request_text, self.steps, self.state):
            column.addWidget(widget)
        column.addLayout(uri_row)
        column.addStretch(1)
        row.addLayout(column, 1)
        return box

    # -- showing -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the book (in a worker), then ask the providers about the permissions not over yet."""
        self.create_form.fill_providers()
        self.reload(then=self.refresh_from_providers)

    def reload(self, then: Callable[[], None] | None = None) -> None:
        """Read the book in a worker thread; the table shows it when it returns, then ``then`` runs. Of
        reads that overlap, only the latest one is shown, and every ``then`` asked for meanwhile runs after
        it (a read overtaken by another does not drop its caller's next step; ``NewestRead``)."""
        self.reads.request(self.book.all, self._show_views, then=then)

    def _show_views(self, views: list[Any]) -> None:
        selected = self.selected()
        key = (selected.provider_url, selected.permission_id) if selected else None
        self.loaded = True
        self.views = views
        self.table.setRowCount(len(self.views))
        for row, view in enumerate(self.views):
            cells = (
                view.provider_name,
                zec(view.amount_zat),
                zec(view.rate_per_hour_zat),
                view.max_hours,
                view.used_hours,
                view.remaining_hours,
                view.status_text,
                PAYMENT_CELL.get(view.verification or "", "Not checked yet"),
                local_time(datetime.fromtimestamp(view.expires_at, UTC)),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 1 <= column <= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 0:
                    item.setToolTip(view.provider_url)
                self.table.setItem(row, column, item)
            if key == (view.provider_url, view.permission_id):
                self.table.selectRow(row)
        self.stack.setCurrentWidget(self.table if self.views else self.empty)
        warnings = [w for w in (v.trust_warning for v in self.views) if w]
        if warnings:
            self.warnings.error("\n".join(warnings))
        else:
            self.warnings.clear_message()
        if self.views and self.selected() is None:
            self.table.selectRow(0)
        self._selection_changed()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.views):
            return None
        return self.views[rows[0].row()]

    def select(self, provider_url: str, permission_id: str) -> None:
        for row, view in enumerate(self.views):
            if (view.provider_url, view.permission_id) == (provider_url, permission_id):
                self.table.selectRow(row)

    def _selection_changed(self) -> None:
        view = self.selected()
        self._disarm_revoke()
        over = view is None or view.status.is_terminal
        self.paid_button.setEnabled(view is not None and view.status.value == "pending_payment")
        self.revoke_button.setEnabled(not over and view is not None and view.has_token)
        self.fallback.blockSignals(True)
        self.fallback.setChecked(bool(view and view.allow_fallback))
        self.fallback.setEnabled(not over)
        self.fallback.blockSignals(False)
        self._show_request(view)

    def _show_request(self, view: Any) -> None:
        if view is None:
            self.qr.set_data("")
            self.uri.clear()
            self.steps.clear()
            self.state.clear()
            self.request_text.setText("Select a permission to see how to pay it.")
            self.request_box.setTitle("Payment request")
            self.copy_button.setEnabled(False)
            return
        self.request_box.setTitle(f"Payment request: {zec(view.amount_zat)} to {view.provider_name}")
        pending = view.status.value == "pending_payment"
        self.qr.set_data(view.payment_uri if pending else "")
        self.qr.setVisible(pending)
        self.uri.setText(view.payment_uri)
        self.uri.setCursorPosition(0)  # show where it starts: zcash:<address>
        self.copy_button.setEnabled(True)
        if pending:
            memo = (
                " Keep the memo it carries: it ties the payment to this permission."
                if view.is_shielded
                else ""
            )
            self.request_text.setText(
                f"Scan the code with your Zcash wallet, or copy the request below into it, and pay exactly "
                f"{zec(view.amount_zat)}.{memo} Then press “I have paid”."
            )
        else:
            self.request_text.setText(
                f"{view.status_text}: {view.used_hours} of {view.max_hours} hours used, "
                f"{view.remaining_hours} left at {zec(view.rate_per_hour_zat)} per hour."
            )
        current = view.verification or "awaiting_payment"
        parts = []
        for code, label in VERIFICATION_STEPS:
            parts.append(f"<b>{label}</b>" if code == current else label)
        self.steps.setText("  ›  ".join(parts))
        state = view.verification_text if view.verification == "seen" and view.confirmations else ""
        if view.verification == "underpaid":
            state = "The provider saw less than the amount asked; pay the difference to the same request."
        self.state.setText(state)

    # -- actions -----------------------------------------------------------------------------------------
    def _created(self, view: Any) -> None:
        """A permission was created (``PermissionForm``): show it, selected, and tell the other pages."""
        self.reload(then=lambda: self.select(view.provider_url, view.permission_id))
        self.announce(PERMISSIONS)

    def verify_selected(self) -> None:
        view = self.selected()
        if view is None:
            return
        self.paid_button.setEnabled(False)
        self.state.setText("Asking the provider whether the payment arrived…")

        def done(updated: Any) -> None:
            self.reload()
            self.announce(PERMISSIONS)
            if updated.status.value == "active":
                self.message.ok(f"Your permission with {updated.provider_name} is active.")
            elif updated.verification == "awaiting_payment":
                self.message.ok(
                    "The provider has not seen the payment yet. A new payment can take a minute to reach "
                    "it; press “I have paid” again shortly."
                )
            else:
                self.message.ok(f"{updated.verification_text}. Press “I have paid” again in a few minutes.")

        self._run(self.book.verify(view.provider_url, view.permission_id), done, "zcash-verify")

    def revoke_selected(self) -> None:
        view = self.selected()
        if view is None:
            return
        key = (view.provider_url, view.permission_id)
        if self._revoke_armed != key:
            self._revoke_armed = key
            self.revoke_button.setText("Revoke now")
            self.message.error(
                f"Revoking ends this permission with {view.provider_name} for good: no session can use its "
                f"{view.remaining_hours} remaining hours. Press “Revoke now” to confirm."
            )
            return
        self._disarm_revoke()
        self.revoke_button.setEnabled(False)

        def done(updated: Any) -> None:
            self.reload()
            self.announce(PERMISSIONS)
            self.message.ok(f"The permission with {updated.provider_name} is revoked.")

        self._run(self.book.revoke(view.provider_url, view.permission_id), done, "zcash-revoke")

    def _disarm_revoke(self) -> None:
        self._revoke_armed = None
        self.revoke_button.setText("Revoke…")

    def _fallback_toggled(self, checked: bool) -> None:
        view = self.selected()
        if view is None:
            return

        def done(_result: object) -> None:
            self.reload()
            self.announce(PERMISSIONS)

        self.runner.run(
            self.book.set_allow_fallback,
            view.provider_url,
            view.permission_id,
            checked,
            on_success=done,
            on_error=self.message.error,
            name="zcash-fallback",
        )

    def _copy_uri(self) -> None:
        QGuiApplication.clipboard().setText(self.uri.text())
        self.message.ok("Payment request copied.")

    def _run(self, work: Any, done: Any, name: str) -> None:
        def failed(message: str) -> None:
            self.message.error(message)
            self._selection_changed()

        self.message.clear_message()
        self.runner.run(work, on_success=done, on_error=failed, name=name)

    # -- background: providers' figures and reminders -----------------------------------------------------
    def refresh_from_providers(self) -> None:
        if not any(not v.stored_status.is_terminal for v in self.views):
            return
        self.refresh_button.setEnabled(False)

        def done(report: Any) -> None:
            self.refresh_button.setEnabled(True)
            self.reload()
            if report.problems:
                self.message.error("Some providers could not be asked:\n" + "\n".join(report.problems))
            self.check_reminders()

        def failed(message: str) -> None:
            self.refresh_button.setEnabled(True)
            self.message.error(message)

        self.runner.run(self.book.refresh_all(), on_success=done, on_error=failed, name="zcash-refresh")

    def check_reminders(self) -> Task | None:
        """Show each reminder that is due and was never shown (the book remembers across restarts); the
        book is read in a worker thread. Returns the check's task (None without a notifier)."""
        notifier = self.notifier
        if notifier is None:
            return None

        def show(reminders: list[Any]) -> None:
            for reminder in reminders:
                notifier.notify(reminder.title, reminder.text)

        return self.runner.run(self.book.due_reminders, on_success=show, name="zcash-reminders")

    def start_watching(self) -> None:
        """The app is open (unlocked): check reminders now and once a minute."""
        if not self.timer.isActive():
            self.timer.start()
            QTimer.singleShot(0, self.check_reminders)

    def stop_watching(self) -> None:
        """Locked or closing: no reminders on the lock screen."""
        self.timer.stop()

    def _tick(self) -> Task | None:
        self._checks += 1
        if self._checks % REFRESH_EVERY_CHECKS == 0:
            self.refresh_from_providers()
        return self.check_reminders()
