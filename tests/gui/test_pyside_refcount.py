"""The installed PySide6 keeps Python's reference counts: PySide6 6.12.0 did not.

On CPython 3.11, where ``None``, ``True`` and ``False`` are not immortal, 6.12.0 dropped a reference to
``None`` on every void call (``setText``, ``setVisible``, each ``QPainter`` call) and the process aborted
("none_dealloc", "bool_dealloc") minutes into repainting a chart or a meter; pyproject.toml therefore keeps
PySide6 below 6.12. This test is the check to run before moving that pin.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtWidgets import QLabel


def test_void_calls_do_not_lose_references_to_none_or_bools(qtbot: Any) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(20_000):
        label.setText("a" if i % 2 else "b")
        label.setVisible(False)
        label.setEnabled(bool(i % 2))
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    lost = [b - a for b, a in zip(before, after, strict=True)]
    assert max(lost) < 100, f"references lost to None/True/False over 20,000 calls: {lost}"
