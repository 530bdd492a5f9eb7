"""Words from another machine are shown as written, never as markup: a provider's error, a stop reason
that quotes it, a token's symbol in a transaction's description, a delivery's file name, a tooltip.

Qt renders a label or tooltip whose text looks like HTML as HTML: a provider's error body
``<b style="color:green">✔ Refund of 250 USDC sent</b>`` showed as a green confirmation, and a file name
``report.pdf<!-- .desktop`` hid the rest of itself."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from paygo_desktop.gui.format import plain_tooltip
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.protocol.jobs import DeliveryFileName

FAKE = '<b style="color:green">✔ Refund of 250 USDC sent</b><!-- the real error'


def shown_width(label: QLabel) -> int:
    label.adjustSize()
    return label.sizeHint().width()


def test_an_inline_message_shows_a_providers_words_as_written(qtbot: Any) -> None:
    message = InlineMessage()
    qtbot.addWidget(message)
    message.error(FAKE)
    plain = QLabel()
    qtbot.addWidget(plain)
    plain.setTextFormat(Qt.TextFormat.PlainText)
    plain.setText(FAKE)
    message.setWordWrap(False)
    # as rich text it would be the short green line alone; as written, every character takes its room
    assert message.textFormat() == Qt.TextFormat.PlainText
    assert shown_width(message) == shown_width(plain)


def test_a_stop_reason_that_quotes_the_provider_is_shown_as_written(qtbot: Any) -> None:
    from paygo_desktop.gui.sessions.meter_view import MeterView
    from paygo_desktop.sessions.status import SessionStatus
    from tests.gui.test_meter_view import Clock, make

    session = make(Clock())
    view = MeterView(session)
    qtbot.addWidget(view)
    view.show()
    session.meter.stop()
    session.status = SessionStatus.FAILED
    session.stop_reason = f"The provider refused a voucher: {FAKE}"
    view.update_numbers()
    plain = QLabel()
    qtbot.addWidget(plain)
    plain.setTextFormat(Qt.TextFormat.PlainText)
    plain.setText(session.stop_reason)
    view.warning.setWordWrap(False)
    assert view.warning.isVisible() and shown_width(view.warning) == shown_width(plain)


def test_a_tooltip_shows_markup_as_characters() -> None:
    tip = plain_tooltip(FAKE + "\nsecond line")
    assert tip.startswith("<qt>") and "<b style" not in tip and "&lt;b style=" in tip and "<br>second" in tip


@pytest.mark.parametrize("name", ["report.pdf<!-- .desktop", "a>b", 'q"uote', "what?.txt"])
def test_a_delivery_file_name_with_markup_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        DeliveryFileName.validate_python(name)
