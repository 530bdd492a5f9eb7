"""The live meter's cost label (gui/widgets/live_number.py) paints its own background and text with what it
looked up once: after a theme switch it must paint with the new theme's colours, not the old ones."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor


def background_and_ink(label: Any) -> tuple[QColor, set[str]]:
    image = label.grab().toImage()
    corner = image.pixelColor(1, 1)
    inks = {
        image.pixelColor(x, y).name()
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
        if image.pixelColor(x, y) != corner
    }
    return corner, inks


def test_the_live_cost_follows_a_theme_switch(qtbot: Any, qapp: Any) -> None:
    from PySide6.QtWidgets import QFrame, QVBoxLayout

    from paygo_desktop.gui.theme import ThemeManager, _card
    from paygo_desktop.gui.widgets.live_number import LiveNumber

    theme = ThemeManager(qapp, "light")
    try:
        card = QFrame()
        card.setObjectName("Card")
        label = LiveNumber()
        label.setObjectName("BigNumber")
        QVBoxLayout(card).addWidget(label)
        qtbot.addWidget(card)
        card.show()
        qtbot.waitExposed(card)
        label.setText("0.012345 USDC")
        light_bg, light_ink = background_and_ink(label)
        assert light_bg == QColor(_card("light")) and light_ink  # the card's colour, and text drawn on it

        theme.apply("dark")
        qtbot.wait(20)
        label.setText("0.012346 USDC")
        dark_bg, dark_ink = background_and_ink(label)
        assert dark_bg == QColor(_card("dark")) != light_bg
        assert dark_ink and dark_ink != light_ink
        assert label.text() == "0.012346 USDC"
    finally:
        theme.apply("light")
