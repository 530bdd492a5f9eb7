"""The display currency, chosen once (Settings), and fiat values shown beside amounts."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from paygo_desktop.prices.feeds import CURRENCIES

CURRENCY_HINT = (
    "Beside every amount, its value in this currency, from on-chain price feeds (Chainlink's on Base, the "
    "sandbox's own on the sandbox), rounded half to even to the cent. A price that is stale or missing "
    "shows “—”, never a guess."
)


def currency_chooser(current: str) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName("Display currency")
    combo.setToolTip(CURRENCY_HINT)
    for currency in CURRENCIES:
        combo.addItem(f"{currency.code} ({currency.sign}, {currency.name})", currency.code)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    return combo
