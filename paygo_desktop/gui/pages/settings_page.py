"""Settings: network (with verified custom RPCs), security, appearance and the wallet's accounts.

The networks and the accounts are read in a worker thread (``refresh``) and fill their lists when the read
returns; until the first one is in, the lists say they are being read and the account buttons wait.

A choice takes effect at once (the theme applied, the idle time used; the network switched once its record
is read in a worker) and is written in a worker, in the order the choices were made
(``gui/settings_writes.py``); a write that fails is said beside the choice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.context import AppContext
from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import NewestRead, TaskRunner
from paygo_desktop.gui.dialogs import ImportKeyDialog, MnemonicDialog, PasswordDialog
from paygo_desktop.gui.format import short_address
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.settings_writes import ActivityLine, SettingsWrites
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.fiat import currency_chooser
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.networks import (
    Network,
    NetworkError,
    custom_network,
    default_fee_ceiling,
    format_gwei,
    parse_gwei,
    verify_custom_network,
)
from paygo_desktop.peer_text import is_digits
from paygo_desktop.settings import THEMES, FeeCeilingError
from paygo_desktop.wallet.errors import WrongPassword

if TYPE_CHECKING:
    from paygo_desktop.wallet import Wallet
    from paygo_desktop.wallet.keychain import PasswordKeychain


def _default_keychain() -> Any:
    from paygo_desktop.wallet.keychain import PasswordKeychain

    return PasswordKeychain()


THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
ADDRESS_ROLE = 256  # Qt.ItemDataRole.UserRole: an account item's address
LABEL_ROLE = 257  # and its label


class SettingsPage(Page):
    key = "settings"
    title = "Settings"
    shows = Changes(network=True, accounts=True)
    network_changed = Signal(object)
    fee_ceiling_changed = Signal()  # the network in use holds to another fee ceiling from now on
    theme_changed = Signal(str)
    lock_requested = Signal()
    accounts_changed = Signal()

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        keychain: Callable[[], PasswordKeychain] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.writes = SettingsWrites(ctx, runner, parent=self)  # the choices written in a worker, in order
        self._network_asked: str | None = None  # a network chosen, not switched to yet
        self._ceiling_network: Network | None = (
            None  # the network whose fee ceiling is shown (the one in use)
        )
        self.wallet = wallet
        self.keychain = keychain or _default_keychain
        self.loaded = False  # the networks and accounts were read once (``refresh``)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        body.setMaximumWidth(820)
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 8, 0)
        column.addWidget(self._network_box())
        column.addWidget(self._security_box())
        column.addWidget(self._appearance_box())
        column.addWidget(self._accounts_box())
        column.addStretch(1)
        scroll.setWidget(body)
        self.layout_.addWidget(scroll, 1)
        # the networks and the accounts (``refresh``)
        self.reads = NewestRead(runner, "settings-read", failed=self.accounts_message.error, parent=self)

    # ---- network
    def _network_box(self) -> QGroupBox:
        box = QGroupBox("Network")
        form = QFormLayout(box)
        self.network_combo = QComboBox()
        self.network_combo.setAccessibleName("Network")
        self.network_combo.activated.connect(self._network_chosen)
        self.network_combo.addItem("Reading the networks…")  # no key: choosing it does nothing
        self.network_combo.setEnabled(False)
        form.addRow("Use", self.network_combo)
        self._fee_ceiling_rows(form)
        self.custom_name = QLineEdit()
        self.custom_name.setAccessibleName("Custom network name")
        self.custom_name.setPlaceholderText("e.g. My node")
        self.custom_url = QLineEdit()
        self.custom_url.setAccessibleName("Custom network RPC URL")
        self.custom_url.setPlaceholderText("https://…")
        self.custom_chain = QLineEdit()
        self.custom_chain.setAccessibleName("Custom network chain id")
        self.custom_chain.setValidator(QIntValidator(1, 2_000_000_000))
        self.custom_chain.setPlaceholderText("e.g. 8453")
        self.add_network_button = QPushButton("Check and add network")
        self.add_network_button.setAccessibleName("Check and add custom network")
        self.add_network_button.clicked.connect(self.add_custom_network)
        self.network_busy = BusyIndicator("Asking the RPC for its chain id…")
        self.network_message = InlineMessage(name="Custom network message")
        custom_title = QLabel("Add a custom network")
        custom_title.setObjectName("Hint")
        form.addRow("", custom_title)
        form.addRow("Custom name", self.custom_name)
        form.addRow("RPC URL", self.custom_url)
        form.addRow("Chain id", self.custom_chain)
        form.addRow("", self.add_network_button)
        form.addRow("", self.network_busy)
        form.addRow("", self.network_message)
        return box

    def _fee_ceiling_rows(self, form: QFormLayout) -> None:
        """The network in use's fee ceiling: the most the app signs per unit of gas there, shown and set
        (in gwei; written in a worker)."""
        self.ceiling_edit = QLineEdit()
        self.ceiling_edit.setAccessibleName("Fee ceiling in gwei")
        self.ceiling_edit.setPlaceholderText("e.g. 5")
        self.ceiling_edit.setMaximumWidth(140)
        self.ceiling_edit.returnPressed.connect(self._save_ceiling)
        self.ceiling_save = QPushButton("Save ceiling")
        self.ceiling_save.setAccessibleName("Save fee ceiling")
        self.ceiling_save.clicked.connect(self._save_ceiling)
        self.ceiling_default = QPushButton("Use the network's own")
        self.ceiling_default.setAccessibleName("Use the network's own fee ceiling")
        self.ceiling_default.clicked.connect(self._default_ceiling)
        for widget in (self.ceiling_edit, self.ceiling_save, self.ceiling_default):
            widget.setEnabled(False)  # until the networks are read
        row = QHBoxLayout()
        row.addWidget(self.ceiling_edit)
        row.addWidget(QLabel("gwei per unit of gas"))
        row.addWidget(self.ceiling_save)
        row.addWidget(self.ceiling_default)
        row.addStretch(1)
        form.addRow("Fee ceiling", row)
        self.ceiling_hint = QLabel("")
        self.ceiling_hint.setObjectName("Hint")
        self.ceiling_hint.setWordWrap(True)
        self.ceiling_hint.setTextFormat(Qt.TextFormat.PlainText)  # a custom network's name, as typed
        self.ceiling_hint.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.addRow("", self.ceiling_hint)
        self.ceiling_message = InlineMessage(name="Fee ceiling message")
        form.addRow("", self.ceiling_message)

    def _show_ceiling(self, network: Network) -> None:
        self._ceiling_network = network
        ceiling, own = network.max_fee_per_gas_ceiling, default_fee_ceiling(network)
        self.ceiling_edit.setText(format_gwei(ceiling))
        for widget in (self.ceiling_edit, self.ceiling_save, self.ceiling_default):
            widget.setEnabled(True)
        self.ceiling_default.setEnabled(ceiling != own)
        self.ceiling_hint.setText(
            f"The most the app signs per unit of gas on {network.name}, whatever its node quotes. "
            f"The network's own: {format_gwei(own)} gwei."
        )

    def _save_ceiling(self) -> None:
        if self._ceiling_network is None:
            return
        self.ceiling_message.clear_message()
        try:
            wei = parse_gwei(self.ceiling_edit.text())
        except FeeCeilingError as exc:
            self.ceiling_message.error(str(exc))
            return
        self._set_ceiling(self._ceiling_network, wei)

    def _default_ceiling(self) -> None:
        if self._ceiling_network is not None:
            self.ceiling_message.clear_message()
            self._set_ceiling(self._ceiling_network, None)

    def _set_ceiling(self, network: Network, wei: int | None) -> None:
        """In use at once (the network in use holds to it: ``AppContext.set_fee_ceiling``, no I/O), written
        in a worker with an activity line; said once it is saved."""
        try:
            self.ctx.set_fee_ceiling(network.key, wei)
        except FeeCeilingError as exc:
            self.ceiling_message.error(str(exc))
            return
        shown = self.ctx.configured(network)
        self._show_ceiling(shown)
        self.fee_ceiling_changed.emit()
        gwei = format_gwei(shown.max_fee_per_gas_ceiling)
        own = " (its own)" if wei is None else ""
        line = ActivityLine("network", f"Fee ceiling on {network.name} set to {gwei} gwei{own}", network.key)
        self.writes.save(
            self.ceiling_message.error,
            line,
            saved=lambda: self.ceiling_message.ok(
                f"Saved: on {network.name} the app signs at most {gwei} gwei per unit of gas{own}."
            ),
        )

    def _fill_networks(self, current: str, networks: list[Network]) -> None:
        current = self._network_asked or current  # a choice being switched to stays chosen
        self.network_combo.clear()
        self.network_combo.setEnabled(True)
        for i, network in enumerate(networks):
            self.network_combo.addItem(f"{network.name} (chain id {network.chain_id})", network.key)
            if network.key == current:
                self.network_combo.setCurrentIndex(i)

    def _network_chosen(self, index: int) -> None:
        key = self.network_combo.itemData(index)
        if key and key != (self._network_asked or self.ctx.settings.network):  # the last one chosen
            self._use_network(key)

    def _use_network(self, key: str, then: Callable[[], None] | None = None) -> None:
        """Read the network's record in a worker (after the writes asked before), switch to it here (then
        ``then``), and have the settings and an activity line written in a worker."""
        self._network_asked = key  # chosen: switched to once its record is read

        def failed(message: str) -> None:
            if self._network_asked == key:
                self._network_asked = None
            self.network_message.error(message)
            self._select_network(self._network_asked or self.ctx.settings.network)  # in use, or chosen

        self.writes.run(
            partial(self.ctx.find_network, key),
            on_success=partial(self._switch_network, key, then),
            on_error=failed,
            name="find-network",
        )

    def _switch_network(self, key: str, then: Callable[[], None] | None, network: Network) -> None:
        self.ctx.switch_network(key, network)
        self.ceiling_message.clear_message()
        self._show_ceiling(network)
        if self._network_asked == key:  # the last one chosen: in use now
            self._network_asked = None
        self._select_network(self._network_asked or key)
        self.network_changed.emit(network)
        line = ActivityLine("network", f"Switched to {network.name}", network=network.key)
        self.writes.save(self.network_message.error, line)
        if then is not None:
            then()

    def _select_network(self, key: str) -> None:
        index = self.network_combo.findData(key)
        if index >= 0:
            self.network_combo.setCurrentIndex(index)

    def add_custom_network(self) -> None:
        self.network_message.clear_message()
        try:
            chain_text = self.custom_chain.text().strip()
            if not is_digits(chain_text):
                raise NetworkError("Enter the chain id as a number.")
            network = custom_network(self.custom_name.text(), self.custom_url.text(), int(chain_text))
        except NetworkError as exc:
            self.network_message.error(str(exc))
            return
        self.add_network_button.setEnabled(False)
        self.network_busy.start()

        async def verify_and_save() -> Network:
            verified = await verify_custom_network(network)
            await asyncio.to_thread(self.ctx.networks.save_custom, verified)
            self.ctx.invalidate_network()  # it may be the one in use, saved again
            return verified

        def done(result: object) -> None:
            assert isinstance(result, Network)
            self._custom_done()

            def in_use() -> None:
                self.network_message.ok(
                    f"{result.name} answers with chain id {result.chain_id}; it is now in use."
                )
                self.refresh()  # the list with the new network in it, chosen

            self._use_network(result.key, then=in_use)
            for field in (self.custom_name, self.custom_url, self.custom_chain):
                field.clear()

        def failed(message: str) -> None:
            self._custom_done()
            self.network_message.error(message)

        self.runner.run(verify_and_save(), on_success=done, on_error=failed, name="add-network")

    def _custom_done(self) -> None:
        self.network_busy.stop()
        self.add_network_button.setEnabled(True)

    # ---- security
    def _security_box(self) -> QGroupBox:
        box = QGroupBox("Security")
        form = QFormLayout(box)
        self.idle_spin = QSpinBox()
        self.idle_spin.setAccessibleName("Lock after idle minutes")
        self.idle_spin.setRange(0, 24 * 60)
        self.idle_spin.setSuffix(" min")
        self.idle_spin.setSpecialValueText("Never")
        self.idle_spin.setValue(self.ctx.settings.idle_lock_minutes)
        self.idle_spin.valueChanged.connect(self._idle_changed)
        form.addRow("Lock when idle for", self.idle_spin)
        self.remember_check = QCheckBox("Remember the password in the system keychain")
        self.remember_check.setAccessibleName("Remember password")
        self.remember_check.setChecked(self.ctx.settings.remember_password)
        self.remember_check.toggled.connect(self._remember_changed)
        form.addRow("", self.remember_check)
        self.security_message = InlineMessage(name="Security message")
        form.addRow("", self.security_message)
        self.lock_button = QPushButton("Lock now")
        self.lock_button.setAccessibleName("Lock now")
        self.lock_button.clicked.connect(self.lock_requested)
        form.addRow("", self.lock_button)
        return box

    def _idle_changed(self, value: int) -> None:
        self.ctx.settings.idle_lock_minutes = value  # the idle watcher asks for it: used at once
        self.writes.save(self.security_message.error)

    def _remember_changed(self, checked: bool) -> None:
        """Store the password in the OS keychain (after checking it) or forget it."""
        self.security_message.clear_message()
        wallet = self.wallet()
        keychain = self.keychain()
        if checked:
            password = PasswordDialog.ask(
                self, "Remember the password", "Enter your wallet password to keep it in the system keychain:"
            )
            if password is None:
                self._set_remember_check(False)
                return

            def work() -> None:
                if not wallet.check_password(password):
                    raise WrongPassword()
                keychain.remember(wallet.wallet_id, password)
        else:

            def work() -> None:
                keychain.forget(wallet.wallet_id)

        def done(_result: object) -> None:
            self.ctx.settings.remember_password = checked
            self.writes.save(self.security_message.error)
            self.security_message.ok(
                "The password is kept in the system keychain." if checked else "The password was forgotten."
            )

        def failed(message: str) -> None:
            self._set_remember_check(self.ctx.settings.remember_password)
            self.security_message.error(message)

        self.runner.run(work, on_success=done, on_error=failed, name="remember-password")

    def _set_remember_check(self, checked: bool) -> None:
        self.remember_check.blockSignals(True)
        self.remember_check.setChecked(checked)
        self.remember_check.blockSignals(False)

    # ---- appearance
    def _appearance_box(self) -> QGroupBox:
        box = QGroupBox("Appearance")
        form = QFormLayout(box)
        self.theme_combo = QComboBox()
        self.theme_combo.setAccessibleName("Theme")
        for theme in THEMES:
            self.theme_combo.addItem(THEME_NAMES[theme], theme)
        self.theme_combo.setCurrentIndex(THEMES.index(self.ctx.settings.theme))
        self.theme_combo.activated.connect(self._theme_chosen)
        form.addRow("Theme", self.theme_combo)
        self.currency_combo = currency_chooser(self.ctx.settings.display_currency)
        self.currency_combo.activated.connect(self._currency_chosen)
        form.addRow("Show values in", self.currency_combo)
        self.appearance_message = InlineMessage(name="Appearance message")
        form.addRow("", self.appearance_message)
        return box

    def _currency_chosen(self, index: int) -> None:
        self.ctx.settings.display_currency = self.currency_combo.itemData(index)
        self.writes.save(self.appearance_message.error)

    def _theme_chosen(self, index: int) -> None:
        theme = self.theme_combo.itemData(index)
        self.ctx.settings.theme = theme
        self.theme_changed.emit(theme)  # applied at once
        self.writes.save(self.appearance_message.error)

    # ---- accounts
    def _accounts_box(self) -> QGroupBox:
        box = QGroupBox("Accounts")
        layout = QVBoxLayout(box)
        self.account_list = QListWidget()
        self.account_list.setAccessibleName("Wallet accounts")
        self.account_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.account_list.setMaximumHeight(140)
        reading = QListWidgetItem("Reading the accounts…")
        reading.setFlags(Qt.ItemFlag.NoItemFlags)
        self.account_list.addItem(reading)
        layout.addWidget(self.account_list)
        buttons = QHBoxLayout()
        self.add_hd_button = QPushButton("Add account")
        self.add_hd_button.setToolTip("Derive the next account from the recovery phrase")
        self.rename_button = QPushButton("Rename…")
        self.export_button = QPushButton("Export keystore…")
        self.reveal_button = QPushButton("Show recovery phrase…")
        self.import_button = QPushButton("Import another key…")
        for button, name, slot in (
            (self.add_hd_button, "Add account from recovery phrase", self.add_hd_account),
            (self.rename_button, "Rename account", self.rename_account),
            (self.export_button, "Export keystore file", self.export_keystore),
            (self.reveal_button, "Show recovery phrase", self.reveal_mnemonic),
            (self.import_button, "Import another key", self.import_key),
        ):
            button.setAccessibleName(name)
            button.clicked.connect(slot)
            button.setEnabled(False)  # until the accounts are read (``_fill_accounts``)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.accounts_busy = BusyIndicator()
        self.accounts_message = InlineMessage(name="Accounts message")
        layout.addWidget(self.accounts_busy)
        layout.addWidget(self.accounts_message)
        return box

    def _fill_accounts(self, records: list[Any]) -> None:
        self.account_list.clear()
        for rec in records:
            item = QListWidgetItem(f"{rec.label}  —  {rec.address}")
            item.setData(ADDRESS_ROLE, rec.address)
            item.setData(LABEL_ROLE, rec.label)
            self.account_list.addItem(item)
        if records:
            self.account_list.setCurrentRow(0)
        else:
            placeholder = QListWidgetItem("No accounts yet: create or import a wallet to see them here.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.account_list.addItem(placeholder)
        has_wallet = bool(records)
        self.lock_button.setEnabled(has_wallet)
        self.remember_check.setEnabled(has_wallet)
        for button in (self.rename_button, self.export_button, self.import_button):
            button.setEnabled(has_wallet)
        self.add_hd_button.setEnabled(has_wallet and any(r.kind == "hd" for r in records))
        self.reveal_button.setEnabled(self.add_hd_button.isEnabled())

    def _selected_address(self) -> str | None:
        item = self.account_list.currentItem()
        return item.data(ADDRESS_ROLE) if item else None

    def _run_account_op(
        self,
        work: Any,
        *args: Any,
        busy: str,
        ok: str | None = None,
        on_success: Callable[[Any], None] | None = None,
    ) -> None:
        self.accounts_message.clear_message()
        self.accounts_busy.start(busy)

        def done(result: object) -> None:
            self.accounts_busy.stop()
            self.refresh()  # the accounts as they are now
            if ok:
                self.accounts_message.ok(ok)
            if on_success:
                on_success(result)
            self.accounts_changed.emit()

        def failed(message: str) -> None:
            self.accounts_busy.stop()
            self.accounts_message.error(message)

        self.runner.run(work, *args, on_success=done, on_error=failed)

    def add_hd_account(self) -> None:
        label, ok = QInputDialog.getText(
            self, "Add account", "Label for the new account:", text=f"Account {self.account_list.count() + 1}"
        )
        if ok:
            self._run_account_op(
                self.wallet().add_hd_account,
                label.strip() or "Account",
                busy="Deriving the account…",
                ok="Account added.",
            )

    def rename_account(self) -> None:
        address = self._selected_address()
        if not address:
            return
        current = self.account_list.currentItem().data(LABEL_ROLE)
        label, ok = QInputDialog.getText(
            self,
            "Rename account",
            f"New label for {short_address(address)}:",
            text=current or "",
        )
        if ok and label.strip():
            self._run_account_op(
                self.wallet().rename, address, label.strip(), busy="Renaming…", ok="Renamed."
            )

    def export_keystore(self) -> None:
        address = self._selected_address()
        if not address:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Save keystore file", str(Path.home() / f"paygo-{address[:10]}.json"), "Keystore (*.json)"
        )
        if not name:
            return
        password = PasswordDialog.ask(
            self, "Export keystore", "The file will be encrypted with your wallet password. Enter it:"
        )
        if password is None:
            return
        wallet = self.wallet()

        def export() -> None:
            Path(name).write_text(wallet.export_keystore(address, password), "utf-8")

        self._run_account_op(export, busy="Encrypting the key…", ok=f"Saved to {name}.")

    def reveal_mnemonic(self) -> None:
        password = PasswordDialog.ask(self, "Show recovery phrase", "Enter your wallet password:")
        if password is None:
            return

        def show(phrase: object) -> None:
            MnemonicDialog(str(phrase), self).exec()

        self._run_account_op(
            self.wallet().reveal_mnemonic, password, busy="Checking the password…", on_success=show
        )

    def import_key(self) -> None:
        dialog = ImportKeyDialog(self)
        if dialog.exec() != ImportKeyDialog.DialogCode.Accepted:
            return
        wallet = self.wallet()
        label = dialog.label.text().strip() or "Imported"
        password = dialog.wallet_password.text()
        if dialog.is_keystore:
            path = Path(dialog.keystore_path.text())
            ks_password = dialog.keystore_password.text()

            def work() -> object:
                try:
                    text = path.read_text("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise UserFacingError(f"Could not read {path}: {exc.__class__.__name__}.") from None
                return wallet.import_keystore(text, ks_password, password, label, source_name=path.name)
        else:
            key = dialog.private_key.text().strip()

            def work() -> object:
                return wallet.import_private_key(key, password, label)

        self._run_account_op(work, busy="Importing…", ok="Key imported.")

    def refresh(self) -> None:
        """Read the networks and the accounts in a worker thread; the lists show them when it returns. Of
        reads that overlap, only the latest one is shown (``NewestRead``)."""
        ctx = self.ctx

        def read_all() -> tuple[str, list[Network], list[Any]]:  # SQL: off the GUI thread
            networks = [ctx.configured(n) for n in ctx.networks.all()]  # with the fee ceilings set
            return ctx.network.key, networks, list(ctx.accounts.list())

        self.reads.request(read_all, self._fill)

    def _fill(self, found: tuple[str, list[Network], list[Any]]) -> None:
        current, networks, records = found
        self._fill_networks(current, networks)
        in_use = next((n for n in networks if n.key == current), None)
        if in_use is not None and self._network_asked is None:  # (a switch shows its own when done)
            self._show_ceiling(in_use)
        if not self.loaded and self.ctx.settings.refused:  # what the settings file held that was refused
            self.ceiling_message.error(" ".join(self.ctx.settings.refused))
        self._fill_accounts(records)
        self.loaded = True
