"""After unlocking: import, in a worker thread, the modules the app's next steps will need.

A module imported for the first time on the GUI thread freezes the window for as long as the import takes:
the escrow core with web3 took 0.5–1.5 s the first time the Escrow page was opened, and a page's or a
dialog's core modules added tens of milliseconds to the first click that needed them
(benchmarks/session_stall.py).
Once the wallet is unlocked and the first page is on screen, ``warm_up`` imports them in a worker thread,
where an import only shares the interpreter with the window (it yields every few milliseconds). Only core
(Qt-free) modules: the views' own modules are small, and Qt classes are best defined on the GUI thread.
pyqtgraph is not among them: it loads only if the Activity page is opened.

Every import the app makes in a worker thread goes through ``import_module``, one at a time: two threads
importing web3 for the first time at once (its modules import each other) can each hold a module lock the
other waits for, and Python then fails one of the imports (``_DeadlockError``: seen when the lapsed x402
check started beside the warm-up).
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType

log = logging.getLogger(__name__)
_IMPORTING = threading.Lock()  # one import in a worker thread at a time (import_module)

MODULES = (
    "paygo_desktop.chain.vault",  # web3
    "paygo_desktop.chain.tx_flow",
    "paygo_desktop.escrow.service",
    "paygo_desktop.sessions.engine",
    "paygo_desktop.sessions.access_proxy",
    "paygo_desktop.protocol.client",
    "paygo_desktop.reports.dashboard",
    "paygo_desktop.reports.spending_report",
    "paygo_desktop.vendor.earnings",
    "paygo_desktop.zcash.book",
)


def import_module(name: str) -> ModuleType:
    """``importlib.import_module`` for a worker thread: one such import at a time (blocking)."""
    with _IMPORTING:
        return importlib.import_module(name)


def warm_up(modules: tuple[str, ...] = MODULES) -> list[str]:
    """Import ``modules`` (blocking: run it in a worker thread); returns the ones that failed, logged."""
    failed = []
    for name in modules:
        try:
            import_module(name)
        except Exception:  # a broken optional module must not break the app: its first use will say why
            log.exception("warming up %s failed", name)
            failed.append(name)
    return failed
