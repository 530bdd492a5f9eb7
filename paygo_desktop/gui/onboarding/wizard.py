"""The onboarding view: draws the core's ``OnboardingWizard`` one step at a time.

Every button calls one method of the state machine and then redraws from ``view()``. The blocking calls
(checking a keystore file, creating the wallet) run through ``TaskRunner`` with a busy indicator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.onboarding.steps import (
    ConfirmWordsStep,
    EnterKeystoreStep,
    EnterMnemonicStep,
    EnterPrivateKeyStep,
    NetworkStep,
    PasswordStep,
    ShowMnemonicStep,
    StepWidget,
    WelcomeStep,
)
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.networks import verify_custom_network
from paygo_desktop.onboarding import Choice, OnboardingResult, OnboardingWizard, Step

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.wallet import Wallet

_PATHS = {
    Choice.CREATE: (Step.SHOW_MNEMONIC, Step.CONFIRM_WORDS, Step.PASSWORD, Step.NETWORK),
    Choice.IMPORT_MNEMONIC: (Step.ENTER_MNEMONIC, Step.PASSWORD, Step.NETWORK),
    Choice.IMPORT_PRIVATE_KEY: (Step.ENTER_PRIVATE_KEY, Step.PASSWORD, Step.NETWORK),
    Choice.IMPORT_KEYSTORE: (Step.ENTER_KEYSTORE, Step.PASSWORD, Step.NETWORK),
}
_DONE_MESSAGES = {
    Choice.CREATE: "Created a new wallet",
    Choice.IMPORT_MNEMONIC: "Restored a wallet from its recovery phrase",
    Choice.IMPORT_PRIVATE_KEY: "Imported a private key",
    Choice.IMPORT_KEYSTORE: "Imported a keystore file",
}


class OnboardingView(QWidget):
    completed = Signal(object)  # OnboardingResult

    def __init__(
        self,
        ctx: Callable[[], AppContext],
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        machine: OnboardingWizard | None = None,
        parent: QWidget | None = None,
        *,
        opened: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``ctx`` and ``wallet`` are asked for only at the end; the wizard may be shown before the store
        has opened (``MainWindow.show_first_screen_while_opening``), and then finishing waits for it
        (``opened``), in its task."""
        super().__init__(parent)
        self._ctx = ctx
        self.runner = runner
        self._wallet = wallet
        self._opened = opened
        self.machine = machine or OnboardingWizard()
        self.setAccessibleName("Set up your wallet")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.setContentsMargins(12, 12, 12, 12)
        card = QFrame()
        card.setObjectName("Card")
        card.setFixedWidth(640)
        card.setMinimumHeight(600)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(12)
        self.progress = QLabel()
        self.progress.setObjectName("Hint")
        self.progress.setAccessibleName("Progress")
        self.title = QLabel()
        self.title.setObjectName("PageTitle")
        self.title.setAccessibleName("Step title")
        layout.addWidget(self.progress)
        layout.addWidget(self.title)

        self._build_steps(layout)

        self.error = InlineMessage(name="Error")
        self.busy = BusyIndicator()
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        buttons = QHBoxLayout()
        self.back_button = QPushButton("Back")
        self.back_button.setAccessibleName("Back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("Continue")
        self.next_button.setObjectName("Primary")
        self.next_button.setAccessibleName("Continue")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        layout.addLayout(buttons)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self._working = False
        self.redraw()

    def _build_steps(self, layout: QVBoxLayout) -> None:
        """One widget a step of the core's wizard, in a stack that shows the current one."""
        self.stack = QStackedWidget()
        self.welcome = WelcomeStep()
        self.welcome.chosen.connect(self.choose)
        self.show_mnemonic = ShowMnemonicStep()
        self.show_mnemonic.word_count_changed.connect(self._word_count_changed)
        self.confirm_words = ConfirmWordsStep()
        self.confirm_words.submitted.connect(self.next)
        self.enter_mnemonic = EnterMnemonicStep()
        self.enter_private_key = EnterPrivateKeyStep()
        self.enter_keystore = EnterKeystoreStep()
        self.password = PasswordStep()
        self.password.submitted.connect(self.next)
        self.password.edited.connect(self._password_edited)
        self.network = NetworkStep()
        self.step_widgets: dict[Step, StepWidget] = {
            Step.WELCOME: self.welcome,
            Step.SHOW_MNEMONIC: self.show_mnemonic,
            Step.CONFIRM_WORDS: self.confirm_words,
            Step.ENTER_MNEMONIC: self.enter_mnemonic,
            Step.ENTER_PRIVATE_KEY: self.enter_private_key,
            Step.ENTER_KEYSTORE: self.enter_keystore,
            Step.PASSWORD: self.password,
            Step.NETWORK: self.network,
        }
        for widget in self.step_widgets.values():
            self.stack.addWidget(widget)
        layout.addWidget(self.stack, 1)

    # ---- drawing
    def redraw(self) -> None:
        view = self.machine.view()
        widget = self.step_widgets.get(view.step)
        if widget is None:  # DONE
            return
        widget.load(view)
        self.stack.setCurrentWidget(widget)
        self.title.setText(widget.title)
        if view.choice is not None and view.step in _PATHS[view.choice]:
            path = _PATHS[view.choice]
            self.progress.setText(f"Step {path.index(view.step) + 1} of {len(path)}")
        else:
            self.progress.setText("Set up your wallet")
        if view.error:
            self.error.error(view.error)
        else:
            self.error.clear_message()
        self.back_button.setVisible(view.can_go_back)
        self.next_button.setVisible(view.step is not Step.WELCOME)
        self.next_button.setText(widget.next_text)
        self.next_button.setAccessibleName(widget.next_text)
        self._set_working(False)
        widget.focus_first()

    def _set_working(self, working: bool, text: str = "") -> None:
        self._working = working
        self.next_button.setEnabled(not working)
        self.back_button.setEnabled(not working)
        self.stack.setEnabled(not working)
        if working:
            self.busy.start(text)
        else:
            self.busy.stop()

    # ---- actions
    def choose(self, choice: Choice) -> None:
        self.machine.choose(choice)
        self.redraw()

    def _word_count_changed(self, count: int) -> None:
        self.machine.set_word_count(count)
        self.redraw()

    def back(self) -> None:
        if not self._working:
            self.machine.back()
            self.redraw()

    def next(self) -> None:
        if self._working:
            return
        step = self.machine.step
        if step is Step.SHOW_MNEMONIC:
            self.machine.words_written_down()
        elif step is Step.CONFIRM_WORDS:
            self.machine.confirm_words(self.confirm_words.answers())
        elif step is Step.ENTER_MNEMONIC:
            self.machine.enter_mnemonic(self.enter_mnemonic.phrase.toPlainText())
        elif step is Step.ENTER_PRIVATE_KEY:
            self.machine.enter_private_key(self.enter_private_key.key.text())
            self.enter_private_key.key.clear()
        elif step is Step.ENTER_KEYSTORE:
            self._check_keystore()
            return
        elif step is Step.PASSWORD:
            ok = self.machine.set_password(
                self.password.password.text(),
                self.password.confirm.text(),
                remember=self.password.remember.isChecked(),
            )
            if ok:
                self._new_password = self.password.password.text()
                self.password.password.clear()
                self.password.confirm.clear()
        elif step is Step.NETWORK:
            self._finish()
            return
        self.redraw()

    def _password_edited(self) -> None:
        """A refusal of the password the user is now changing no longer applies: take it away."""
        self.machine.clear_error()
        self.error.clear_message()

    def _check_keystore(self) -> None:
        path = Path(self.enter_keystore.path.text().strip()).expanduser()
        keystore_password = self.enter_keystore.password.text()
        if not self.enter_keystore.path.text().strip():
            self.error.error("Choose the keystore file.")
            return

        def check() -> tuple[str, str | None]:  # in a worker: the file read and opened, the wizard untouched
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserFacingError(f"Could not read {path}: {exc.__class__.__name__}.") from None
            return text, self.machine.check_keystore(text, keystore_password, path.name)

        def checked(answer: tuple[str, str | None]) -> None:  # on the GUI thread: the wizard moves on
            text, problem = answer
            self.machine.keystore_checked(text, keystore_password, path.name, problem)
            self.redraw()

        self._set_working(True, "Opening the keystore…")
        self.runner.run(check, on_success=checked, on_error=self._failed, name="check-keystore")

    def _finish(self) -> None:
        network = self.network
        ok = self.machine.choose_network(
            network.selected_key(),
            name=network.custom_name.text(),
            rpc_url=network.custom_url.text(),
            chain_id=network.custom_chain.text(),
        )
        if not ok:
            self.redraw()
            return
        machine = self.machine
        password = getattr(self, "_new_password", "")
        choice = machine.choice
        custom = machine.network_to_verify

        async def work() -> OnboardingResult:
            if self._opened is not None:
                await self._opened()  # the store may still be opening behind the wizard
            ctx, wallet = self._ctx(), self._wallet()
            if custom is not None:
                await verify_custom_network(custom)

            def create() -> OnboardingResult:
                result = machine.finish(wallet, ctx.settings, networks=ctx.networks)
                wallet.unlock(password)
                ctx.activity.record(
                    "wallet",
                    f"{_DONE_MESSAGES.get(choice, 'Set up the wallet') if choice else 'Set up the wallet'}: "
                    f"{result.account.label} {result.account.address}",
                    account=result.account.address,
                    network=result.network.key,
                )
                return result

            return await asyncio.to_thread(create)

        self._set_working(True, "Creating your wallet: encrypting the keys takes a few seconds…")
        self.runner.run(work(), on_success=self._finished, on_error=self._failed, name="onboarding-finish")

    def _finished(self, result: object) -> None:
        self._new_password = ""
        self._set_working(False)
        self.completed.emit(result)

    def _failed(self, message: str) -> None:
        self.redraw()
        self.error.error(message)
