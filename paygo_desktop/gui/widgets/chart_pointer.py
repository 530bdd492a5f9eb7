"""Which bar or day of a chart the pointer is on, kept while the chart's figures change under it.

``PointedChart`` is mixed into a chart widget (before its Qt class) that has a pyqtgraph plot, an
``index_at(scene_pos)`` and a ``_point_at(index, always)`` that shows what is pointed at. It remembers where
the pointer last was over the plot: when new figures are drawn (``repoint``) the same place points at the
bar with its new figures, and leaving the chart points at nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF


class PointedChart:
    pointer: QPointF | None = None  # where the pointer last was over the plot, in scene coordinates

    def index_at(self, scene_pos: QPointF) -> int:
        raise NotImplementedError

    def _point_at(self, index: int, always: bool = False) -> None:
        raise NotImplementedError

    def _mouse_moved(self, scene_pos: QPointF) -> None:  # the plot scene's sigMouseMoved
        self.pointer = QPointF(scene_pos)
        self._point_at(self.index_at(scene_pos))

    def repoint(self) -> None:
        """New figures under a pointer that has not moved: what it points at, with its new figures."""
        self._point_at(self.index_at(self.pointer) if self.pointer is not None else -1, always=True)

    def leaveEvent(self, event: QEvent) -> None:
        self.pointer = None
        self._point_at(-1)
        parent: Any = super()
        parent.leaveEvent(event)
