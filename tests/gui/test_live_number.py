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


def cost_on_a_card(qtbot: Any, size: tuple[int, int] | None = None) -> tuple[Any, Any]:
    """The live cost as the meter card shows it: a ``LiveNumber`` styled ``BigNumber`` on a ``Card``."""
    from PySide6.QtWidgets import QFrame, QVBoxLayout

    from paygo_desktop.gui.widgets.live_number import LiveNumber

    card = QFrame()
    card.setObjectName("Card")
    label = LiveNumber()
    label.setObjectName("BigNumber")
    QVBoxLayout(card).addWidget(label)
    qtbot.addWidget(card)
    if size is not None:
        card.resize(*size)
    card.show()
    qtbot.waitExposed(card)
    return card, label


def test_the_live_cost_follows_a_theme_switch(qtbot: Any, qapp: Any) -> None:

    from paygo_desktop.gui.theme import ThemeManager, _card

    theme = ThemeManager(qapp, "light")
    try:
        _card_frame, label = cost_on_a_card(qtbot)
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


def on_screen(window: Any) -> Any:
    """What the window shows now: its backing store, as painted change by change (``grab()`` would paint it
    all afresh and hide a character left unpainted)."""
    return window.windowHandle().screen().grabWindow(window.winId()).toImage()


def test_a_changing_cost_repaints_only_what_changed_and_shows_every_digit(
    qtbot: Any, qapp: Any, monkeypatch: Any
) -> None:
    """Each change repaints only the cells of the characters that changed, yet the screen always shows
    exactly the new number: a digit left unpainted would show a cost that is not the meter's."""

    from paygo_desktop.gui import widgets
    from paygo_desktop.gui.theme import ThemeManager
    from paygo_desktop.money import Amount, Asset

    monkeypatch.setattr(widgets.live_number, "SETTLE_SECONDS", 3600.0)  # only the partial repaints
    theme = ThemeManager(qapp, "light")
    try:
        card, label = cost_on_a_card(qtbot, size=(520, 120))
        usdc = Asset("USDC", 6)
        costs = [12_345, 12_349, 12_389, 12_999, 13_000, 99_999, 100_000, 10**6, 1_234_567, 9_999_999, 10**7]
        label.setText(Amount(usdc, 0).format())
        qtbot.wait(10)
        for before, cost in zip([0, *costs], costs, strict=False):
            old = Amount(usdc, before).format()
            new = Amount(usdc, cost).format()
            label.setText(new)
            qtbot.wait(10)
            assert on_screen(card) == card.grab().toImage(), f"{old} → {new} left stale pixels"
            if len(old) == len(new):
                changed = sum(a != b for a, b in zip(old, new, strict=True))
                assert label.changed_box(old, new)[2] < label.width() * changed / 4  # a few cells
        assert label.text() == "10 USDC"
    finally:
        theme.apply("light")
