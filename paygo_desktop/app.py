"""The GUI's composition root: data directory, logging, Qt, the asyncio loop (qasync), the main window.

Nothing heavy is imported before the first paint: web3, eth_account and pyqtgraph load when a feature
needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from paygo_desktop import APP_NAME, __version__
from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir, default_data_dir

log = logging.getLogger("paygo_desktop.app")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_STARTUP = 2
SELF_TEST_TIMEOUT_MS = 30_000
SCREENSHOT_SIZE = (1200, 760)
HEAVY_MODULES = ("web3", "eth_account", "pyqtgraph")


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

        from paygo_desktop.gui.async_tasks import describe_error

        if QApplication.instance() is not None:
            QMessageBox.warning(None, APP_NAME, describe_error(exc))

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

        log_file = setup_logging(data_dir.log_dir, debug=bool(getattr(args, "debug", False)))
    except OSError as exc:
        _report_startup_error(f"Cannot use the data directory {root}: {exc.strerror or exc}.", headless)
        return EXIT_STARTUP
    log.info("%s %s starting; data in %s; log %s", APP_NAME, __version__, root, log_file)
    _install_excepthook(headless)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("PayGo")

    from paygo_desktop.context import AppContext

    try:
        ctx = AppContext.open(data_dir)
    except UserFacingError as exc:
        log.error("cannot open the data directory: %s", exc)
        _report_startup_error(str(exc), headless)
        return EXIT_STARTUP
    except Exception:
        log.exception("cannot open the data directory")
        _report_startup_error(f"PayGo Desktop could not start; details are in {log_file}.", headless)
        return EXIT_STARTUP
    try:
        return _run(app, ctx, args)
    finally:
        ctx.close()


def _run(app: Any, ctx: Any, args: argparse.Namespace) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon

    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.gui.resources import app_icon_path
    from paygo_desktop.gui.theme import ThemeManager

    icon = app_icon_path()
    if icon:
        app.setWindowIcon(QIcon(str(icon)))
    theme = ThemeManager(app, getattr(args, "theme", None) or ctx.settings.theme)
    if ctx.settings.recovered_from is not None:
        ctx.activity.record(
            "settings",
            f"Settings were unreadable and were reset; the old file is {ctx.settings.recovered_from.name}",
        )

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    screenshot = getattr(args, "screenshot", None)
    window = MainWindow(ctx, theme=theme, poll_network=not (screenshot or args.self_test))

    if screenshot:
        return _screenshot(app, window, Path(screenshot), getattr(args, "page", None))

    page = getattr(args, "page", None)
    if page:
        window.show_app(page)
    else:
        window.start()
    if ctx.settings.window_geometry and not args.self_test:
        from PySide6.QtCore import QByteArray

        window.restoreGeometry(QByteArray.fromBase64(ctx.settings.window_geometry.encode("ascii")))

    outcome = {"code": EXIT_FAILURE}
    if args.self_test:

        def painted() -> None:
            heavy = [name for name in HEAVY_MODULES if name in sys.modules]
            print(f"self-test: painted; heavy modules loaded: {', '.join(heavy) or 'none'}", flush=True)
            outcome["code"] = EXIT_OK
            app.exit(EXIT_OK)

        def timed_out() -> None:
            print("self-test: the main window did not paint in time", file=sys.stderr, flush=True)
            app.exit(EXIT_FAILURE)

        window.first_painted.connect(painted)
        QTimer.singleShot(SELF_TEST_TIMEOUT_MS, timed_out)
    app.setQuitOnLastWindowClosed(True)
    window.show()
    with loop:
        code = loop.run_forever()
    if args.self_test:
        return outcome["code"] if code == EXIT_OK else EXIT_FAILURE
    return int(code or 0)


def _screenshot(app: Any, window: Any, target: Path, page: str | None) -> int:
    """Render the window (or one page, as a user without a wallet would see it) to a PNG."""
    from PySide6.QtCore import QSize

    window.resize(QSize(*SCREENSHOT_SIZE))
    if page:
        window.show_app(page)
    else:
        window.start()
    window.show()
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
