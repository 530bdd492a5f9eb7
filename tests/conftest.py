"""Shared test set-up: Qt runs offscreen; nothing touches the user's real data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests pass --data-dir or tmp paths everywhere; this only guards against a slip writing to $HOME.
os.environ.setdefault("PAYGO_DATA_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "paygo-test-data"))
