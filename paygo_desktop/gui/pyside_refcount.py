"""A guard against a reference-count bug of PySide6 6.12 on CPython 3.11: ``None`` dying mid-run.

PySide6 6.12.0 returns ``None`` from every void method (``setText``, ``setVisible``, every ``QPainter``
draw call, …) without taking a reference to it. From CPython 3.12 ``None`` is immortal and that is harmless
(PEP 683); on 3.11 each call lowers None's count by one, and after some tens of thousands of calls (a few
minutes of a chart being hovered and repainted) CPython aborts with "none_dealloc: deallocating None".
Some paths into Python overrides lose references to ``True`` and ``False`` the same way ("bool_dealloc",
seen while pyqtgraph paints).

``guard_none()`` measures the leak with one cheap QtCore call; when present, it gives ``None``, ``True``
and ``False`` reference counts so large that the leak can never bring them to zero, as CPython 3.12 does
for these singletons. Nothing happens on 3.12+ or with a PySide6 that counts correctly. The real fix is a
PySide6 release without the bug (or Python 3.12); this keeps the app alive until then.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

HEADROOM = 1 << 40  # references; at a million void calls a second, 12 days to use up
PROBE_CALLS = 64
_guarded = False


def none_leak_per_call() -> float:
    """How many references to None one void PySide6 call loses (0 for a correct PySide6)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    return (before - sys.getrefcount(None)) / PROBE_CALLS


def guard_none() -> bool:
    """Protect ``None``, ``True`` and ``False`` when this PySide6 leaks them; returns whether it did."""
    global _guarded
    if _guarded or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _guarded
    if none_leak_per_call() <= 0:
        return False
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt, every object's first field
        refcount.value += HEADROOM
    _guarded = True
    log.warning("PySide6 leaks references to None on this Python; guarded (see gui/pyside_refcount.py)")
    return True
