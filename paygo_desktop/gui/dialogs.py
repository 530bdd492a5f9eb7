"""Small modal dialogs: ask for a password, import another key, show a recovery phrase."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.widgets.mnemonic_grid import MnemonicGrid


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class PasswordDialog(QDialog):
    def __init__(self, title: str, prompt: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.password = _password_field("Wallet password")
        layout.addWidget(self.password)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget, title: str, prompt: str) -> str | None:
        dialog = cls(title, prompt, parent)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.password.text():
            return dialog.password.text()
        return None


class ImportKeyDialog(QDialog):
    """Collects what ``Wallet.import_private_key`` or ``Wallet.import_keystore`` need."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import another key")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Kind of key")
        key_tab = QWidget()
        key_form = QFormLayout(key_tab)
        self.private_key = _password_field("Private key")
        self.private_key.setPlaceholderText("64 hexadecimal characters, with or without 0x")
        key_form.addRow("Private key", self.private_key)
        self.tabs.addTab(key_tab, "Private key")
        file_tab = QWidget()
        file_form = QFormLayout(file_tab)
        row = QHBoxLayout()
        self.keystore_path = QLineEdit()
        self.keystore_path.setAccessibleName("Keystore file")
        browse = QPushButton("Choose…")
        browse.setAccessibleName("Choose keystore file")
        browse.clicked.connect(self._browse)
        row.addWidget(self.keystore_path)
        row.addWidget(browse)
        file_form.addRow("Keystore file", row)
        self.keystore_password = _password_field("Keystore file password")
        file_form.addRow("File's password", self.keystore_password)
        self.tabs.addTab(file_tab, "Keystore file")
        layout.addWidget(self.tabs)
        form = QFormLayout()
        self.label = QLineEdit()
        self.label.setAccessibleName("Account label")
        self.label.setPlaceholderText("e.g. Savings")
        form.addRow("Label", self.label)
        self.wallet_password = _password_field("Wallet password")
        form.addRow("Wallet password", self.wallet_password)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Keystore file", str(Path.home()), "Keystore (*.json *)")
        if name:
            self.keystore_path.setText(name)

    @property
    def is_keystore(self) -> bool:
        return self.tabs.currentIndex() == 1


class MnemonicDialog(QDialog):
    def __init__(self, phrase: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recovery phrase")
        layout = QVBoxLayout(self)
        warn = QLabel(
            "Anyone with these words can take everything in this wallet. Write them down and keep them "
            "offline; never type them into a website."
        )
        warn.setWordWrap(True)
        layout.addWidget(warn)
        layout.addWidget(MnemonicGrid(phrase.split()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
