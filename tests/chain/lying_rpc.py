"""A loopback JSON-RPC proxy in front of anvil that can rewrite the node's answers: a public RPC that lies
(fees, receipts) or lags behind (a load balancer's backend a block or two late), for the transaction
manager's tests. Everything it does not rewrite is anvil's own answer."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Rewrite = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
"""(request, anvil's answer) → the answer the wallet gets."""


class LyingRpc:
    def __init__(self, target: str) -> None:
        self.target = target
        self.rewrites: dict[str, Rewrite] = {}  # by JSON-RPC method
        self.calls: list[str] = []  # the methods asked, in order
        # by method: forwarded to anvil, then answered with this HTTP error status instead of anvil's answer
        # (a load balancer's 502 after its backend took the request)
        self.http_errors: dict[str, int] = {}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(str(request.get("method")))
        upstream = urllib.request.Request(
            self.target, json.dumps(request).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(upstream, timeout=30) as resp:
            reply: dict[str, Any] = json.loads(resp.read())
        rewrite = self.rewrites.get(str(request.get("method")))
        return rewrite(request, reply) if rewrite is not None else reply


@contextmanager
def lying_rpc(target: str) -> Iterator[tuple[str, LyingRpc]]:
    """A ``LyingRpc`` to ``target`` on a free loopback port: (its URL, the proxy to set rewrites on)."""
    proxy = LyingRpc(target)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = json.loads(body)
            data = json.dumps(proxy.answer(request)).encode()
            status = proxy.http_errors.get(str(request.get("method")))
            if status is not None:
                data = b"upstream error"
            self.send_response(status or 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
