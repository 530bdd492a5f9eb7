"""The app's frame inside the main window: the sidebar with the page names (Ctrl+1… on the window), the
banner for reminders, and the page area, which says it is loading until the pages come."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop import APP_NAME
from paygo_desktop.gui.main_pages import PAGE_ORDER, PAGE_TITLES
from paygo_desktop.gui.notifier import NoticeBanner

LOADING_TEXT = "Loading your wallet…"


class Shell(QWidget):
    """The sidebar with the page names and a page area that says it is loading; no page yet. The page
    shortcuts belong to ``window`` and call ``show_page`` with a page's key."""

    def __init__(self, window: QWidget, show_page: Callable[[str], None]) -> None:
        super().__init__()
        self.setAccessibleName("App")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        side = QWidget()
        side.setFixedWidth(200)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 14, 4, 8)
        brand = QLabel(f"<b>{APP_NAME}</b>")
        brand.setAccessibleName(APP_NAME)
        brand.setContentsMargins(10, 0, 0, 10)
        side_layout.addWidget(brand)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setAccessibleName("Pages")
        self.sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        self.sidebar.setEnabled(False)  # until the pages are there
        side_layout.addWidget(self.sidebar, 1)
        self.pages_stack = QStackedWidget()
        self.pages_stack.setAccessibleName("Page")
        self.placeholder = QLabel(LOADING_TEXT)
        self.placeholder.setAccessibleName(LOADING_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.pages_stack.addWidget(self.placeholder)
        self.shortcuts: list[QShortcut] = []
        for number, key in enumerate(PAGE_ORDER, start=1):
            title = PAGE_TITLES[key]
            item = QListWidgetItem(title)
            item.setToolTip(f"{title} (Ctrl+{number})")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, title)
            self.sidebar.addItem(item)
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), window)
            shortcut.activated.connect(lambda key=key: show_page(key))
            self.shortcuts.append(shortcut)
        layout.addWidget(side)
        self.banner = NoticeBanner()
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.pages_stack, 1)
        layout.addLayout(column, 1)
