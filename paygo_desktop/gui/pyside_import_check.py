"""A cheaper form of the check PySide6 runs on every module imported after it.

Once PySide6 is loaded, its ``__feature__`` support (``from __feature__ import snake_case``, which this app
does not use) asks of every newly imported module whether its source mentions "PySide6", through
``inspect.getsource``. That reads, tokenises and keeps in ``linecache`` the whole source of every module
(SQLAlchemy's among them): measured at start-up, 75 ms of the 0.5 s between the first paint and the ready
screen, and 20 MB of resident memory that is never given back. ``install()`` replaces the check with one
that answers the same question by reading the file's bytes, caching nothing; it is a no-op if a PySide6
version no longer has the hook.
"""

from __future__ import annotations

import linecache
import sys
from types import ModuleType

FEATURE_MODULE = "shibokensupport.feature"


def uses_pyside(module: ModuleType) -> bool:
    """Whether the module's source file mentions PySide6 (what PySide6 asks), without ``linecache``."""
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return False  # built in, an extension module, or no file: PySide6's own check says False too
    try:
        with open(origin, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def install() -> bool:
    """Swap the check in (call once PySide6 is imported); True if it was swapped."""
    import PySide6.QtCore  # noqa: F401  (the hook exists once PySide6 is loaded)

    feature = sys.modules.get(FEATURE_MODULE)
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
    linecache.clearcache()  # the sources PySide6's own imports cached on the way
    return True
