import asyncio
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paygo_desktop.networks import (
    BUILTIN_NETWORKS,
    NetworkError,
    custom_network,
    fetch_chain_id,
    verify_custom_network,
)
from tests.dribbling_server import compressed_server, dribbling_server


@pytest.fixture
def rpc_server():
    """A real JSON-RPC endpoint on loopback that answers eth_chainId (and garbage on /bad)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/endless":  # an answer without end, in chunks
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                with contextlib.suppress(OSError):
                    while True:
                        self.wfile.write(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
                return
            body = (
                b"<html>nope</html>"
                if self.path == "/bad"
                else json.dumps({"jsonrpc": "2.0", "id": 1, "result": hex(1337)}).encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_builtin_networks_have_the_right_chain_ids():
    assert {n.key: n.chain_id for n in BUILTIN_NETWORKS} == {
        "sandbox": 31337,
        "base-sepolia": 84532,
        "base": 8453,
    }
    base = next(n for n in BUILTIN_NETWORKS if n.key == "base")
    assert base.tokens[0].symbol == "USDC" and base.tokens[0].decimals == 6
    assert base.explorer_tx_url("0xabc") == "https://basescan.org/tx/0xabc"


async def test_custom_network_is_checked_against_eth_chain_id(rpc_server):
    assert await fetch_chain_id(rpc_server) == 1337
    good = custom_network("Lab", rpc_server, 1337)
    assert await verify_custom_network(good) is good
    with pytest.raises(NetworkError, match="reports chain id 1337, not 5"):
        await verify_custom_network(custom_network("Lab", rpc_server, 5))


async def test_unreachable_or_garbage_endpoints_give_clear_errors(rpc_server):
    with pytest.raises(NetworkError, match="did not answer with JSON-RPC"):
        await fetch_chain_id(rpc_server + "/bad")
    with pytest.raises(NetworkError, match="Could not reach"):
        await fetch_chain_id("http://127.0.0.1:9", timeout=2)


async def test_an_endpoint_that_answers_slowly_or_without_end_is_given_up_on(rpc_server):
    """The status bar asks every few seconds: an endpoint sending a byte every 0.2 s (which breaks none of
    httpx's per-read limits), or an answer without end, is given up on within the timeout and its bound."""
    async with dribbling_server() as url:
        began = time.monotonic()
        with pytest.raises(NetworkError, match="did not answer within 1 seconds"):
            await asyncio.wait_for(fetch_chain_id(url, timeout=1), 10)
        assert time.monotonic() - began < 2
    with pytest.raises(NetworkError, match="far more than a chain id"):
        await asyncio.wait_for(fetch_chain_id(rpc_server + "/endless", timeout=5), 10)


def test_custom_network_input_is_validated():
    with pytest.raises(NetworkError):
        custom_network("x", "ftp://host", 1)
    with pytest.raises(NetworkError):
        custom_network("x", "http://host", 0)
    assert custom_network("My Node!", "http://h", 5).key == "custom-my-node"


async def test_polling_the_chain_id_builds_no_tls_context_on_the_event_loop(rpc_server, monkeypatch):
    """The status bar polls every few seconds on the GUI's loop: the certificate store (25 ms to build)
    is built once, in a worker thread, and shared by every poll."""
    import ssl
    import threading

    built_on: list[str] = []
    create = ssl.create_default_context

    def counting(*args, **kwargs):
        built_on.append(threading.current_thread().name)
        return create(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    from paygo_desktop.tls import tls_context

    tls_context.cache_clear()
    for _ in range(3):
        assert await fetch_chain_id(rpc_server) == 1337
    assert len(built_on) == 1 and built_on[0] != threading.main_thread().name


async def test_a_request_does_not_search_the_import_path(rpc_server, monkeypatch):
    """httpcore tries to import a module that is not installed on every request: the app remembers its
    absence, so a poll does not search sys.path (on the GUI thread)."""
    import importlib.machinery

    assert await fetch_chain_id(rpc_server) == 1337
    searches: list[str] = []
    find_spec = importlib.machinery.PathFinder.find_spec

    def counting(name, *args, **kwargs):
        searches.append(name)
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", counting)
    for _ in range(3):
        assert await fetch_chain_id(rpc_server) == 1337
    assert searches == []


async def test_a_compressed_answer_is_refused_unread():
    """Gzipped twice, a few kilobytes inflate whole before any size cap counts them: refused unread."""
    async with compressed_server(b" " * 50_000_000) as url:
        with pytest.raises(NetworkError, match="gzip, gzip-compressed answer"):
            await fetch_chain_id(url, timeout=5)
