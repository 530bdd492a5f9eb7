"""benchmarks/memory_layers.py still measures what its name says: each row a fresh process with the layers
above it imported (a benchmark that cannot run, or whose rows stopped importing anything, measures nothing).
The figures themselves belong to docs/performance.md, not to a test."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_memory_benchmark_measures_a_window_and_what_a_layer_adds() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import memory_layers
    finally:
        sys.path.remove(str(ROOT))

    bare = memory_layers.measure(())
    with_orm = memory_layers.measure(("sqlalchemy.orm",))
    assert bare["rss"] > 10_000  # KiB: a painted Qt window, not an empty interpreter
    assert with_orm["anon"] > bare["anon"]  # the layer was imported into that process
    assert all(layer for _, layer in memory_layers.LAYERS[1:])  # every row above the baseline adds something
