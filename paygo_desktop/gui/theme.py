"""Light and dark Fusion palettes; "system" follows the platform's colour scheme as it changes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from paygo_desktop.gui.resources import resource_path

ACCENT = "#2f7d6d"

_LIGHT = {
    QPalette.ColorRole.Window: "#f4f5f7",
    QPalette.ColorRole.WindowText: "#1d2127",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#eef0f3",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d2127",
    QPalette.ColorRole.PlaceholderText: "#6b7280",
    QPalette.ColorRole.Text: "#1d2127",
    QPalette.ColorRole.Button: "#e9ebef",
    QPalette.ColorRole.ButtonText: "#1d2127",
    QPalette.ColorRole.BrightText: "#b42318",
    QPalette.ColorRole.Link: "#1f6f8b",
    QPalette.ColorRole.Highlight: ACCENT,
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Mid: "#c9cdd4",
    QPalette.ColorRole.Dark: "#a0a6b0",
    QPalette.ColorRole.Light: "#ffffff",
}
_DARK = {
    QPalette.ColorRole.Window: "#1f2226",
    QPalette.ColorRole.WindowText: "#e6e8eb",
    QPalette.ColorRole.Base: "#16181b",
    QPalette.ColorRole.AlternateBase: "#24282d",
    QPalette.ColorRole.ToolTipBase: "#2b3036",
    QPalette.ColorRole.ToolTipText: "#e6e8eb",
    QPalette.ColorRole.PlaceholderText: "#8b929c",
    QPalette.ColorRole.Text: "#e6e8eb",
    QPalette.ColorRole.Button: "#2b3036",
    QPalette.ColorRole.ButtonText: "#e6e8eb",
    QPalette.ColorRole.BrightText: "#ff8a80",
    QPalette.ColorRole.Link: "#7cc4e0",
    QPalette.ColorRole.Highlight: "#3c9a87",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Mid: "#3a4047",
    QPalette.ColorRole.Dark: "#111315",
    QPalette.ColorRole.Light: "#3a4047",
}


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve(mode: str) -> str:
    """'light' or 'dark' for a setting of 'system', 'light' or 'dark'."""
    if mode in ("light", "dark"):
        return mode
    return "dark" if system_is_dark() else "light"


def palette_for(scheme: str) -> QPalette:
    palette = QPalette()
    for role, color in (_DARK if scheme == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(color))
    disabled = QColor("#7d848e") if scheme == "dark" else QColor("#9aa0a8")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


class ThemeManager:
    """Applies the theme now and again whenever the system scheme changes while set to 'system'."""

    def __init__(self, app: QApplication, mode: str = "system") -> None:
        self._app = app
        self.mode = mode
        self.scheme = "light"
        sheet = resource_path("themes", "base.qss")  # read once: a theme chosen later reads no file
        self._sheet = sheet.read_text("utf-8") if sheet else ""
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._on_system_change)
        self.apply(mode)

    def apply(self, mode: str) -> None:
        self.mode = mode
        self.scheme = resolve(mode)
        self._app.setPalette(palette_for(self.scheme))
        css = self._sheet.replace("@ACCENT", _accent(self.scheme)).replace("@CARD", _card(self.scheme))
        self._app.setStyleSheet(css)

    def _on_system_change(self, _scheme: Qt.ColorScheme) -> None:
        if self.mode == "system":
            self.apply("system")


def _accent(scheme: str) -> str:
    return "#3c9a87" if scheme == "dark" else ACCENT


def _card(scheme: str) -> str:
    return "#2a2e34" if scheme == "dark" else "#ffffff"
