"""The question the local x402 proxy asks before each payment to a site in ask-first mode: the site, the
amount (its value in the display currency once read), the request's method and URL, Pay or Decline.

Nothing is signed before Pay. Closing the dialog, Decline, or no answer within ``seconds`` declines
(``answered(False)``); the countdown is shown. The dialog only asks: the waiting request, the signing and
the record are ``X402ProxyControl``'s and the payer's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.x402.limits import Quote

URL_SHOWN = 300  # characters of the request's URL shown (the whole URL in its tooltip)


def _label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # a site's URL is never markup
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName(name)
    return label


class X402AskDialog(QDialog):
    answered = Signal(bool)  # True: pay; emitted once

    def __init__(self, quote: Quote, seconds: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.quote = quote
        self._left = seconds
        self._done = False
        self.setWindowTitle(f"Pay {quote.origin}?")
        self.setMinimumWidth(460)  # the site and the request read on one or two lines, not six
        layout = QVBoxLayout(self)
        intro = _label(
            "A program on this computer asks the wallet, through the local x402 proxy, to pay for this "
            "request. This site is set to ask first.",
            "Why you are asked",
        )
        layout.addWidget(intro)
        form = QFormLayout()
        form.addRow("Site", _label(quote.origin, "Site"))
        self.amount = _label(quote.asked(), "Amount")
        form.addRow("Amount", self.amount)
        url = quote.url if len(quote.url) <= URL_SHOWN else quote.url[:URL_SHOWN] + "…"
        self.request = _label(f"{quote.method} {url}", "Request")
        self.request.setToolTip(quote.url)
        form.addRow("Request", self.request)
        layout.addLayout(form)
        self.countdown = _label("", "Time left to answer")
        self.countdown.setObjectName("Hint")
        layout.addWidget(self.countdown)
        buttons = QDialogButtonBox()
        self.pay_button = QPushButton(f"Pay {quote.asked()}")
        self.pay_button.setObjectName("Primary")
        self.decline_button = QPushButton("Decline")
        buttons.addButton(self.pay_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.decline_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.pay_button.setAutoDefault(False)  # Enter never pays by accident: Decline is the default
        self.decline_button.setDefault(True)
        self.pay_button.clicked.connect(lambda: self.answer(True))
        self.decline_button.clicked.connect(lambda: self.answer(False))
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._show_left()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.decline_button.setDefault(True)  # the button box picks its own default when shown
        self.decline_button.setFocus()

    def set_value(self, text: str) -> None:
        """The amount's value in the display currency (``PriceBoard.text``: "≈ $0.01" or "—")."""
        self.amount.setText(f"{self.quote.asked()} ({text})")

    def answer(self, pay: bool) -> None:
        if self._done:
            return
        self._done = True
        self._timer.stop()
        self.answered.emit(pay)
        if pay:
            self.accept()
        else:
            self.reject()

    def reject(self) -> None:  # Escape, the window's close button: declined
        if not self._done:
            self.answer(False)
            return
        super().reject()

    def _tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self.answer(False)
            return
        self._show_left()

    def _show_left(self) -> None:
        self.countdown.setText(f"Declined by itself in {self._left} s if you do not answer.")
