"""Loading helpers for the official Zcash test vectors in tests/vectors/zcash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors" / "zcash"


def load_vectors(name: str) -> Any:
    with (VECTORS_DIR / name).open(encoding="utf-8") as fh:
        return json.load(fh)


def table_rows(name: str) -> list[list[Any]]:
    """Rows of a zcash-test-vectors table file (first two rows are the source and column headers)."""
    data = load_vectors(name)
    assert data[0][0].startswith("From https://github.com/zcash/zcash-test-vectors"), name
    assert data[1][0].count(",") >= 1, name
    return data[2:]
