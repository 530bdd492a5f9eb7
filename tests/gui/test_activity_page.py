"""The Activity page with real widgets, a real store and the real pyqtgraph chart: ranges, the asset
selector, hovering a bar, clicking through to its sessions, the empty state, and the late chart import."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, Qt

from paygo_desktop.context import AppContext
from paygo_desktop.reports.periods import RangeKind
from tests.gui.helpers import TIMEOUT
from tests.reports.spending_data import ETH_VIDEO, USDC_FEED, USDC_GPU, Spent, add_session, write

REPO = Path(__file__).resolve().parents[2]


def local_day(days_ago: int, hour: int) -> datetime:
    """``hour`` o'clock local time, ``days_ago`` days before today, as an aware datetime."""
    day = datetime.now().date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour)).astimezone()


@pytest.fixture
def seeded(ctx: AppContext) -> dict[str, Any]:
    """Today: two feed sessions and one GPU session; 20 days ago: one GPU session; and some ETH."""
    store = ctx.store
    today = local_day(0, 1)
    feed_a = add_session(store, USDC_FEED, today, 1_500_000)
    feed_b = add_session(store, USDC_FEED, today + timedelta(minutes=20), 250_000)
    gpu = add_session(store, USDC_GPU, today + timedelta(minutes=40), 3_000_001)
    old = add_session(store, USDC_GPU, local_day(20, 1), 7_000_000)
    eth = add_session(store, ETH_VIDEO, today, 2 * 10**15)
    ids = [feed_a, feed_b, gpu, old, eth]
    write(
        store,
        [
            Spent(USDC_FEED, today, 1_000_000, 0),
            Spent(USDC_FEED, today + timedelta(minutes=5), 500_000, 0),
            Spent(USDC_FEED, today + timedelta(minutes=20), 250_000, 1),
            Spent(USDC_GPU, today + timedelta(minutes=40), 3_000_001, 2),
            Spent(USDC_GPU, local_day(20, 1), 7_000_000, 3),
            Spent(ETH_VIDEO, today + timedelta(minutes=1), 2 * 10**15, 4),
        ],
        ids,
    )
    return {"ids": ids}


def make_page(qtbot: Any, ctx: AppContext) -> Any:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.activity_page import ActivityPage

    runner = TaskRunner()
    page = ActivityPage(ctx, runner)
    page.runner_ref = runner  # type: ignore[attr-defined]  # kept alive with the page
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.data is not None and not runner.busy, timeout=TIMEOUT)
    return page


def choose(qtbot: Any, page: Any, combo: Any, value: str) -> None:
    before = page.data
    combo.setCurrentIndex(combo.findData(value))
    qtbot.waitUntil(lambda: page.data is not before and not page.runner.busy, timeout=TIMEOUT)


def bar_amounts(page: Any) -> list[str]:
    return [b.amount.format() for b in page.data.series if b.amount]


def test_empty_state_when_nothing_was_spent(qtbot: Any, ctx: AppContext, event_loop_qt: Any) -> None:
    page = make_page(qtbot, ctx)
    assert page.stack.currentWidget() is page.empty
    assert page.empty.isVisible()
    assert "Nothing spent yet" in page.empty.title.text()


def test_range_switch_changes_bars_and_totals(
    qtbot: Any, ctx: AppContext, seeded: Any, event_loop_qt: Any
) -> None:
    page = make_page(qtbot, ctx)
    assert page.stack.currentWidget() is page.content
    assert page.asset.currentText() == "USDC on sandbox"  # the most recently used asset first
    assert page.summary.text().startswith("11.750001 USDC spent")  # 30 days: today + 20 days ago
    assert len(page.data.series) == 30 and page.data.bucket.value == "day"
    assert bar_amounts(page) == ["7 USDC", "4.750001 USDC"]

    choose(qtbot, page, page.range, RangeKind.days7.value)
    assert page.summary.text().startswith("4.750001 USDC spent")
    assert len(page.data.series) == 7

    choose(qtbot, page, page.range, RangeKind.today.value)
    assert page.data.bucket.value == "hour" and len(page.data.series) in (23, 24, 25)
    assert bar_amounts(page) == ["4.750001 USDC"]  # all of today's spending fell between 01:00 and 02:00
    qtbot.waitUntil(lambda: not page.breakdown_pending and not page.runner.busy, timeout=TIMEOUT)
    breakdown = {
        page.breakdown.item(r, 0).text(): page.breakdown.item(r, 1).text()
        for r in range(page.breakdown.rowCount())
    }
    assert breakdown == {
        # no price feed here: the value beside each amount is "—", never a guess
        "GPU notebook (Sandbox provider)": "3.000001 USDC (—)",
        "Market data feed (Sandbox provider)": "1.75 USDC (—)",
    }
    page.dimension.setCurrentIndex(page.dimension.findData("category"))
    qtbot.waitUntil(lambda: not page.breakdown_pending and not page.runner.busy, timeout=TIMEOUT)
    assert page.breakdown.item(0, 0).text() == "Compute" and page.breakdown.item(0, 2).text() == "63.1 %"

    choose(qtbot, page, page.range, RangeKind.custom.value)
    assert page.first_day.isVisible() and page.last_day.isVisible()
    before = page.data
    page.first_day.setDate(page.first_day.date().addDays(-30))
    qtbot.waitUntil(lambda: page.data is not before and not page.runner.busy, timeout=TIMEOUT)
    assert page.summary.text().startswith("11.750001 USDC spent")


def test_asset_selector_keeps_assets_apart(
    qtbot: Any, ctx: AppContext, seeded: Any, event_loop_qt: Any
) -> None:
    page = make_page(qtbot, ctx)
    assert page.asset.count() == 2 and page.asset.isEnabled()
    choose(qtbot, page, page.asset, page.asset.itemData(page.asset.findText("ETH on sandbox")))
    assert page.summary.text().startswith("0.002 ETH spent")
    assert bar_amounts(page) == ["0.002 ETH"]
    assert [page.breakdown.item(r, 0).text() for r in range(page.breakdown.rowCount())] == [
        "4K video (Second provider)"
    ]


def test_hover_shows_exact_figures_and_click_lists_the_bars_sessions(
    qtbot: Any, ctx: AppContext, seeded: Any, event_loop_qt: Any
) -> None:
    page = make_page(qtbot, ctx)
    choose(qtbot, page, page.range, RangeKind.days7.value)
    chart = page.chart
    assert chart is not None
    today = len(page.data.series) - 1
    qtbot.waitUntil(lambda: chart.plot.viewport().width() > 100, timeout=TIMEOUT)
    point = chart.widget_position(today).toPoint()
    qtbot.mouseMove(chart.plot.viewport(), point)
    qtbot.waitUntil(lambda: chart.hovered_index == today, timeout=TIMEOUT)
    assert "4.750001 USDC spent" in page.hover.text()
    assert "4.750001 USDC since the start of the range" in page.hover.text()

    # the cumulative line is drawn under its bars: its last point over today's bar, at its height
    def line_point_off() -> tuple[float, float]:
        from paygo_desktop.gui.widgets.spending_chart import plot_value

        cumulative = plot_value(page.data.series[today].cumulative)
        drawn = chart.line.mapToScene(QPointF(today, cumulative))  # as painted: no transform update
        vb = chart.plot.getPlotItem().vb
        rect, top = vb.sceneBoundingRect(), chart.line_view.viewRange()[1][1]
        expected_y = rect.bottom() - rect.height() * cumulative / top
        return abs(drawn.x() - vb.mapViewToScene(QPointF(today, 0)).x()), abs(drawn.y() - expected_y)

    qtbot.waitUntil(lambda: max(line_point_off()) < 2, timeout=TIMEOUT)
    before = page.data
    page.refresh()  # new figures while the pointer rests on the bar: it still shows that bar's
    qtbot.waitUntil(lambda: page.data is not before and not page.runner.busy, timeout=TIMEOUT)
    assert chart.hovered_index == today and "4.750001 USDC spent" in page.hover.text()

    between = chart.plot.mapFromScene(chart.plot.getPlotItem().vb.mapViewToScene(QPointF(today - 0.5, 0.01)))
    qtbot.wait(50)  # pyqtgraph drops mouse moves closer than 10 ms to the previous one
    qtbot.mouseMove(chart.plot.viewport(), between)  # between two bars
    qtbot.waitUntil(lambda: chart.hovered_index == -1, timeout=TIMEOUT)
    assert page.hover.text().startswith("Point at a bar")

    qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: page.sessions.rowCount() == 3, timeout=TIMEOUT)
    rows = {
        (page.sessions.item(r, 0).text(), page.sessions.item(r, 4).text(), page.sessions.item(r, 5).text())
        for r in range(3)
    }
    assert rows == {
        ("Market data feed", "1.5 USDC", "1.5 USDC"),
        ("Market data feed", "0.25 USDC", "0.25 USDC"),
        ("GPU notebook", "3.000001 USDC", "3.000001 USDC"),
    }
    assert page.sessions_title.text().endswith("4.750001 USDC")


def test_pyqtgraph_loads_only_when_the_activity_page_is_first_shown(tmp_path: Path) -> None:
    program = f"""
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.gui.main_window import MainWindow
from pathlib import Path
ctx = AppContext.open(DataDir(Path({str(tmp_path / "data")!r})))
window = MainWindow(ctx, poll_network=False)
window.show()
window.show_app("home")
app.processEvents()
print("home", "pyqtgraph" in sys.modules)
window.show_page("activity")
app.processEvents()
print("activity", "pyqtgraph" in sys.modules, window.pages["activity"].chart is not None)
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["home False", "activity True True"]
