"""A check that catches blocking work on the GUI thread: SQL through the store, a file opened, a signature.

asyncio runs on Qt's own thread here (qasync), so a query, a file read or a signature made there freezes
the window. ``BlockingCallGuard`` watches the thread that starts it while it is on:

* SQL: a SQLAlchemy ``before_cursor_execute`` listener on the store's engine;
* files: the ``open`` audit event (``sys.addaudithook``; Python's own modules being imported are not
  counted);
* signing (``watch_signing``): a profile function on that thread alone (``sys.setprofile``), for the ECDSA
  signers eth-keys uses (coincurve, native) and the voucher signer.

Each call site is recorded once, with the innermost frame of the app's own code that made it. The GUI
session flow test runs a whole session under it and expects nothing; ``paygo-desktop --debug`` runs it
for SQL and files and logs what it finds (``report="log"``). ``paused()`` leaves out a stretch that is
not the app's (a test's own look at the store or a file).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

_APP = "paygo_desktop"
_THIS_FILE = __file__
_IMPORTED = (".py", ".pyc", ".so", ".pyd", ".pth")
_active: BlockingCallGuard | None = None  # the guard the process-wide audit hook reports to
_hooked = False


def _audit(name: str, args: tuple[Any, ...]) -> None:
    guard = _active
    if guard is None or name != "open" or not args:
        return
    path = args[0]
    if not isinstance(path, str | bytes) or str(path).endswith(_IMPORTED):
        return
    guard.record("file", str(path))


def _signing_codes() -> set[CodeType]:
    codes: set[CodeType] = set()
    for module, owner, name in (
        ("eth_keys.backends.coincurve", "CoinCurveECCBackend", "ecdsa_sign"),
        ("eth_keys.backends.native.main", "NativeECCBackend", "ecdsa_sign"),
        ("paygo_desktop.chain.vouchers", None, "sign_voucher"),
    ):
        try:
            found: Any = __import__(module, fromlist=["_"])
            if owner is not None:
                found = getattr(found, owner)
            codes.add(getattr(found, name).__code__)
        except (ImportError, AttributeError):
            continue
    return codes


class BlockingCallGuard:
    def __init__(
        self,
        engine: Engine,
        *,
        watch_signing: bool = True,
        report: str = "collect",
        outside: tuple[str, ...] = (),
        callers_outside: tuple[str, ...] = (),
    ) -> None:
        self.engine = engine
        self.watch_signing = watch_signing
        self.report = report  # "collect": into ``violations``; "log": a warning per call site
        self.outside = outside  # the app's files ("gui/x.py") whose calls this check leaves out
        self.callers_outside = callers_outside  # callers left out (a test's own look at the store: "/tests/")
        self.violations: list[str] = []
        self._seen: set[str] = set()
        self._thread: int | None = None
        self._paused = 0
        self._signing: set[CodeType] = set()

    # -- on and off ------------------------------------------------------------------------------------
    def start(self) -> BlockingCallGuard:
        """Watch the calling thread (the GUI thread) from now on."""
        global _active, _hooked
        self._thread = threading.get_ident()
        event.listen(self.engine, "before_cursor_execute", self._on_sql)
        if not _hooked:  # an audit hook cannot be removed: one for the process, reporting to the guard on
            sys.addaudithook(_audit)
            _hooked = True
        _active = self
        if self.watch_signing:
            self._signing = _signing_codes()
            sys.setprofile(self._profile)
        return self

    def stop(self) -> None:
        global _active
        if self.watch_signing:
            sys.setprofile(None)
        with contextlib.suppress(Exception):
            event.remove(self.engine, "before_cursor_execute", self._on_sql)
        if _active is self:
            _active = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def pause(self) -> None:
        self._paused += 1

    def resume(self) -> None:
        self._paused = max(0, self._paused - 1)

    # -- what it sees ----------------------------------------------------------------------------------
    def _on_sql(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.record("sql", " ".join(statement.split())[:80])

    def _profile(self, frame: FrameType, what: str, _arg: Any) -> None:
        if what == "call" and frame.f_code in self._signing:
            self.record("signing", frame.f_code.co_qualname)

    def record(self, kind: str, detail: str) -> None:
        if self._paused or threading.get_ident() != self._thread:
            return
        frames = _app_frames()
        if self.outside and any(f.startswith(self.outside) for f in frames):
            return
        if self.callers_outside and _called_from(self.callers_outside):
            return
        where = frames[0] if frames else "outside the app's code"
        key = f"{kind} at {where}"
        if key in self._seen:
            return
        self._seen.add(key)
        text = f"{kind} on the GUI thread at {where}: {detail}; called from " + " < ".join(frames[1:4])
        if self.report == "log":
            log.warning("%s", text)
        else:
            self.violations.append(text)


def _called_from(places: tuple[str, ...]) -> bool:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if any(place in frame.f_code.co_filename for place in places):
            return True
        frame = frame.f_back
    return False


def _app_frames() -> list[str]:
    """The frames of the app's own code (not this module's) on the calling thread's stack, innermost
    first: "sessions/engine.py:120 (start)"."""
    found = []
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if _APP in filename and filename != _THIS_FILE:
            found.append(
                f"{filename.split(_APP, 1)[1].lstrip('/')}:{frame.f_lineno} ({frame.f_code.co_name})"
            )
        frame = frame.f_back
    return found
