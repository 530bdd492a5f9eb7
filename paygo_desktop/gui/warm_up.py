"""After unlocking: import, in a worker thread, the modules the app's next steps will need.

A module imported for the first time on the GUI thread freezes the window for as long as the import takes:
the escrow core with web3 took 0.5–1.5 s the first time the Escrow page was opened, and a page's or a
dialog's core modules added tens of milliseconds to the first click that needed them
(benchmarks/session_stall.py).
Once the wallet is unlocked and the first page is on screen, ``warm_up`` imports them in a worker thread,
where an import only shares the interpreter with the window (it yields every few milliseconds). Only core
(Qt-free) modules: the views' own modules are small, and Qt classes are best defined on the GUI thread.
pyqtgraph is not among them: it loads only if the Activity page is opened.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

MODULES = (
    "paygo_desktop.chain.vault",  # web3
    "paygo_desktop.chain.tx_flow",
    "paygo_desktop.escrow.service",
    "paygo_desktop.sessions.engine",
    "paygo_desktop.protocol.client",
    "paygo_desktop.reports.dashboard",
    "paygo_desktop.reports.spending_report",
    "paygo_desktop.vendor.earnings",
    "paygo_desktop.zcash.book",
)


def warm_up(modules: tuple[str, ...] = MODULES) -> list[str]:
    """Import ``modules`` (blocking: run it in a worker thread); returns the ones that failed, logged."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a broken optional module must not break the app: its first use will say why
            log.exception("warming up %s failed", name)
            failed.append(name)
    return failed
