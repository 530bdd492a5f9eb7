"""The GUI's composition root: data directory, logging, Qt, the asyncio loop (qasync), the main window.

Paint first, then load. The main window's frame (title, icon, theme, sidebar, status bar, "Loading your
wallet…") is shown from PySide6 and small modules only; once it has painted, qasync starts and the
database is asked, with the stdlib sqlite3 alone, whether it lists a wallet (``store.wallet_probe``): the
lock screen or the onboarding wizard is built and swapped in at once, and the ``AppContext`` (SQLAlchemy,
the SQLite store, any migration) opens in a worker thread once that screen has painted; unlocking or
finishing the wizard waits for it. Where the answer is unclear (a newer, unreadable or locked database)
the store opens first, as its error needs it. Each page is built when it is first shown. The app is
*ready* once the first screen has painted. A store that cannot be opened is reported in the window, never
as a traceback. asyncio loads after the first paint; web3, eth_account and pyqtgraph later still, when a
feature needs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from paygo_desktop import APP_NAME, __version__
from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir, default_data_dir

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.settings import Settings

log = logging.getLogger("paygo_desktop.app")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_STARTUP = 2
SELF_TEST_TIMEOUT_MS = 30_000
SCREENSHOT_SIZE = (1200, 760)
SCREENSHOT_WAIT_SECONDS = 15.0
HEAVY_MODULES = ("sqlalchemy", "web3", "eth_account", "pyqtgraph")  # none before the first paint
LATE_HEAVY_MODULES = ("web3", "eth_account", "pyqtgraph")  # none even once loaded, until a feature needs them
FIRST_PAINT_WAIT_MS = 3_000  # a window that is never exposed must not hold the loading back for long
_IMPORTED_AT = time.perf_counter()


def seconds_since_process_start() -> float:
    """Seconds since this process started (from /proc on Linux; elsewhere since this module loaded)."""
    try:
        with open("/proc/self/stat", "rb") as stat_file:
            stat = stat_file.read()
        start_ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])  # field 22, starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED_AT


def peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _headless(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "self_test", False) or getattr(args, "screenshot", None))


def _report_startup_error(message: str, headless: bool) -> None:
    print(f"{APP_NAME}: {message}", file=sys.stderr)
    if headless:
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        QApplication(sys.argv[:1])
    QMessageBox.critical(None, APP_NAME, message)


def _install_excepthook(headless: bool) -> None:
    """Unexpected errors are logged in full; the user sees a short message, never a traceback."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unhandled error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        if headless:
            print(f"{APP_NAME}: unexpected error: {exc_type.__name__}", file=sys.stderr)
            return
        from PySide6.QtWidgets import QApplication, QMessageBox

        from paygo_desktop.errors import describe_error
        from paygo_desktop.gui.async_tasks import GENERIC_ERROR

        if QApplication.instance() is not None:
            QMessageBox.warning(None, APP_NAME, describe_error(exc, GENERIC_ERROR))

    sys.excepthook = hook


def run_gui(args: argparse.Namespace) -> int:
    headless = _headless(args)
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir()
    data_dir = DataDir(root)
    try:
        data_dir.ensure()
        from paygo_desktop.logs import setup_logging

        # rotation (logging.handlers) starts once the window has painted (_Startup.run)
        log_file = setup_logging(data_dir.log_dir, debug=bool(getattr(args, "debug", False)), rotating=False)
    except OSError as exc:
        _report_startup_error(f"Cannot use the data directory {root}: {exc.strerror or exc}.", headless)
        return EXIT_STARTUP
    log.info("%s %s starting; data in %s; log %s", APP_NAME, __version__, root, log_file)
    _install_excepthook(headless)

    from paygo_desktop.gui import pyside_import_check

    pyside_import_check.install()  # every later import skips PySide6's costly source check
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("PayGo")
    app.setDesktopFileName("paygo-desktop")  # the installed .desktop entry: Wayland finds the icon through it

    from paygo_desktop.settings import Settings

    try:
        settings = Settings.load(data_dir.settings_file)  # small JSON: the theme and geometry, before paint
    except Exception:
        log.exception("cannot read the settings")
        _report_startup_error(f"PayGo Desktop could not start; details are in {log_file}.", headless)
        return EXIT_STARTUP
    startup = _Startup(app, args, data_dir, settings, log_file)
    try:
        return startup.run()
    finally:
        if startup.ctx is not None:
            startup.ctx.close()


def _open_context(data_dir: DataDir, settings: Settings) -> AppContext:
    """``AppContext.open`` with the settings already read; runs in a worker thread (SQLAlchemy, SQLite)."""
    from paygo_desktop.context import AppContext
    from paygo_desktop.store import Store

    return AppContext(data_dir=data_dir, settings=settings, store=Store.open(data_dir.database_file))


class _Startup:
    """Frame, first paint, then the data and the views, then (for --self-test / --screenshot) the exit."""

    def __init__(
        self, app: Any, args: argparse.Namespace, data_dir: DataDir, settings: Any, log_file: Path
    ) -> None:
        self.app = app
        self.args = args
        self.data_dir = data_dir
        self.settings = settings
        self.log_file = log_file
        self.self_test = bool(getattr(args, "self_test", False))
        self.screenshot = getattr(args, "screenshot", None)
        self.page = getattr(args, "page", None)
        self.ctx: AppContext | None = None
        self.code = EXIT_FAILURE if self.self_test or self.screenshot else EXIT_OK  # until they are done
        self.painted_after: float | None = None
        self.screen_first = False  # the first screen was shown before the store opened (wallet_probe)
        self._opening: Any = None  # the store opening behind that screen

    def run(self) -> int:
        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtGui import QIcon

        from paygo_desktop.gui.main_window import MainWindow
        from paygo_desktop.gui.resources import app_icon_path
        from paygo_desktop.gui.theme import ThemeManager

        app = self.app
        icon = app_icon_path()
        if icon:
            app.setWindowIcon(QIcon(str(icon)))
        theme = ThemeManager(app, getattr(self.args, "theme", None) or self.settings.theme)
        self.window = window = MainWindow(theme=theme, poll_network=not (self.screenshot or self.self_test))
        from paygo_desktop.gui.gc_policy import GuiThreadCollector

        # Cyclic garbage (Qt objects among it) is collected on this thread only, from now on.
        self.collector = GuiThreadCollector(window)
        self.collector.start()
        if self.screenshot:
            from PySide6.QtCore import QSize

            window.resize(QSize(*SCREENSHOT_SIZE))
        elif self.settings.window_geometry and not self.self_test:
            from PySide6.QtCore import QByteArray

            window.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode("ascii")))
        app.setQuitOnLastWindowClosed(True)

        # Paint first: spin Qt alone until the frame is on screen (qasync and asyncio are not loaded yet).
        waiter = QEventLoop()
        window.first_painted.connect(self._painted)
        window.first_painted.connect(waiter.quit)
        QTimer.singleShot(SELF_TEST_TIMEOUT_MS if self.self_test else FIRST_PAINT_WAIT_MS, waiter.quit)
        window.show()
        waiter.exec()
        if self.self_test and self.painted_after is None:
            print("self-test: the main window did not paint in time", file=sys.stderr, flush=True)
            return EXIT_FAILURE

        # Then load: the asyncio loop inside Qt, the store in a worker thread, the views on the GUI thread.
        from paygo_desktop.logs import start_rotating

        start_rotating()
        import asyncio

        import qasync

        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        if self.self_test:
            QTimer.singleShot(SELF_TEST_TIMEOUT_MS, self._timed_out)
        loading = loop.create_task(self._load())
        with loop:
            exit_code = loop.run_forever()
        if not loading.done():
            loading.cancel()
        if self.self_test or self.screenshot:
            return self.code
        return self.code if self.code != EXIT_OK else int(exit_code or 0)

    def _painted(self) -> None:
        if self.painted_after is not None:
            return
        self.painted_after = seconds_since_process_start()
        log.info("first paint after %.3f s", self.painted_after)
        if self.self_test:
            heavy = [name for name in HEAVY_MODULES if name in sys.modules]
            rss = peak_rss_mb()
            print(f"self-test: painted; heavy modules loaded: {', '.join(heavy) or 'none'}", flush=True)
            print(
                f"self-test: first paint after {self.painted_after:.3f} s"
                + (f"; peak RSS at first paint {rss:.0f} MB" if rss is not None else ""),
                flush=True,
            )

    def _timed_out(self) -> None:
        print("self-test: the main window did not finish loading in time", file=sys.stderr, flush=True)
        self.code = EXIT_FAILURE
        self.app.exit(EXIT_FAILURE)

    async def _load(self) -> None:
        import asyncio

        from paygo_desktop.store.wallet_probe import wallet_listed

        # Whether the database lists a wallet, read with sqlite3 alone: the lock screen or the wizard first,
        # the store (SQLAlchemy, any migration) opened behind it once it has painted. Anything unclear (a
        # newer, unreadable or locked database) opens the store first, as before: its error needs it.
        if not self.screenshot and not self.page:
            listed = await asyncio.to_thread(wallet_listed, self.data_dir.database_file)
            if listed is not None:
                self._first_screen_before_store(listed)
                return
        ctx = await self._open()
        if ctx is None:
            return
        try:
            self._show(ctx)
        except Exception:
            log.exception("building the main window failed")
            self._failed(f"PayGo Desktop could not start; details are in {self.log_file}.")

    async def _open(self) -> AppContext | None:
        """The store opened in a worker thread; None (and the error shown) if it cannot be."""
        import asyncio

        try:
            self.ctx = ctx = await asyncio.to_thread(_open_context, self.data_dir, self.settings)
        except UserFacingError as exc:
            log.error("cannot open the data directory: %s", exc)
            self._failed(str(exc))
            return None
        except Exception:
            log.exception("cannot open the data directory")
            self._failed(f"PayGo Desktop could not start; details are in {self.log_file}.")
            return None
        if self.window.poll_network:  # a live run, not a screenshot or self-test: may start the sandbox
            from paygo_desktop.sandbox.launcher import SandboxLauncher

            self.window.sandbox = SandboxLauncher(self.data_dir)
        return ctx

    def _first_screen_before_store(self, wallet_listed: bool) -> None:
        from PySide6.QtCore import QTimer

        self.window.show_first_screen_while_opening(wallet_listed)
        self.screen_first = True
        self._ready_watch = after_paint(self.window.root.currentWidget(), self._ready)
        # the store opens once that screen has painted, or after a while if it never paints (hidden)
        QTimer.singleShot(FIRST_PAINT_WAIT_MS, self._open_behind_first_screen)

    def _open_behind_first_screen(self) -> None:
        if self._opening is None:
            import asyncio

            self._opening = asyncio.ensure_future(self._attach_behind_first_screen())

    async def _attach_behind_first_screen(self) -> None:
        ctx = await self._open()
        if ctx is None:
            return
        try:
            self._attach(ctx)
        except Exception:
            log.exception("building the main window failed")
            self._failed(f"PayGo Desktop could not start; details are in {self.log_file}.")
            return
        import gc

        gc.freeze()  # the store's modules join the start-up objects full collections never walk
        opened = seconds_since_process_start()
        log.info("store open behind the first screen after %.3f s", opened)
        if self.self_test:
            print(f"self-test: store open after {opened:.3f} s", flush=True)
            self.code = EXIT_OK
            self.app.exit(EXIT_OK)

    def _failed(self, message: str) -> None:
        print(f"{APP_NAME}: {message}", file=sys.stderr, flush=True)
        self.code = EXIT_STARTUP
        self.window.show_load_error(message)
        if self.self_test or self.screenshot:
            self.app.exit(EXIT_STARTUP)

    def _attach(self, ctx: AppContext) -> None:
        recovered = ctx.settings.recovered_from
        if recovered is not None:
            ctx.activity.record(
                "settings", f"Settings were unreadable and were reset; the old file is {recovered.name}"
            )
        self.window.attach(ctx)
        if getattr(self.args, "debug", False):  # log each blocking call site on the GUI thread
            from paygo_desktop.gui.blocking_guard import BlockingCallGuard

            self.guard = BlockingCallGuard(ctx.store.engine, watch_signing=False, report="log").start()

    def _show(self, ctx: AppContext) -> None:
        window = self.window
        self._attach(ctx)
        if self.screenshot:
            import asyncio

            self._shot_task = asyncio.ensure_future(self._take_screenshot())
            return
        if self.page:
            window.show_app(self.page)
        else:
            window.start()
        # Ready: the first screen (lock screen, onboarding, or the page asked for) has painted.
        self._ready_watch = after_paint(window.root.currentWidget(), self._ready)

    def _ready(self) -> None:
        ready = seconds_since_process_start()
        log.info("ready after %.3f s", ready)
        from paygo_desktop.gui.gc_policy import settle_after_startup

        settle_after_startup(self.collector)  # one short collection now; later ones never freeze the window
        if self.self_test:
            late = [name for name in LATE_HEAVY_MODULES if name in sys.modules]
            rss = peak_rss_mb()
            print(
                f"self-test: first paint after {self.painted_after or 0.0:.3f} s; ready after {ready:.3f} s "
                f"({self.window.mode} screen painted)"
                + (f"; peak RSS when ready {rss:.0f} MB" if rss is not None else "")
                + f"; heavy modules loaded when ready: {', '.join(late) or 'none'}"
                + f"; sqlalchemy loaded when ready: {'yes' if 'sqlalchemy' in sys.modules else 'no'}",
                flush=True,
            )
        if self.screen_first:  # the first screen came before the store: now the store, behind it
            self._open_behind_first_screen()
        elif self.self_test:
            self.code = EXIT_OK
            self.app.exit(EXIT_OK)

    async def _take_screenshot(self) -> None:
        """Show the page, let its background work (a catalog, say) finish, then render it."""
        import asyncio

        from PySide6.QtCore import QSize

        window = self.window
        try:
            window.resize(QSize(*SCREENSHOT_SIZE))
            if self.page:
                window.show_app(self.page)
            else:
                window.start()
            window.show()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + SCREENSHOT_WAIT_SECONDS
            await asyncio.sleep(0.05)
            while window.runner.busy and loop.time() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # one more turn so the results are painted
            self.code = _save_screenshot(self.app, window, Path(str(self.screenshot)))
        except Exception:  # whatever went wrong, the process ends (and says so) instead of waiting for ever
            log.exception("the screenshot could not be taken")
            print("screenshot: failed; see the log", file=sys.stderr)
            self.code = EXIT_FAILURE
        finally:
            self.app.exit(self.code)


def after_paint(widget: Any, callback: Any) -> Any:
    """Call ``callback`` once, on the event loop turn after ``widget`` next paints (its children paint in
    the same pass). Returns the watcher, which must be kept alive until then."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class PaintWatch(QObject):
        def eventFilter(self, watched: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                QTimer.singleShot(0, callback)
            return False

    watch = PaintWatch()
    widget.installEventFilter(watch)
    widget.update()
    return watch


def _save_screenshot(app: Any, window: Any, target: Path) -> int:
    """Render the window to a PNG of the fixed screenshot size."""
    for _ in range(3):
        app.processEvents()
    image = window.grab().toImage()
    if (image.width(), image.height()) != SCREENSHOT_SIZE:
        from PySide6.QtCore import Qt

        image = image.scaled(
            *SCREENSHOT_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target), "PNG"):
        print(f"{APP_NAME}: could not write {target}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"screenshot: {target} ({image.width()}x{image.height()})")
    window.runner.cancel_all()
    return EXIT_OK
