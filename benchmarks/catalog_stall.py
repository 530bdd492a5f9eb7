"""Does a huge catalog freeze the window? The longest gap between 10 ms GUI-thread timer ticks while the real
Services page loads, filters and shows a 10,000-service catalog, beside the same measurement while idle.

The catalog is served by a small loopback HTTP server in a thread of this process (a stand-in: what is
measured is the app's side — paging over HTTP, validating, sorting and showing — not the server). Goal: the
largest stall under 50 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/catalog_stall.py [--services 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

USDC = "0x" + "5" * 40
PROVIDER = {
    "name": "Catalog benchmark provider",
    "payTo": "0x" + "a" * 40,
    "networks": [{"chainId": 31337, "vault": "0x" + "b" * 40}],
    "assets": [{"symbol": "USDC", "address": USDC, "decimals": 6}],
    "signingKey": "0x" + "a" * 40,
}
TYPES = ("video", "audio", "data", "consultation", "other")


def service(i: int) -> dict[str, Any]:
    return {
        "id": f"svc-{i}",
        "name": f"Service number {i}",
        "description": "A service in a very large catalog " * 3,
        "category": f"category-{i % 40}",
        "type": TYPES[i % len(TYPES)],
        "rate": {"amount": str(1000 + i), "asset": "USDC", "unit": "per_hour"},
        "tickSeconds": 5,
        "graceSeconds": 5,
        "isActive": i % 7 != 0,
        "vendor": {"name": "Vendor", "address": "0x" + "a" * 40},
    }


def serve(count: int) -> tuple[ThreadingHTTPServer, str]:
    services = [service(i) for i in range(count)]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/api/v1/provider":
                body: Any = PROVIDER
            elif url.path == "/api/v1/service":
                query = parse_qs(url.query)
                page = int(query.get("page", ["1"])[0])
                size = int(query.get("pageSize", query.get("page_size", ["100"]))[0])
                body = {
                    "items": services[(page - 1) * size : page * size],
                    "total": count,
                    "page": page,
                    "pageSize": size,
                }
            else:
                self.send_error(404)
                return
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--default-gc", action="store_true", help="without the app's collector policy")
    args = parser.parse_args()

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.gc_policy import settle_after_startup
    from paygo_desktop.gui.pages.services_page import ServicesPage
    from paygo_desktop.paths import DataDir

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    server, url = serve(args.services)
    ctx = AppContext.open(DataDir(Path(tempfile.mkdtemp(prefix="paygo-catalog-"))))
    ctx.settings.network = "base"  # not the sandbox: only the provider given here is browsed
    ctx.settings.providers = [url]
    page = ServicesPage(ctx, TaskRunner())
    page.resize(1100, 700)
    page.show()
    if not args.default_gc:
        settle_after_startup()  # as the app does once it has loaded

    async def largest_gap(action: str) -> tuple[float, float, int]:
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        started = time.perf_counter()
        timer.start()
        if action == "load":
            page.load(force=True)
            while page.catalog is None or page.model.rowCount() == 0 or not page.reload_button.isEnabled():
                await asyncio.sleep(0.005)
            page.search.setText("number 99")  # a search over the whole catalog
            await asyncio.sleep(0.05)
            page.search.setText("")
            await asyncio.sleep(0.05)
        else:
            await asyncio.sleep(1.0)
        took = time.perf_counter() - started
        timer.stop()
        gaps = [b - a for a, b in pairwise(ticks)]
        rows = page.model.rowCount()
        page.catalog = None
        page.model.set_rows([])
        return (max(gaps) if gaps else took), took, rows

    async def run() -> None:
        idle, loads, durations, rows = [], [], [], 0
        for _ in range(args.runs):
            idle.append((await largest_gap("idle"))[0])
            gap, took, rows = await largest_gap("load")
            loads.append(gap)
            durations.append(took)
        policy = "CPython's default collector" if args.default_gc else "the app's collector policy"
        cores = os.cpu_count()
        print(f"runs: {args.runs}, {args.services} services, {policy}, 10 ms GUI timer, {cores} cores")
        print("| while | largest gap between ticks, median | worst |")
        print("|---|---|---|")
        print(f"| idle (baseline) | {statistics.median(idle) * 1000:.0f} ms | {max(idle) * 1000:.0f} ms |")
        print(
            f"| loading and showing {rows:,} services ({statistics.median(durations):.2f} s) | "
            f"{statistics.median(loads) * 1000:.0f} ms | {max(loads) * 1000:.0f} ms |"
        )
        app.quit()

    with loop:
        loop.run_until_complete(run())
    server.shutdown()
    ctx.close()


if __name__ == "__main__":
    main()
