"""The Escrow page: the account's balances, send and receive, its escrow channels, and its transactions.

Everything is read in one background task (``EscrowService.overview``); while it runs the page says so,
and if the network cannot be reached, or is the wrong one, it says that with a Retry button instead of
freezing. Each action asks the core for a plan and hands it to the transaction dialog. Transactions still
open (also those left by an earlier run) are watched on a timer until they settle.

A channel's row names its provider as the app's sessions knew it, and counts what those sessions signed
but the provider has not claimed yet (it claims in batches) as paid: "Available" is what is really left.
When the chain paid the provider more than the sessions settled at (a claim took a voucher one tick ahead
before its session settled lower), the row says so: that part is paid ahead, and the next session uses it.
What each row says is worked out in ``gui/escrow/rows.py``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.escrow.actions import EscrowActions
from paygo_desktop.gui.escrow.rows import (
    AMOUNT_COLUMNS,
    CHANNEL_COLUMNS,
    TX_COLUMNS,
    WITHDRAWAL_COLUMN,
    channel_cells,
    channel_tip,
    transaction_status,
    withdrawal_text,
)
from paygo_desktop.gui.escrow.tables import fit_height, read_only_table, section
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

    # the dialog pulls in web3 and eth_account: imported when a transaction starts
    from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog
    from paygo_desktop.sessions.history import ChannelsSeen
    from paygo_desktop.wallet import Wallet

WATCH_MS = 3000
LOOKALIKE_ROW = "Another signer: do not add funds"  # the row's note; the warning above says it all
BALANCES_PER_ROW = 4  # six tokens and ETH fit the page's width in two rows


class EscrowPage(EscrowActions, Page):
    key = "escrow"
    title = "Escrow"
    shows = Changes(
        channels=True, balances=True, transactions=True, network=True, accounts=True, sessions=True
    )
    stale_after = 30.0  # balances and channels are the chain's: a later visit reads them again

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        *,
        watch_ms: int = WATCH_MS,
        poll_ms: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._wallet = wallet
        self.poll_ms = poll_ms
        self.service: Any = None
        self._service_key: tuple[Any, ...] | None = None
        self.overview: Any = None
        self._loading = False
        self._reload_again = False
        self._due: dict[str, float] = {}  # channel id -> monotonic time its withdrawal is due
        self.dialog: Any = None  # the dialog open now (a form or a transaction), for tests and focus
        self.flow_dialog: TransactionDialog | None = None

        self._build_top()
        self._build_views()
        self._build_content()
        self._build_timers(watch_ms)

    def _build_top(self) -> None:
        """The account, the actions and the busy line."""
        top = QHBoxLayout()
        self.account_label = QLabel()
        self.account_label.setObjectName("Hint")
        self.account_label.setAccessibleName("Account and network")
        top.addWidget(self.account_label, 1)
        self.send_button = QPushButton("Send")
        self.receive_button = QPushButton("Receive")
        self.add_token_button = QPushButton("Add token…")
        self.add_token_button.setToolTip("List another ERC-20 token of this network, by its contract address")
        self.deposit_button = QPushButton("New deposit")
        self.deposit_button.setObjectName("Primary")
        self.deposit_button.setToolTip("Open an escrow channel with a provider and put money in it")
        self.refresh_button = QPushButton("Refresh")
        self.send_button.clicked.connect(self.open_send)
        self.receive_button.clicked.connect(self.open_receive)
        self.add_token_button.clicked.connect(self.open_add_token)
        self.deposit_button.clicked.connect(self.open_new_deposit)
        self.refresh_button.clicked.connect(self.reload)
        buttons = (self.send_button, self.receive_button, self.add_token_button, self.deposit_button)
        for button in (*buttons, self.refresh_button):
            button.setAccessibleName(button.text())
            top.addWidget(button)
        self.layout_.addLayout(top)
        self.busy = BusyIndicator("Reading balances and channels from the network…")
        self.layout_.addWidget(self.busy)

    def _build_views(self) -> None:
        """The page's three states: the first read, the network not answering, the content."""
        self.stack = QStackedWidget()
        self.layout_.addWidget(self.stack, 1)
        # -- nothing yet: first load
        self.loading_view = QLabel("Reading balances and channels from the network…")
        self.loading_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading_view)
        # -- the network could not be read
        self.error_view = QWidget()
        error_layout = QVBoxLayout(self.error_view)
        error_layout.addStretch(1)
        self.error_title = QLabel("Could not read the network")
        self.error_title.setObjectName("EmptyTitle")
        self.error_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_text = QLabel()
        self.error_text.setWordWrap(True)
        self.error_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_text.setAccessibleName("Error")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Retry reading the network")
        self.retry_button.clicked.connect(self.reload)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        for widget in (self.error_title, self.error_text):
            error_layout.addWidget(widget)
        error_layout.addLayout(row)
        error_layout.addStretch(2)
        self.stack.addWidget(self.error_view)
        # -- the content
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        self.content_layout = QVBoxLayout(content)
        self.content_layout.setContentsMargins(0, 0, 8, 0)
        scroll.setWidget(content)
        self.content_view = scroll
        self.stack.addWidget(scroll)

    def _build_content(self) -> None:
        """Balances, a nonce gap, the escrow channels and the transactions."""
        self.content_layout.addWidget(section("Balances", "What this account holds on this network."))
        self.balances_box = QWidget()
        self.balances_row = QGridLayout(self.balances_box)  # cards in rows of BALANCES_PER_ROW
        self.balances_row.setContentsMargins(0, 0, 0, 0)
        self.content_layout.addWidget(self.balances_box)
        self.balance_labels: list[QLabel] = []
        self.notice = InlineMessage(self, "Page message")
        self.content_layout.addWidget(self.notice)

        self.gap_box = QFrame()
        self.gap_box.setObjectName("Card")
        gap_layout = QHBoxLayout(self.gap_box)
        self.gap_text = QLabel()
        self.gap_text.setWordWrap(True)
        self.gap_text.setAccessibleName("Nonce gap")
        self.fill_gap_button = QPushButton("Fill the gap")
        self.fill_gap_button.setAccessibleName("Fill the nonce gap")
        self.fill_gap_button.setToolTip("Send an empty transfer to yourself with the missing nonce")
        self.fill_gap_button.clicked.connect(self.fill_gap)
        gap_layout.addWidget(self.gap_text, 1)
        gap_layout.addWidget(self.fill_gap_button)
        self.gap_box.hide()
        self.content_layout.addWidget(self.gap_box)

        self.content_layout.addWidget(
            section(
                "Escrow channels",
                "Money you put in the PayGo vault for one provider. Sessions pay from it second by second "
                "with signed vouchers, which the provider claims in batches. What is available you can "
                "use for new sessions or withdraw (paid after the channel's delay); Close settles with the "
                "provider at once (it signs its total, you sign the same) and ends the channel: the next "
                "session opens a new one.",
            )
        )
        # channels someone else made in this account's name with another signer: said in full, above them
        self.lookalike_note = InlineMessage(self, "Channels with another signer")
        self.content_layout.addWidget(self.lookalike_note)
        self.channels_table = read_only_table(CHANNEL_COLUMNS, "Escrow channels", stretch=0)
        self.channels_empty = QLabel(
            "No escrow channels yet. A deposit with a provider opens one: use New deposit, or start a "
            "session from the Services page."
        )
        self.channels_empty.setWordWrap(True)
        self.channels_empty.setAccessibleName("No escrow channels")
        self.content_layout.addWidget(self.channels_table)
        self.content_layout.addWidget(self.channels_empty)

        self.content_layout.addWidget(
            section("Transactions", "Sent from this app with this account; open ones are watched.")
        )
        self.tx_table = read_only_table(TX_COLUMNS, "Transactions")
        self.tx_empty = QLabel("No transactions sent from this app with this account yet.")
        self.tx_empty.setAccessibleName("No transactions")
        self.content_layout.addWidget(self.tx_table)
        self.content_layout.addWidget(self.tx_empty)
        self.content_layout.addStretch(1)

    def _build_timers(self, watch_ms: int) -> None:
        """The watch of open transactions and the countdown of withdrawals."""
        self.watch_timer = QTimer(self)
        self.watch_timer.setInterval(watch_ms)
        self.watch_timer.timeout.connect(self.reload)
        self.countdown_timer = QTimer(self)
        self.countdown_timer.setInterval(1000)
        self.countdown_timer.timeout.connect(self._tick)

    # -- the core, for this network and account ------------------------------------------------------------
    def account(self) -> str | None:
        records = self.ctx.accounts.list()
        if not records:
            return None
        active = (self.ctx.settings.active_account or "").lower()
        for record in records:
            if record.address.lower() == active:
                return str(record.address)
        return str(records[0].address)

    def wallet(self) -> Wallet:
        return self._wallet() if callable(self._wallet) else self._wallet

    def current_setup(self) -> Any:
        """What the EscrowService for the current network and account is made of (``escrow.service``), or
        None without an account. SQL and files: called off the GUI thread (``reload`` does)."""
        from paygo_desktop.escrow.service import EscrowSetup

        account = self.account()
        return None if account is None else EscrowSetup.read(self.ctx, account)

    async def release(self) -> None:
        if self.service is not None:
            await self.service.aclose()  # its node connection, closed before the app quits

    def _use_service(self, setup: Any) -> Any:
        """On the GUI thread: the service for ``setup``, made again when its network, account, vault or
        tokens changed (the one it replaces is closed)."""
        from paygo_desktop.escrow.service import EscrowService

        if setup is None:
            return None
        if setup.key != self._service_key or self.service is None:
            old = self.service
            self.service = EscrowService.build(self.ctx.store, setup)
            self._service_key, self.overview = setup.key, None
            if old is not None:
                self.runner.run(old.aclose(), name="escrow-close-rpc")
        return self.service

    # -- loading -------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.reload()

    def start_watching(self) -> None:
        """At start-up: pick up transactions left open by an earlier run, even before the page is shown."""
        from paygo_desktop.store.transactions import TransactionRepository

        store, ctx = self.ctx.store, self.ctx

        def any_open() -> bool:  # SQL: off the GUI thread
            found = self.account() is not None
            return found and bool(TransactionRepository(store).open(ctx.network.chain_id))

        self.runner.run(
            any_open, on_success=lambda found: self.reload() if found else None, name="escrow-open-txs"
        )

    def reload(self) -> None:
        """Open the service for the current network and account (off the GUI thread), then read it all."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        self._reload_again = False

        def failed(message: str) -> None:
            self._loading = False
            self._show_error(message)
            self._again()

        self.runner.run(self.current_setup, on_success=self._load, on_error=failed, name="escrow-setup")

    def _load(self, setup: Any) -> None:
        service = self._use_service(setup)
        if service is None:
            self._loading = False
            self.account_label.setText("No account yet.")
            self._show_error("There is no account in this wallet yet.", title="No account")
            return
        network = service.network
        self.account_label.setText(f"Account {short_address(service.account)} on {network.name}")
        self.account_label.setToolTip(service.account)
        if self.overview is None:
            self.stack.setCurrentWidget(self.loading_view)
        self.busy.start()
        self.refresh_button.setEnabled(False)

        store = self.ctx.store

        async def read() -> tuple[Any, Any]:
            import asyncio

            from paygo_desktop.sessions.history import SessionHistory

            overview = await service.overview()
            channels = [(c.channel_id, c.state.claimed, c.closed) for c in overview.channels]
            seen = await asyncio.to_thread(SessionHistory(store).channels_seen, channels)
            return overview, seen

        def done(result: tuple[Any, Any]) -> None:
            self._finish_loading()
            if service is self.service:
                self.show_overview(*result)
            self._again()

        def failed(message: str) -> None:
            self._finish_loading()
            if service is self.service:
                self._show_error(message)
            self._again()

        self.runner.run(read(), on_success=done, on_error=failed, name="escrow-overview")

    def _finish_loading(self) -> None:
        self._loading = False
        self.busy.stop()
        self.refresh_button.setEnabled(True)

    def _again(self) -> None:
        if self._reload_again:
            self.reload()

    def _show_error(self, message: str, title: str = "Could not read the network") -> None:
        self.overview = None
        self.watch_timer.stop()
        self.countdown_timer.stop()
        self.error_title.setText(title)
        self.error_text.setText(message)
        self.retry_button.setVisible(title != "No account")
        for button in (self.send_button, self.deposit_button):
            button.setEnabled(False)
        self.receive_button.setEnabled(self.service is not None)
        self.stack.setCurrentWidget(self.error_view)

    # -- drawing ---------------------------------------------------------------------------------------------
    def show_overview(self, overview: Any, seen: ChannelsSeen) -> None:
        """The service's overview, with what this app's sessions say about its channels."""
        self.overview = overview
        self.stack.setCurrentWidget(self.content_view)
        self.send_button.setEnabled(True)
        self.receive_button.setEnabled(True)
        self.deposit_button.setEnabled(not overview.vault_missing)
        self.deposit_button.setToolTip(
            f"PayGo's vault is not deployed on {self.ctx.network.name} yet"
            if overview.vault_missing
            else "Open an escrow channel with a provider and put money in it"
        )
        self._show_balances(overview.balances, overview.prices)
        self._show_gaps(overview.nonce_gaps)
        self._show_channels(overview, seen)
        self._show_transactions(overview)
        if overview.open_transactions:
            self.watch_timer.start()
        else:
            self.watch_timer.stop()

    def _show_balances(self, balances: list[Any], prices: Any = None) -> None:
        while self.balances_row.count():
            item = self.balances_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.balance_labels = []
        for index, amount in enumerate(balances):
            text = html.escape(amount.format(max_decimals=6))
            value = html.escape(prices.text(amount)) if prices is not None else "—"  # beside, never instead
            label = QLabel(f"<span style='font-size:18px'>{text}</span><br><span>{value}</span>")
            label.setAccessibleName(f"Balance {amount.asset.symbol}")
            note = prices.note(amount.asset) if prices is not None else "No price feeds on this network."
            label.setToolTip(f"{amount.format()}\n{note}")
            label.setObjectName("Card")
            label.setContentsMargins(12, 8, 12, 8)
            self.balances_row.addWidget(label, index // BALANCES_PER_ROW, index % BALANCES_PER_ROW)
            self.balance_labels.append(label)
        self.balances_row.setColumnStretch(BALANCES_PER_ROW, 1)

    def _show_gaps(self, gaps: list[int]) -> None:
        self.gap_box.setVisible(bool(gaps))
        if gaps:
            self.gap_text.setText(
                f"Transactions from this account are held back: nonce {gaps[0]} was never sent from here "
                "(or it was dropped). Until that nonce is used, later transactions cannot be mined."
            )

    def _show_channels(self, overview: Any, seen: ChannelsSeen) -> None:
        channels = overview.channels
        table = self.channels_table
        table.setRowCount(0)  # the old rows' widgets go first
        table.setRowCount(len(channels))
        self.channel_buttons: dict[str, dict[str, QPushButton]] = {}
        self._due = {}
        now = time.monotonic()
        for row, channel in enumerate(channels):
            due_in = channel.withdrawal_due_in(overview.chain_time)
            if due_in is not None:
                self._due[channel.channel_id] = now + due_in
            cells = channel_cells(channel, seen, overview.prices, self._withdrawal_text(channel))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(channel_tip(channel, column))
                if column in AMOUNT_COLUMNS:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
            table.setCellWidget(row, len(CHANNEL_COLUMNS) - 1, self._channel_actions(channel))
        fit_height(table)
        table.setVisible(bool(channels))
        warnings = [
            f"The channel {short_address(c.channel_id)} with {short_address(c.provider)} is not yours to "
            f"fill. {c.warning}"
            for c in channels
            if c.warning is not None and not c.closed
        ]
        if warnings:
            self.lookalike_note.error("\n".join(warnings))
        else:
            self.lookalike_note.clear_message()
        if overview.vault_missing:
            self.channels_empty.setText(
                f"PayGo's vault is not deployed on {self.ctx.network.name} yet, so escrow is not "
                "available here."
            )
        self.channels_empty.setVisible(not channels)
        if self._due:
            self.countdown_timer.start()
        else:
            self.countdown_timer.stop()

    def _withdrawal_text(self, channel: Any) -> str:
        return withdrawal_text(channel, self._seconds_left(channel.channel_id))

    def _seconds_left(self, channel_id: str) -> int:
        due = self._due.get(channel_id)
        return 0 if due is None else max(0, int(due - time.monotonic() + 0.999))

    def _channel_actions(self, channel: Any) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(2, 0, 2, 0)
        if not channel.can_act or channel.closed:
            text = "Closed for good" if channel.closed else "View only: funded through another contract"
            note = QLabel(text)
            note.setObjectName("Hint")
            note.setAccessibleName(f"{text}: channel {short_address(channel.provider)}")
            layout.addWidget(note)
            return box
        if channel.warning is not None:  # a look-alike: its money is only ever taken out, never put in
            note = QLabel(LOOKALIKE_ROW)
            note.setObjectName("ErrorText")
            note.setToolTip(channel.warning)
            note.setAccessibleName(f"{channel.warning} Channel {channel.channel_id}")
            layout.addWidget(note)
            names: tuple[str, ...] = ("withdraw", "finalize")
        else:
            names = ("top_up", "withdraw", "finalize", "close")
        buttons = {
            name: QPushButton(text)
            for name, text in (
                ("top_up", "Top up"),
                ("withdraw", "Withdraw…"),
                ("finalize", "Finalize"),
                ("close", "Close"),
            )
            if name in names
        }
        tips = {
            "top_up": "Add money to this channel",
            "withdraw": "Ask for money back; it is paid after the channel's delay",
            "close": "Settle with the provider now: it signs a close at its total, you sign the same total, "
            "and the rest comes back at once. The channel is then closed for good.",
        }
        for name, button in buttons.items():
            button.setToolTip(tips.get(name, ""))
        actions = {
            "top_up": self.open_top_up,
            "withdraw": self.open_withdraw,
            "finalize": self.finalize,
            "close": self.close_channel,
        }
        for name, button in buttons.items():
            button.clicked.connect(partial(self._channel_action, actions[name], channel.channel_id))
            button.setAccessibleName(f"{button.text().rstrip('…')} channel {short_address(channel.provider)}")
            button.setObjectName(name)
            layout.addWidget(button)
        buttons["withdraw"].setEnabled(channel.available.units > 0)
        if "close" in buttons:
            buttons["close"].setEnabled(channel.available.units > 0)
        self.channel_buttons[channel.channel_id] = buttons
        self._update_finalize(channel)
        return box

    def _channel_action(self, action: Any, channel_id: str, _checked: bool = False) -> None:
        """A row's button: act on the channel as last read (the row may be rebuilt meanwhile)."""
        for channel in self.overview.channels if self.overview is not None else ():
            if channel.channel_id == channel_id:
                action(channel)
                return

    def _update_finalize(self, channel: Any) -> None:
        button = self.channel_buttons.get(channel.channel_id, {}).get("finalize")
        if button is None:
            return
        if channel.withdrawal_ready_at is None:
            button.setVisible(False)
            return
        left = self._seconds_left(channel.channel_id)
        button.setVisible(True)
        button.setEnabled(left <= 0)
        from paygo_desktop.escrow.service import describe_wait

        button.setText("Finalize" if left <= 0 else f"Finalize in {describe_wait(left)}")

    def _tick(self) -> None:
        if self.overview is None:
            return
        for row, channel in enumerate(self.overview.channels):
            if channel.channel_id in self._due:
                item = self.channels_table.item(row, WITHDRAWAL_COLUMN)
                if item is not None:
                    item.setText(self._withdrawal_text(channel))
                self._update_finalize(channel)

    def _show_transactions(self, overview: Any) -> None:
        records = overview.recent_transactions
        table = self.tx_table
        table.setRowCount(0)
        table.setRowCount(len(records))
        for row, record in enumerate(records):
            status = transaction_status(record)
            when = local_time(record.created_at) if record.created_at else ""
            for column, text in enumerate((when, record.description, status)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\n{record.tx_hash}" if column == 1 else text)
                table.setItem(row, column, item)
            table.setCellWidget(row, 3, self._tx_actions(record))
        fit_height(table)
        table.setVisible(bool(records))
        self.tx_empty.setVisible(not records)

    def _tx_actions(self, record: Any) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(2, 0, 2, 0)
        if record.is_open:
            watch = QPushButton("Speed up or cancel…")
            watch.setAccessibleName(f"Speed up or cancel {record.tx_hash}")
            watch.clicked.connect(partial(self._open_pending_clicked, record.tx_hash))
            layout.addWidget(watch)
        url = self.ctx.network.explorer_tx_url(record.tx_hash)
        if url:
            link = QLabel(f'<a href="{html.escape(url)}">Explorer</a>')
            link.setOpenExternalLinks(True)
            link.setAccessibleName(f"Open {record.tx_hash} in the block explorer")
            layout.addWidget(link)
        layout.addStretch(1)
        return box
