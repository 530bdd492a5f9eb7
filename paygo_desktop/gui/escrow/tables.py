"""The Escrow page's sections and tables: a titled section with a hint; a read-only table fitting its rows."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QVBoxLayout, QWidget


def section(title: str, hint: str = "") -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 12, 0, 2)
    label = QLabel(f"<b>{html.escape(title)}</b>")
    label.setAccessibleName(title)
    layout.addWidget(label)
    if hint:
        text = QLabel(hint)
        text.setObjectName("Hint")
        text.setWordWrap(True)
        layout.addWidget(text)
    return box


def read_only_table(columns: tuple[str, ...], name: str, stretch: int | None = None) -> QTableWidget:
    """Every column as wide as its contents; the page's spare width goes to column ``stretch`` (by default
    the last). A row of buttons in the last column keeps its width that way: stretched, the last column is
    only what is left of the page, and its buttons were cut off."""
    table = QTableWidget(0, len(columns))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # in a narrow window the columns need more than the page's width: their scroll bar takes room below
    # the rows instead of covering the last one
    table.horizontalScrollBar().rangeChanged.connect(lambda *_range: fit_height(table))
    return table


def fit_height(table: QTableWidget) -> None:
    """No inner scrolling: the page scrolls as a whole."""
    table.resizeRowsToContents()
    height = table.horizontalHeader().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    bar = table.horizontalScrollBar()
    if bar.maximum() > bar.minimum():
        height += bar.sizeHint().height()
    table.setFixedHeight(height)
