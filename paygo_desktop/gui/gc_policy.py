"""How the GUI process collects cyclic garbage: only on the GUI thread, and without freezing the window.

Two hazards, one policy:

- **The thread.** CPython runs a collection in whichever thread happens to allocate. When that is a worker
  thread (``asyncio.to_thread``: unlocking, SQL, validation) and the garbage holds Qt objects (a page, a
  chart's scene items), their C++ destructors run in that worker thread while the GUI thread may be using
  them: heap corruption ("malloc_consolidate(): unaligned fastbin chunk"), seen with the pyqtgraph chart.
  So automatic collection is switched off and ``GuiThreadCollector`` collects on a timer of the GUI thread,
  the generation CPython itself would have collected (the same thresholds).
- **The pause.** A full (generation 2) collection walks every live Python object holding the GIL; with a
  large catalog loaded that took 50–130 ms, a visible freeze. After start-up, everything alive is frozen
  out of the collector's view (``gc.freeze``: start-up objects live as long as the app) and full
  collections are made a hundred times rarer.

Reference counting still frees everything not in a cycle at once, so memory stays flat
(benchmarks/catalog_stall.py measures the pause).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

FULL_COLLECTION_THRESHOLD = 1000  # CPython's default is 10
CHECK_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects cyclic garbage on the GUI thread only; automatic collection stays off while it runs."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()

    def check(self) -> None:
        """Collect what CPython would have collected by now, here, on the GUI thread."""
        young, middle, full = gc.get_count()
        if young > self.thresholds[0]:
            generation = 0
            if middle > self.thresholds[1]:
                generation = 2 if full > self.thresholds[2] else 1
            gc.collect(generation)


def settle_after_startup(collector: GuiThreadCollector | None = None) -> None:
    """Once the window is up: one collection now, freeze the survivors, rarer full collections, and from
    here on every collection on the GUI thread (``collector``)."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
    if collector is not None:
        collector.thresholds = gc.get_threshold()
        collector.start()
