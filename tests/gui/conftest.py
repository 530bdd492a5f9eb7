"""Fixtures for the GUI tests: real widgets, a real SQLite store in tmp_path, a wallet with cheap scrypt,
and a qasync loop driven by the Qt event processing that ``qtbot.waitUntil`` does."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir

TEST_MNEMONIC = "test test test test test test test test test test test junk"
TEST_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True, scope="session")
def gui_thread_collector(qapp: Any) -> Iterator[Any]:
    """As in the app: cyclic garbage is collected on the GUI thread only, never in a worker thread where
    Qt objects' destructors would run beside the GUI thread (see gui/gc_policy.py)."""
    from paygo_desktop.gui.gc_policy import GuiThreadCollector

    collector = GuiThreadCollector()
    collector.start()
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread() -> Iterator[None]:
    """After each test (its widgets closed), collect its cyclic garbage here, on the GUI thread."""
    yield
    gc.collect()


@pytest.fixture
def event_loop_qt(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    # Worker threads (asyncio.to_thread: unlocking, opening the store) report back into this loop; the
    # fixture owns their executor so it can wait for them before the loop goes away. A worker finishing
    # after the loop was closed would post into a dead loop, and Qt would crash on a later test's events.
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gui-test-worker")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    # let the cancelled tasks run their ``finally`` blocks before the loop goes away
    settle_by = time.monotonic() + 5
    while any(not task.done() for task in tasks) and time.monotonic() < settle_by:
        qapp.processEvents()
        time.sleep(0.005)
    qapp.processEvents()
    # Wait for the workers while Qt (and so this loop) keeps running: a worker may be waiting for a
    # callback of this loop, and a plain shutdown(wait=True) would then wait for ever.
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 30
    threads = list(getattr(executor, "_threads", ()))
    for thread in threads:
        while thread.is_alive() and time.monotonic() < deadline:
            qapp.processEvents()
            thread.join(0.02)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:  # closing the loop would join them for ever: hand it an idle executor, and say so below
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    for _ in range(3):  # deliver what the workers reported, while the loop can still take it
        qapp.processEvents()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    with contextlib.suppress(RuntimeError, TypeError):
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop.close()
    asyncio.set_event_loop(None)
    _release_web3_session_lock_left_by_a_cancelled_request()
    assert not stuck, f"worker threads still busy 30 s after the test: {stuck}"


def _release_web3_session_lock_left_by_a_cancelled_request() -> None:
    """web3's AsyncHTTPProvider takes one process-wide threading lock (``HTTPSessionManager._lock``) in
    an executor thread around every request's session lookup. A request cancelled while that acquire is
    under way (a test ending with a read in flight) never releases it, and every later async web3 request
    in the process then waits for ever (seen in CI as a 120 s hang in a later test's chain set-up). The
    lock is held for microseconds in normal use: still held 2 s after the test, it was left behind."""
    from web3._utils.http_session_manager import HTTPSessionManager

    lock = HTTPSessionManager._lock
    deadline = time.monotonic() + 2
    while lock.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    if lock.locked():
        logging.getLogger(__name__).warning("web3's session lock was left held by a cancelled request")
        lock.release()


def cheap_wallet(ctx: AppContext) -> Any:
    from paygo_desktop.wallet import KdfParams, Wallet

    return Wallet(ctx.data_dir.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))


@pytest.fixture
def ctx(tmp_path: Any) -> Iterator[AppContext]:
    context = AppContext.open(DataDir(tmp_path / "data"))
    context.__dict__["wallet"] = cheap_wallet(context)  # overrides the cached_property
    yield context
    context.close()


@pytest.fixture
def window(qtbot: Any, ctx: AppContext, event_loop_qt: Any) -> Any:
    from paygo_desktop.gui.main_window import MainWindow

    win = MainWindow(ctx, poll_network=False)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def wallet_ctx(ctx: AppContext) -> AppContext:
    """A context whose wallet already holds the test mnemonic's account 0."""
    ctx.wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD, "Main")
    return ctx


@pytest.fixture
def unlocked_window(qtbot: Any, wallet_ctx: AppContext, event_loop_qt: Any) -> Any:
    from paygo_desktop.gui.main_window import MainWindow

    win = MainWindow(wallet_ctx, poll_network=False)
    qtbot.addWidget(win)
    win.start()
    win.show()
    wallet_ctx.wallet.unlock(PASSWORD)
    win.show_app("home")
    return win


class ChainIdServer:
    """A real JSON-RPC endpoint on 127.0.0.1 that answers eth_chainId with a chosen id."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": hex(owner.chain_id)})
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chain_server() -> Iterator[ChainIdServer]:
    server = ChainIdServer(chain_id=31337)
    yield server
    server.close()
