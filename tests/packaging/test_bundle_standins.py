"""The bundle's stand-ins for Qt's OpenGL bindings, and the numpy and pyqtgraph parts it leaves out, keep
both charts drawing exactly as they do with everything installed.

Each chart is rendered in a fresh interpreter twice: once as the source run has it, once as the bundle has
it (packaging/stubs/ imported under PySide6.QtOpenGL and QtOpenGLWidgets, and every module the spec
excludes that the charts could reach made unimportable). The two pictures must be the same pixels, with the
bars drawn. No build here: `make smoke` renders the chart pages in the built bundle.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "paygo-desktop.spec"
STUBS = ROOT / "packaging" / "stubs"
# What the bundle leaves out below the charts: they must never need any of it.
CHART_EXCLUDES = (
    "numpy.random",
    "numpy.fft",
    "numpy.ma",
    "numpy.polynomial",
    "numpy.testing",
    "pyqtgraph.flowchart",
    "pyqtgraph.console",
    "pyqtgraph.dockarea",
    "pyqtgraph.opengl",
    "OpenGL",
)

RENDER = r"""
import hashlib, importlib.abc, importlib.util, json, sys
from datetime import UTC, datetime, timedelta

bundle_like, stubs, blocked = sys.argv[1] == "bundle", sys.argv[2], sys.argv[3].split(",")
STANDINS = {"PySide6.QtOpenGL": "qt_opengl.py", "PySide6.QtOpenGLWidgets": "qt_opengl_widgets.py"}

class AsInTheBundle(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in STANDINS:
            return importlib.util.spec_from_file_location(name, f"{stubs}/{STANDINS[name]}")
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"left out of the bundle: {name}", name=name)
        return None

if bundle_like:
    sys.meta_path.insert(0, AsInTheBundle())

from PySide6.QtWidgets import QApplication
app = QApplication([])
from paygo_desktop.gui.widgets.earnings_chart import EarningsChart
from paygo_desktop.gui.widgets.spending_chart import BAR_COLOUR, ChartBar, SpendingChart
from paygo_desktop.money import Amount, Asset
from paygo_desktop.vendor.earnings import EarningsDay

usdc = Asset("USDC", 6)
amount = lambda units: Amount(usdc, units)
spending = SpendingChart()
bars = [
    ChartBar(f"day {i}", f"d{i}", amount(1_000_000 * (i % 4 + 1)), amount(1_000_000 * (i + 1) * 2))
    for i in range(12)
]
spending.set_bars(bars, "USDC")
earnings = EarningsChart()
start = datetime(2026, 11, 1, tzinfo=UTC)
days = [
    EarningsDay(start + timedelta(days=i), amount(500_000 * (i + 1)), amount(200_000 * i), amount(90_000 * i))
    for i in range(8)
]
earnings.set_days(days, "USDC")
result = {"opengl": str(getattr(sys.modules["PySide6.QtOpenGL"], "__file__", ""))}
bar = int(BAR_COLOUR[1:], 16)
for name, chart in (("spending", spending), ("earnings", earnings)):
    chart.resize(640, 320)
    chart.show()
    app.processEvents()
    image = chart.grab().toImage()
    pixels = [image.pixel(x, y) & 0xFFFFFF for x in range(image.width()) for y in range(image.height())]
    result[name] = {
        "sha256": hashlib.sha256(bytes(image.constBits())).hexdigest(),
        "bar_pixels": sum(1 for p in pixels if p == bar),
        "colours": len(set(pixels)),
    }
print(json.dumps(result))
"""


def spec_excludes() -> set[str]:
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "excludes" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("no excludes list in the spec")


def render(mode: str) -> dict[str, dict[str, object] | str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", RENDER, mode, str(STUBS), ",".join(CHART_EXCLUDES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, dict[str, object] | str] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_the_spec_replaces_the_opengl_bindings_and_leaves_out_what_the_charts_never_reach() -> None:
    excluded = spec_excludes()
    assert {"PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", *CHART_EXCLUDES} <= excluded
    spec_text = SPEC.read_text(encoding="utf-8")
    for stub in ("qt_opengl.py", "qt_opengl_widgets.py"):
        assert (STUBS / stub).is_file()
        assert f'"{stub}"' in spec_text


def test_charts_draw_the_same_pixels_with_the_bundles_standins() -> None:
    pytest.importorskip("pyqtgraph")
    source = render("source")
    bundle = render("bundle")
    assert "stubs/qt_opengl.py" in str(bundle["opengl"])  # the stand-in was what pyqtgraph imported
    assert "stubs" not in str(source["opengl"])
    for chart in ("spending", "earnings"):
        drawn = bundle[chart]
        assert isinstance(drawn, dict)
        assert drawn == source[chart], chart
    spending = bundle["spending"]
    assert isinstance(spending, dict) and int(str(spending["bar_pixels"])) > 1000  # the bars are drawn


def test_the_standins_refuse_any_real_use() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = (
        "import importlib.util, sys\n"
        "def load(name, file):\n"
        "    spec = importlib.util.spec_from_file_location(name, file)\n"
        "    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); return module\n"
        f"gl = load('PySide6.QtOpenGL', {str(STUBS / 'qt_opengl.py')!r})\n"
        f"widgets = load('PySide6.QtOpenGLWidgets', {str(STUBS / 'qt_opengl_widgets.py')!r})\n"
        "assert not hasattr(gl, 'QOpenGLBuffer')\n"
        "try:\n"
        "    widgets.QOpenGLWidget()\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "left out of this bundle" in out.stdout
