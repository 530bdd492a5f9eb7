"""Read-only tables, the one way the pages show rows.

- ``RowsModel``: a list of Python objects behind a ``QTableView``. A subclass names its ``columns``, says what
  a cell shows (``cell``), which columns are numbers (right-aligned) and, if it wants, a tooltip (shown as
  plain text: ``plain_tooltip``).
- ``readonly_view``: the look every such view shares: whole-row selection, no editing, first column
  stretched, the others sized from the visible rows only (10,000 rows must not be measured on every reset).
- ``readonly_table``: the same look for a small ``QTableWidget`` filled cell by cell.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTableWidget, QWidget

from paygo_desktop.gui.format import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class RowsModel(QAbstractTableModel):
    columns: ClassVar[tuple[str, ...]] = ()
    right_aligned: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def cell(self, row: Any, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Any, column: int) -> str | None:
        return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.tooltip(row, index.column())
            return None if tip is None else plain_tooltip(tip)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.right_aligned:
            return RIGHT
        return None


def _shared_look(table: QTableView, columns: int) -> None:
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setResizeContentsPrecision(0)  # size columns from the visible rows, not all of them
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, columns):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)


def readonly_view(model: RowsModel, name: str) -> QTableView:
    view = QTableView()
    view.setAccessibleName(name)
    view.setModel(model)
    _shared_look(view, len(model.columns))
    return view


def readonly_table(columns: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(columns)
    _shared_look(table, len(columns))
    return table
