"""How the GUI process collects cyclic garbage without freezing the window.

A full (generation 2) collection walks every live Python object while holding the GIL; with a large
catalog loaded that is 50–130 ms in which the window cannot repaint. Once start-up is done, everything
alive is frozen out of the collector's view (``gc.freeze``: start-up objects live as long as the app), and
full collections are made a hundred times rarer. Young generations are collected as usual, and reference
counting frees everything that is not in a cycle at once, so memory stays flat
(benchmarks/catalog_stall.py measures the effect).
"""

from __future__ import annotations

import gc

FULL_COLLECTION_THRESHOLD = 1000  # CPython's default is 10


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
