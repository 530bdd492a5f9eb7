"""The status bar: network, active account (click to copy), and whether the network's RPC answers.

The connection check polls ``eth_chainId`` every few seconds on the asyncio loop; it never blocks the GUI
and a poll is skipped while the previous one is still out.

It is part of the frame painted first ("Loading…"), before any network or account is known: what it shows
of them (``networks``, ``money`` through ``gui.format``) is imported when first shown, after that paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QWidget

from paygo_desktop.gui.async_tasks import TaskRunner

if TYPE_CHECKING:
    from paygo_desktop.networks import Network

POLL_MS = 10_000


class StatusBar(QStatusBar):
    address_copied = Signal(str)
    connected = Signal()  # the network's RPC answers with the right chain id again (or for the first time)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Status bar")
        self._runner = runner
        self._network: Network | None = None
        self._address: str | None = None
        self._polling = False
        self.network_label = QLabel()
        self.network_label.setAccessibleName("Network")
        self.account_button = QPushButton()
        self.account_button.setFlat(True)
        self.account_button.setAccessibleName("Active account: click to copy the address")
        self.account_button.clicked.connect(self.copy_address)
        self.connection_label = QLabel()
        self.connection_label.setAccessibleName("Connection state")
        self.addPermanentWidget(self.account_button)
        self.addPermanentWidget(self.network_label)
        self.addPermanentWidget(self.connection_label)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.set_account(None)

    # -- what is shown
    def set_network(self, network: Network) -> None:
        changed = self._network != network
        self._network = network
        self.network_label.setText(network.name)
        self.network_label.setToolTip(f"{network.name}: chain id {network.chain_id}, RPC {network.rpc_url}")
        if changed:  # nothing is claimed of a network nobody asks (the polling is off: a screenshot, a test)
            self._set_connection("", "")
            if self.timer.isActive():
                self._checking(network)

    def _checking(self, network: Network) -> None:
        self._set_connection("Checking connection…", f"Asking {network.rpc_url} for its chain id")

    def set_account(self, address: str | None) -> None:
        self._address = address
        self.account_button.setVisible(address is not None)
        if address:
            from paygo_desktop.gui.format import short_address

            self.account_button.setText(short_address(address))
            self.account_button.setToolTip(f"{address}\nClick to copy the full address")

    def _set_connection(self, text: str, tooltip: str) -> None:
        self.connection_label.setText(text)
        self.connection_label.setToolTip(tooltip)

    # -- actions
    def copy_address(self) -> None:
        if self._address:
            QGuiApplication.clipboard().setText(self._address)
            self.showMessage(f"Copied {self._address}", 4000)
            self.address_copied.emit(self._address)

    def start_polling(self) -> None:
        if self._network is not None and not self.connection_label.text():
            self._checking(self._network)
        self.timer.start()
        self.poll()

    def stop_polling(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        network = self._network
        if network is None or self._polling:
            return
        self._polling = True
        from paygo_desktop.networks import fetch_chain_id

        def done(chain_id: object) -> None:
            self._polling = False
            if network != self._network:
                return
            if chain_id == network.chain_id:
                was = self.connection_label.text()
                self._set_connection("Connected", f"{network.rpc_url} answers with chain id {chain_id}")
                if was != "Connected":
                    self.connected.emit()
            else:
                self._set_connection(
                    "Wrong network",
                    f"{network.rpc_url} reports chain id {chain_id}; {network.name} is {network.chain_id}",
                )

        def failed(message: str) -> None:
            self._polling = False
            if network == self._network:
                self._set_connection("Offline", message)

        self._runner.run(
            fetch_chain_id(network.rpc_url, timeout=5.0),
            on_success=done,
            on_error=failed,
            name="poll-chain-id",
        )
