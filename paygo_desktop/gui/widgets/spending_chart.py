"""The spending chart: a bar per bucket and the cumulative total as a line (own axis, on the right).

This module imports pyqtgraph, so nothing imports it before a chart is first shown (start-up stays fast).
Bars sit at x = 0, 1, 2, … (one per bucket, whatever its length); the bottom axis names the buckets in
local time. Coordinates are floats because pixels are: the figures people read (hover, tables) are always
``Amount.format()`` of the exact integers, never a value read back from the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from paygo_desktop.gui.widgets.chart_pointer import PointedChart
from paygo_desktop.money import Amount

BAR_COLOUR = "#3b82f6"
BAR_HOVER_COLOUR = "#f59e0b"
LINE_COLOUR = "#10b981"
MAX_TICKS = 10


@dataclass(frozen=True)
class ChartBar:
    label: str  # the bucket, in local time
    tick: str  # its short name on the axis
    amount: Amount
    cumulative: Amount


def plot_value(amount: Amount) -> float:
    """A bar's height in whole units, for drawing only."""
    return float(amount.to_decimal())


def bar_outline(
    xs: Sequence[float], heights: Sequence[float], width: float = 0.8
) -> tuple[list[float], list[float]]:
    """The outline of bars standing on 0, as one curve: filled down to 0 it draws them."""
    px: list[float] = []
    py: list[float] = []
    half = width / 2
    for x, h in zip(xs, heights, strict=True):
        px += [x - half, x - half, x + half, x + half]
        py += [0.0, h, h, 0.0]
    return px, py


class SpendingChart(PointedChart, QWidget):
    """Bars + cumulative line. ``hovered(index)`` (-1 when off the bars) and ``bar_clicked(index)``."""

    hovered = Signal(int)
    bar_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Spending chart")
        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget()
        self.plot.setAccessibleName("Spending over time")
        self.plot.setBackground(None)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.showGrid(x=False, y=True, alpha=0.2)
        item.setMouseEnabled(x=True, y=False)  # pan and zoom along time; heights follow the data
        item.getAxis("left").setLabel("Spent per bar")
        item.showAxis("right")
        item.getAxis("right").setLabel("Cumulative", color=LINE_COLOUR)
        for name in ("left", "right"):  # "(x0.001)" beside an amount puzzles people: plain amounts
            item.getAxis(name).enableAutoSIPrefix(False)
        # the cumulative line's own view, a child of the plot (not a loose scene item: the plot owns it)
        self.line_view = pg.ViewBox(parent=item, enableMenu=False)
        self.line_view.setMouseEnabled(x=False, y=False)
        item.getAxis("right").linkToView(self.line_view)
        self.line_view.setXLink(item)
        item.vb.sigResized.connect(self._sync_views)
        # made with its parent, the view joined the scene before it could listen for the scene's paint
        # preparation, where a ViewBox applies a new range or size to what it draws: without this the line
        # was drawn where the view stood when first laid out, not under its bars
        self.plot.scene().sigPrepareForPaint.connect(self.line_view.prepareForPaint)
        # bars as one filled outline (0 → h → h → 0 per bar), not BarGraphItem: its cached QPicture is freed
        # twice under PySide6 6.12 (heap corruption when the chart is destroyed)
        self.bars_item = pg.PlotCurveItem(pen=None, brush=pg.mkBrush(BAR_COLOUR), fillLevel=0)
        item.addItem(self.bars_item)
        self.highlight = pg.PlotCurveItem(pen=None, brush=pg.mkBrush(BAR_HOVER_COLOUR), fillLevel=0)
        item.addItem(self.highlight)
        self.line = pg.PlotCurveItem(pen=pg.mkPen(LINE_COLOUR, width=2))
        self.line_view.addItem(self.line)
        self.bars: list[ChartBar] = []
        self.hovered_index = -1
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _sync_views(self) -> None:
        vb = self.plot.getPlotItem().vb
        self.line_view.setGeometry(vb.geometry())
        self.line_view.linkedViewChanged(vb, self.line_view.XAxis)

    def set_bars(self, bars: Sequence[ChartBar], unit: str) -> None:
        self.bars = list(bars)
        xs = list(range(len(self.bars)))
        heights = [plot_value(b.amount) for b in self.bars]
        self.bars_item.setData(*bar_outline(xs, heights))
        self.highlight.setData([], [])
        self.line.setData(xs, [plot_value(b.cumulative) for b in self.bars])
        item = self.plot.getPlotItem()
        item.getAxis("left").setLabel(f"Spent per bar ({unit})")
        item.getAxis("right").setLabel(f"Cumulative ({unit})", color=LINE_COLOUR)
        step = max(1, -(-len(self.bars) // MAX_TICKS))
        item.getAxis("bottom").setTicks(
            [[(i, self.bars[i].tick) for i in range(0, len(self.bars), step)], []]
        )
        top = max(heights, default=0.0) or 1.0
        item.setXRange(-0.6, max(len(self.bars), 1) - 0.4, padding=0)
        item.setYRange(0, top * 1.08, padding=0)
        last = plot_value(self.bars[-1].cumulative) if self.bars else 0.0
        self.line_view.setYRange(0, (last or 1.0) * 1.08, padding=0)
        self._sync_views()
        self.repoint()

    # -- where the pointer is
    def index_at(self, scene_pos: QPointF) -> int:
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        x = vb.mapSceneToView(scene_pos).x()
        index = round(x)
        if 0 <= index < len(self.bars) and abs(x - index) <= 0.4:
            return index
        return -1

    def bar_position(self, index: int) -> QPointF:
        """The scene position of the middle of bar ``index`` (at least a few pixels up, for short bars)."""
        vb = self.plot.getPlotItem().vb
        height = plot_value(self.bars[index].amount)
        y_top = vb.viewRange()[1][1]
        return vb.mapViewToScene(QPointF(index, max(height / 2, y_top * 0.02)))

    def widget_position(self, index: int) -> QPointF:
        """Bar ``index`` in the plot's viewport coordinates (for driving it with a mouse in tests)."""
        return QPointF(self.plot.mapFromScene(self.bar_position(index)))

    def _point_at(self, index: int, always: bool = False) -> None:
        if index == self.hovered_index and not always:
            return
        self.hovered_index = index
        if index < 0:
            self.highlight.setData([], [])
        else:
            self.highlight.setData(*bar_outline([index], [plot_value(self.bars[index].amount)]))
        self.hovered.emit(index)

    def _mouse_clicked(self, event: object) -> None:
        button = getattr(event, "button", lambda: None)()
        if button != Qt.MouseButton.LeftButton:
            return
        index = self.index_at(event.scenePos())  # type: ignore[attr-defined]
        if index >= 0:
            self.bar_clicked.emit(index)

    def set_dark(self, dark: bool) -> None:
        colour = QColor("#d1d5db" if dark else "#374151")
        item = self.plot.getPlotItem()
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.setTextPen(colour)
            axis.setPen(colour)
