"""A steady label repaints when its text changes but keeps the layout still while the text fits, grows when
it does not, and never cuts its text off (gui/widgets/steady_label.py)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from paygo_desktop.gui.widgets.steady_label import SteadyLabel


class LayoutRequests(QObject):
    """Counts the layout passes Qt asks of a widget (what a label's new size hint costs its layout)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def _in_a_card(qtbot: Any, label: QLabel) -> tuple[QWidget, LayoutRequests]:
    card = QWidget()
    grid = QGridLayout(card)
    grid.addWidget(QLabel("Elapsed"), 0, 0)
    grid.addWidget(label, 1, 0)
    card.neighbour = QLabel("a neighbour that a layout pass would measure again")  # type: ignore[attr-defined]
    grid.addWidget(card.neighbour, 1, 1)  # type: ignore[attr-defined]
    qtbot.addWidget(card)
    card.show()
    qtbot.waitExposed(card)
    qtbot.wait(20)  # the first layout pass is done
    return card, LayoutRequests(card)


def _tick_through(qtbot: Any, label: QLabel, texts: list[str]) -> None:
    for text in texts:
        label.setText(text)
        qtbot.wait(5)  # posted layout requests are delivered


def test_a_text_that_fits_repaints_the_label_without_a_layout_pass(qtbot: Any) -> None:
    clock = [f"00:{s:02d}" for s in range(10, 20)]
    steady = SteadyLabel("00:09")
    _card, requests = _in_a_card(qtbot, steady)
    _tick_through(qtbot, steady, clock)
    assert requests.count == 0
    assert steady.text() == "00:19"

    plain = QLabel("00:09")  # what it saves: a plain label asks its layout for a pass at every change
    _card, plain_requests = _in_a_card(qtbot, plain)
    _tick_through(qtbot, plain, clock)
    assert plain_requests.count >= len(clock) // 2


def test_a_longer_text_grows_the_label_and_is_never_cut_off(qtbot: Any) -> None:
    label = SteadyLabel("9 seconds")
    card, requests = _in_a_card(qtbot, label)
    neighbour = card.neighbour  # type: ignore[attr-defined]
    label.setText("1 hour 59 minutes, and a text wider than the column")  # more room: the columns move
    qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width())
    qtbot.waitUntil(lambda: label.geometry().right() < neighbour.geometry().left())
    grown = label.width()
    label.setText("1 minute")  # shorter: the label keeps its width, the layout stays still
    before = requests.count
    qtbot.wait(20)
    assert label.width() == grown and requests.count == before


def test_a_new_font_sizes_it_afresh(qtbot: Any) -> None:
    label = SteadyLabel("0.049000 USDC of 0.050000 USDC")
    _card, _requests = _in_a_card(qtbot, label)
    small = label.width()
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    label.setFont(font)
    qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width() > small)
    font.setPointSizeF(font.pointSizeF() / 4)
    label.setFont(font)  # smaller: it shrinks too, a theme switch leaves no gap behind
    qtbot.waitUntil(lambda: label.width() == label.sizeHint().width() < small)
