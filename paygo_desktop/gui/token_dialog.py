"""Add token…: an ERC-20 added by its address, shown as its contract describes itself, confirmed by the user.

The core reads the contract (``tokens.adding.propose_token``: bounded, hostile-safe) when the user
presses Read; the dialog shows the symbol, name and decimals, and every look-alike warning in red. With a
warning, Add stays disabled until the user ticks that they checked the address with the token's issuer.
Nothing is kept before Add.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.tokens.adding import TokenProposal


class AddTokenDialog(QDialog):
    def __init__(
        self,
        runner: TaskRunner,
        propose: Callable[[str], Awaitable[TokenProposal]],
        confirm: Callable[[TokenProposal], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._propose = propose
        self._confirm = confirm
        self.proposal: TokenProposal | None = None
        self.setWindowTitle("Add a token")
        self.setAccessibleName("Add a token")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Paste the token's contract address. The app reads its symbol and decimals from the chain; check "
            "the address with the token's issuer: anyone can make a token called anything."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self._build_address(layout)
        self._build_findings(layout)
        self._build_buttons(layout)
        self.cancel_button.clicked.connect(self.reject)
        self.read_button.clicked.connect(self.read)
        self.address.returnPressed.connect(self.read)
        self.address.textChanged.connect(self._forget)
        self.checked.toggled.connect(self._update)
        self.add_button.clicked.connect(self.add)

    def _build_address(self, layout: QVBoxLayout) -> None:
        """The address typed, and Read."""
        row = QHBoxLayout()
        self.address = QLineEdit()
        self.address.setPlaceholderText("0x…")
        self.address.setAccessibleName("Token address")
        self.read_button = QPushButton("Read")
        self.read_button.setAccessibleName("Read the token")
        row.addWidget(self.address, 1)
        row.addWidget(self.read_button)
        layout.addLayout(row)

    def _build_findings(self, layout: QVBoxLayout) -> None:
        """What the contract says, the warnings, and the box that accepts them."""
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("What the contract says")
        layout.addWidget(self.summary)
        self.warnings = QLabel()
        self.warnings.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings.setWordWrap(True)
        self.warnings.setObjectName("WarningText")
        self.warnings.setAccessibleName("Warnings")
        layout.addWidget(self.warnings)
        self.checked = QCheckBox("I checked this address with the token's issuer; add it anyway")
        self.checked.setAccessibleName("Add despite the warning")
        self.checked.hide()
        layout.addWidget(self.checked)
        self.message = InlineMessage(self, "Add a token: message")
        layout.addWidget(self.message)

    def _build_buttons(self, layout: QVBoxLayout) -> None:
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("Primary")
        self.add_button.setEnabled(False)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.add_button)
        layout.addLayout(buttons)

    def _forget(self) -> None:
        self.proposal = None
        self.summary.clear()
        self.warnings.clear()
        self.checked.hide()
        self.checked.setChecked(False)
        self._update()

    def _update(self) -> None:
        ready = self.proposal is not None and (not self.proposal.warnings or self.checked.isChecked())
        self.add_button.setEnabled(ready)

    def read(self) -> None:
        self.message.clear_message()
        self.read_button.setEnabled(False)
        text = self.address.text()

        def done(proposal: TokenProposal) -> None:
            self.read_button.setEnabled(True)
            self.proposal = proposal
            self.summary.setText(proposal.summary())
            self.warnings.setText("\n".join(f"⚠ {w}" for w in proposal.warnings))
            self.checked.setVisible(bool(proposal.warnings))
            self._update()

        def failed(message: str) -> None:
            self.read_button.setEnabled(True)
            self.message.error(message)

        self.runner.run(self._propose(text), on_success=done, on_error=failed, name="read-token")

    def add(self) -> None:
        proposal = self.proposal
        if proposal is None:
            return
        self.add_button.setEnabled(False)
        self.runner.run(
            lambda: self._confirm(proposal),
            on_success=lambda _r: self.accept(),
            on_error=self.message.error,
            name="add-token",
        )
