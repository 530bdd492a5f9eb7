"""Activity's x402 tab, its top row: "Local x402 proxy", Start/Stop, and once it runs its URL (the secret
in it) to copy, as the session proxy's address is shown on a running session's meter. The proxy itself is
``X402ProxyControl``'s."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from paygo_desktop.gui.x402_proxy_control import X402ProxyControl

USE = "curl {url}https/api.example.com/v1/quote"


class X402ProxyBox(QWidget):
    def __init__(self, control: X402ProxyControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.control = control
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setAccessibleName("Local x402 proxy state")
        row.addWidget(self.state)
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Local x402 proxy address, with its secret")
        row.addWidget(self.url, 1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the local x402 proxy's address")
        row.addWidget(self.copy_button)
        self.toggle_button = QPushButton()
        row.addWidget(self.toggle_button)
        layout.addLayout(row)
        self.hint = QLabel()
        self.hint.setObjectName("Hint")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.hint)
        self.toggle_button.clicked.connect(self._toggle)
        self.copy_button.clicked.connect(self._copy)
        control.changed.connect(self.show_state)
        self.show_state()

    def show_state(self) -> None:
        control = self.control
        url = control.url
        self.url.setVisible(url is not None)
        self.copy_button.setVisible(url is not None)
        self.url.setText(url or "")
        self.toggle_button.setEnabled(not control.starting)
        if url is not None:
            self.state.setText(f"Local x402 proxy: on, paying on {control.network_name}")
            self.toggle_button.setText("Stop")
            self.hint.setText(
                f"Tools call x402 APIs through the wallet here, e.g. {USE.format(url=url)} — paid within "
                "your limits per site; a site set to ask first asks you in this window. A provider's "
                "request that a running session of yours can serve goes through the session, unpaid. "
                "Anyone with this address can spend within your limits: keep it to yourself."
            )
        else:
            self.state.setText("Local x402 proxy: starting…" if control.starting else "Local x402 proxy: off")
            self.toggle_button.setText("Start")
            self.hint.setText(
                "Start it to let scripts, curl and other tools on this computer pay x402 APIs from this "
                "wallet, within your limits per site (it stops when you lock the wallet or quit)."
            )

    def _toggle(self) -> None:
        if self.control.running:
            self.control.stop()
        else:
            self.control.start()

    def _copy(self) -> None:
        if self.control.url is not None:
            QGuiApplication.clipboard().setText(self.control.url)
