"""The Vendor page's earnings chart: per UTC day, what was earned and what was claimed on-chain (two bars
side by side), and the pending balance at the end of each day (a line), all in one asset.

This module imports pyqtgraph, so the Vendor page builds it only once a provider's earnings are shown.
It draws bars the same way as the Activity chart (``spending_chart.bar_outline``: one filled outline per
series). Plot coordinates are floats because pixels are; the figures people read (the hover text) are
``Amount.format()`` of the exact integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from paygo_desktop.gui.widgets.chart_pointer import PointedChart
from paygo_desktop.gui.widgets.spending_chart import bar_outline, plot_value
from paygo_desktop.vendor.earnings import EarningsDay

EARNED_COLOUR = "#3b82f6"
CLAIMED_COLOUR = "#10b981"
PENDING_COLOUR = "#f59e0b"
BAR_WIDTH = 0.38  # two bars per day, side by side
MAX_TICKS = 10


class EarningsChart(PointedChart, QWidget):
    """Earned and claimed bars per day and the pending line; ``hovered(index)``: the day pointed at, or -1."""

    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Earnings chart")
        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget()
        self.plot.setAccessibleName("Earnings per day: earned, claimed on-chain, pending")
        self.plot.setBackground(None)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.showGrid(x=False, y=True, alpha=0.2)
        item.setMouseEnabled(x=True, y=False)
        for name in ("left", "bottom"):  # "USDC (x0.001)" puzzles people: the axes show plain amounts
            item.getAxis(name).enableAutoSIPrefix(False)
        self.earned_item = pg.PlotCurveItem(pen=None, brush=pg.mkBrush(EARNED_COLOUR), fillLevel=0)
        self.claimed_item = pg.PlotCurveItem(pen=None, brush=pg.mkBrush(CLAIMED_COLOUR), fillLevel=0)
        self.pending_item = pg.PlotDataItem(  # with markers: a single day is a point, not a line
            pen=pg.mkPen(PENDING_COLOUR, width=2),
            symbol="o",
            symbolSize=8,
            symbolPen=pg.mkPen(PENDING_COLOUR),
            symbolBrush=pg.mkBrush(PENDING_COLOUR),
        )
        for curve in (self.earned_item, self.claimed_item, self.pending_item):
            item.addItem(curve)
        # the legend draws a fill-only curve as an empty swatch: it gets thick-line samples instead
        self.legend = item.addLegend(offset=(10, 5), colCount=3)
        self.legend_samples = [
            pg.PlotDataItem(pen=pg.mkPen(EARNED_COLOUR, width=8)),
            pg.PlotDataItem(pen=pg.mkPen(CLAIMED_COLOUR, width=8)),
            pg.PlotDataItem(
                pen=pg.mkPen(PENDING_COLOUR, width=2),
                symbol="o",
                symbolSize=8,
                symbolBrush=pg.mkBrush(PENDING_COLOUR),
            ),
        ]
        for sample, name in zip(
            self.legend_samples,
            ("Earned", "Claimed on-chain", "Pending: earned, not claimed yet"),
            strict=True,
        ):
            self.legend.addItem(sample, name)
        self.days: list[EarningsDay] = []
        self.hovered_index = -1
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_days(self, days: Sequence[EarningsDay], unit: str) -> None:
        self.days = list(days)
        xs = list(range(len(self.days)))
        earned = [plot_value(d.earned) for d in self.days]
        claimed = [plot_value(d.claimed) for d in self.days]
        pending = [plot_value(d.pending) for d in self.days]
        half = BAR_WIDTH / 2
        self.earned_item.setData(*bar_outline([x - half for x in xs], earned, BAR_WIDTH))
        self.claimed_item.setData(*bar_outline([x + half for x in xs], claimed, BAR_WIDTH))
        self.pending_item.setData(xs, pending)
        item = self.plot.getPlotItem()
        item.getAxis("left").setLabel(unit)
        item.getAxis("bottom").setLabel("Day (UTC)")
        step = max(1, -(-len(self.days) // MAX_TICKS))
        item.getAxis("bottom").setTicks(
            [[(i, self.days[i].day.strftime("%b %d")) for i in range(0, len(self.days), step)], []]
        )
        top = max([*earned, *claimed, *pending], default=0.0) or 1.0
        item.setXRange(-0.7, max(len(self.days), 1) - 0.3, padding=0)
        item.setYRange(0, top * 1.25, padding=0)  # room for the legend above the tallest bar
        self.repoint()

    # -- where the pointer is
    def index_at(self, scene_pos: QPointF) -> int:
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        index = round(vb.mapSceneToView(scene_pos).x())
        return index if 0 <= index < len(self.days) else -1

    def widget_position(self, index: int) -> QPointF:
        """Day ``index`` in the plot's viewport coordinates, low in the plot (for driving it in tests)."""
        vb = self.plot.getPlotItem().vb
        y_top = vb.viewRange()[1][1]
        return QPointF(self.plot.mapFromScene(vb.mapViewToScene(QPointF(index, y_top * 0.05))))

    def _point_at(self, index: int, always: bool = False) -> None:
        if index != self.hovered_index or always:
            self.hovered_index = index
            self.hovered.emit(index)

    def set_dark(self, dark: bool) -> None:
        colour = QColor("#d1d5db" if dark else "#374151")
        item = self.plot.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setTextPen(colour)
            axis.setPen(colour)
        self.legend.setLabelTextColor(colour)
        for _sample, label in self.legend.items:
            label.setText(label.text)  # a label takes a new colour only when its text is set again
