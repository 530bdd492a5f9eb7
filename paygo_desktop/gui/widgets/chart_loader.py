"""Charts come from pyqtgraph (and numpy under it): loaded the first time a chart is shown. Should that
library fail to load (a broken install, a bundle missing a native part), the page says so in the chart's
place and keeps working; it never takes the window down with it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import QBoxLayout, QLabel

log = logging.getLogger(__name__)
T = TypeVar("T")


def load_chart(build: Callable[[], T], holder: QBoxLayout) -> T | None:
    """``build()`` (which imports the chart's module and makes the widget), or None with a message in
    ``holder`` when its libraries cannot be loaded."""
    try:
        return build()
    except (ImportError, OSError) as exc:
        log.error("the chart's libraries did not load", exc_info=True)
        note = QLabel(
            "The chart cannot be drawn: its plotting library did not load "
            f"({type(exc).__name__}). The figures below are complete without it."
        )
        note.setObjectName("Hint")
        note.setWordWrap(True)
        note.setAccessibleName("Chart unavailable")
        holder.addWidget(note)
        return None
