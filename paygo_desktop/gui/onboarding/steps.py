"""One widget per onboarding step. Each draws a ``StepView`` and hands back what the user entered."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.widgets.mnemonic_grid import MnemonicGrid
from paygo_desktop.onboarding import CUSTOM_NETWORK_KEY, Choice, StepView
from paygo_desktop.wallet.password_policy import MIN_PASSWORD_LENGTH


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("Hint")
    return label


def _text(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _password(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class StepWidget(QWidget):
    title = ""
    next_text = "Continue"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.title)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(12)

    def load(self, view: StepView) -> None:
        """Draw the step as the state machine describes it."""

    def focus_first(self) -> None:
        self.setFocus()


class WelcomeStep(StepWidget):
    title = "Welcome to PayGo Desktop"
    chosen = Signal(object)  # Choice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(
            _text(
                "PayGo Desktop pays for digital services by the second. Your keys stay on this computer, "
                "encrypted with a password only you know."
            )
        )
        self.box.addWidget(_hint("How would you like to start?"))
        self.buttons: dict[Choice, QPushButton] = {}
        for choice, text, detail in (
            (Choice.CREATE, "Create a new wallet", "Get a new recovery phrase of 12 words"),
            (Choice.IMPORT_MNEMONIC, "I have a recovery phrase", "Restore a wallet from its 12 or 24 words"),
            (Choice.IMPORT_PRIVATE_KEY, "Import a private key", "Use one account's 64-character key"),
            (Choice.IMPORT_KEYSTORE, "Import a keystore file", "A JSON keystore from geth, MetaMask or cast"),
        ):
            button = QPushButton(f"{text}\n{detail}")
            button.setAccessibleName(text)
            button.setMinimumHeight(56)
            button.setStyleSheet("text-align: left; padding: 8px 14px;")
            if choice is Choice.CREATE:
                button.setObjectName("Primary")
            button.clicked.connect(lambda _=False, c=choice: self.chosen.emit(c))
            self.buttons[choice] = button
            self.box.addWidget(button)
        self.box.addStretch(1)

    def focus_first(self) -> None:
        self.buttons[Choice.CREATE].setFocus()


class ShowMnemonicStep(StepWidget):
    title = "Your recovery phrase"
    next_text = "I have written them down"
    word_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(
            _text(
                "These words are the only way to restore your wallet if this computer is lost. Write them "
                "down, in order, on paper, and keep them somewhere safe. "
                "Anyone who has them can spend your money."
            )
        )
        row = QHBoxLayout()
        row.addWidget(QLabel("Number of words"))
        self.word_count = QComboBox()
        self.word_count.setAccessibleName("Number of words")
        self.word_count.activated.connect(lambda i: self.word_count_changed.emit(self.word_count.itemData(i)))
        row.addWidget(self.word_count)
        row.addStretch(1)
        self.box.addLayout(row)
        self.grid = MnemonicGrid([])
        self.box.addWidget(self.grid)
        self.box.addWidget(_hint("On the next step you will be asked for a few of these words."))
        self.box.addStretch(1)

    def load(self, view: StepView) -> None:
        self.word_count.clear()
        for count in view.word_count_options:
            self.word_count.addItem(f"{count} words", count)
        self.word_count.setCurrentIndex(list(view.word_count_options).index(view.word_count))
        self.grid.set_words(list(view.words))


class ConfirmWordsStep(StepWidget):
    title = "Check your recovery phrase"
    next_text = "Check words"
    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(_text("Type the words at these positions, from what you wrote down."))
        self.form = QFormLayout()
        self.box.addLayout(self.form)
        self.box.addStretch(1)
        self.fields: dict[int, QLineEdit] = {}

    def load(self, view: StepView) -> None:
        if tuple(self.fields) == view.positions:
            return
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for position in view.positions:
            field = QLineEdit()
            field.setAccessibleName(f"Word #{position}")
            field.setPlaceholderText(f"word #{position}")
            field.returnPressed.connect(self.submitted)
            self.form.addRow(f"Word #{position}", field)
            self.fields[position] = field

    def answers(self) -> dict[int, str]:
        return {position: field.text().strip() for position, field in self.fields.items()}

    def focus_first(self) -> None:
        if self.fields:
            next(iter(self.fields.values())).setFocus()


class EnterMnemonicStep(StepWidget):
    title = "Enter your recovery phrase"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(_text("Type or paste the 12 or 24 words, separated by spaces."))
        self.phrase = QPlainTextEdit()
        self.phrase.setAccessibleName("Recovery phrase")
        self.phrase.setPlaceholderText("word1 word2 word3 …")
        self.phrase.setMaximumHeight(110)
        self.box.addWidget(self.phrase)
        self.box.addWidget(_hint("The words never leave this computer; they are stored encrypted."))
        self.box.addStretch(1)

    def load(self, view: StepView) -> None:
        if view.error is None and not view.can_go_back:
            self.phrase.clear()

    def focus_first(self) -> None:
        self.phrase.setFocus()


class EnterPrivateKeyStep(StepWidget):
    title = "Import a private key"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(
            _text("Paste the account's private key: 64 hexadecimal characters, with or without 0x.")
        )
        self.key = _password("Private key")
        self.key.setPlaceholderText("0x…")
        self.box.addWidget(self.key)
        self.box.addWidget(_hint("A private key gives one account; it has no recovery phrase to back it up."))
        self.box.addStretch(1)

    def focus_first(self) -> None:
        self.key.setFocus()


class EnterKeystoreStep(StepWidget):
    title = "Import a keystore file"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(_text("Choose the keystore (JSON) file and enter the password it was saved with."))
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setAccessibleName("Keystore file")
        self.path.setPlaceholderText("/path/to/keystore.json")
        browse = QPushButton("Choose file…")
        browse.setAccessibleName("Choose keystore file")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.box.addLayout(row)
        self.password = _password("Keystore file password")
        self.password.setPlaceholderText("The file's password")
        self.box.addWidget(self.password)
        self.box.addStretch(1)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Keystore file", str(Path.home()), "Keystore (*.json);;All (*)"
        )
        if name:
            self.path.setText(name)

    def focus_first(self) -> None:
        self.path.setFocus()


def password_strength(password: str) -> tuple[str, bool]:
    """A rough description of a new password, and whether it is too weak to accept."""
    if not password:
        return "", True
    if len(password) < MIN_PASSWORD_LENGTH:
        # a count, not an error: the refusal itself is shown once, by the wizard, when the user continues
        return f"{len(password)} of at least {MIN_PASSWORD_LENGTH} characters", True
    classes = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    score = len(password) // 4 + classes
    if score >= 7:
        return "Strength: strong", False
    if score >= 5:
        return "Strength: fair — a longer password is safer", False
    return "Strength: weak — add length, digits or symbols", False


class PasswordStep(StepWidget):
    title = "Choose a password"
    submitted = Signal()
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(
            _text(
                "This password encrypts your keys on this computer and unlocks the app. "
                "It cannot be recovered: if you forget it, restore the wallet from its recovery phrase."
            )
        )
        form = QFormLayout()
        self.password = _password("New password")
        self.confirm = _password("Repeat password")
        self.confirm.returnPressed.connect(self.submitted)
        form.addRow("Password", self.password)
        form.addRow("Repeat it", self.confirm)
        self.box.addLayout(form)
        self.strength = QLabel()
        self.strength.setAccessibleName("Password strength")
        self.mismatch = QLabel()
        self.mismatch.setObjectName("ErrorText")
        self.mismatch.setAccessibleName("Password mismatch")
        self.remember = QCheckBox("Remember the password in the system keychain")
        self.remember.setAccessibleName("Remember password")
        for w in (self.strength, self.mismatch, self.remember):
            self.box.addWidget(w)
        self.box.addStretch(1)
        for field in (self.password, self.confirm):
            field.textChanged.connect(self._update)
            field.textEdited.connect(self.edited)
        self._update()

    def _update(self) -> None:
        text, _weak = password_strength(self.password.text())
        self.strength.setText(text)
        differs = bool(self.confirm.text()) and self.confirm.text() != self.password.text()
        self.mismatch.setText("The two passwords differ." if differs else "")

    def load(self, view: StepView) -> None:
        self.remember.setVisible(view.can_remember_password)
        self.remember.setChecked(view.remember_password)

    def focus_first(self) -> None:
        self.password.setFocus()


class NetworkStep(StepWidget):
    title = "Choose a network"
    next_text = "Create wallet"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box.addWidget(_text("Where should PayGo Desktop pay? You can change this later in Settings."))
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.radio_box = QVBoxLayout()
        self.box.addLayout(self.radio_box)
        self.custom = QWidget()
        form = QFormLayout(self.custom)
        self.custom_name = QLineEdit()
        self.custom_name.setAccessibleName("Custom network name")
        self.custom_url = QLineEdit()
        self.custom_url.setAccessibleName("Custom network RPC URL")
        self.custom_url.setPlaceholderText("https://…")
        self.custom_chain = QLineEdit()
        self.custom_chain.setAccessibleName("Custom network chain id")
        form.addRow("Name", self.custom_name)
        form.addRow("RPC URL", self.custom_url)
        form.addRow("Chain id", self.custom_chain)
        self.box.addWidget(self.custom)
        self.box.addWidget(
            _hint(
                "Sandbox runs on this computer with test money. Base Sepolia is a public test network; "
                "Base is the real network, with real money. "
                "A custom network's chain id is checked with its RPC."
            )
        )
        self.box.addStretch(1)

    def load(self, view: StepView) -> None:
        if not self.radios:
            descriptions = {"sandbox": " — test money, on this computer", "base": " — real money"}
            for key, name in view.network_options:
                radio = QRadioButton(name + descriptions.get(key, ""))
                radio.setAccessibleName(name)
                radio.toggled.connect(self._toggled)
                self.group.addButton(radio)
                self.radio_box.addWidget(radio)
                self.radios[key] = radio
        current = self.radios.get(view.network_key)
        if current is not None:
            current.setChecked(True)
        self._toggled()

    def _toggled(self, *_: object) -> None:
        self.custom.setVisible(self.selected_key() == CUSTOM_NETWORK_KEY)

    def selected_key(self) -> str:
        return next((key for key, radio in self.radios.items() if radio.isChecked()), "sandbox")
