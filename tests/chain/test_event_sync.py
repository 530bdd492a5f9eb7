"""Event sync against anvil, behind a loopback proxy that refuses wide eth_getLogs queries as public nodes do.

anvil itself never refuses a range, so the proxy stands in for that one behaviour of hosted RPC nodes; every
other byte comes from the real node.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paygo_desktop.chain.event_sync import VaultEventSync
from paygo_desktop.store import Store
from paygo_desktop.store.vault_events import VaultEventIndex


@pytest.fixture
def limited_rpc(env):
    """A JSON-RPC proxy to anvil that refuses eth_getLogs over more than ``limit[0]`` blocks."""
    limit = [4]
    seen: list[tuple[int, int]] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = json.loads(body)
            if request.get("method") == "eth_getLogs":
                params = request["params"][0]
                lo, hi = int(params["fromBlock"], 16), int(params["toBlock"], 16)
                seen.append((lo, hi))
                if hi - lo + 1 > limit[0]:
                    reply = {
                        "jsonrpc": "2.0",
                        "id": request["id"],
                        "error": {"code": -32005, "message": "query exceeds max block range"},
                    }
                    return self._reply(json.dumps(reply).encode())
            upstream = urllib.request.Request(env.url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(upstream, timeout=10) as resp:
                self._reply(resp.read())

        def _reply(self, data):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", limit, seen
    server.shutdown()


def make_activity(env, rounds=6):
    """Fund and claim on a few channels: one block per transaction on anvil."""
    from paygo_desktop.chain.vouchers import sign_voucher

    channels = [env.channel(salt=bytes([i]) * 32) for i in range(3)]
    for ch in channels:
        env.run(env.vault.fund(env.payer, ch, 10**16))
    for i in range(rounds):
        ch = channels[i % 3]
        amount = 10**12 * (i + 1)
        sig = sign_voucher(env.payer.key, env.domain(), ch, amount)
        env.run(env.vault.claim(env.stranger, ch, amount, sig))
    return channels


def vault_client(env, url):
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.vault import VaultClient

    return VaultClient(AsyncWeb3(AsyncHTTPProvider(url)), env.vault.address)


def test_sync_narrows_refused_ranges_and_matches_the_chain(env, limited_rpc, tmp_path):
    url, _limit, seen = limited_rpc
    start = int(env.rpc("eth_blockNumber"), 16) + 1
    make_activity(env)
    head = int(env.rpc("eth_blockNumber"), 16)
    index = VaultEventIndex(Store.open(tmp_path / "db.sqlite3"))
    sync = VaultEventSync(vault_client(env, url), index, env.chain_id, start_block=start, chunk=64)
    report = env.run(sync.sync())
    assert report.narrowed >= 1
    refused = [r for r in seen if r[1] - r[0] + 1 > 4]
    assert len(refused) == report.narrowed
    assert report.chunk_sizes and max(report.chunk_sizes) <= 4
    direct = env.run(env.vault.get_events(start, head))
    assert report.events_added == len(direct) == index.count(env.chain_id)
    assert index.count(env.chain_id, "Claimed") == 6
    assert index.cursor(env.chain_id, env.vault.address) == head


def test_sync_resumes_from_the_cursor_without_duplicates(env, tmp_path):
    start = int(env.rpc("eth_blockNumber"), 16) + 1
    channels = make_activity(env, rounds=3)
    middle = int(env.rpc("eth_blockNumber"), 16)
    db = tmp_path / "db.sqlite3"
    first = VaultEventSync(
        env.vault, VaultEventIndex(Store.open(db)), env.chain_id, start_block=start, chunk=2
    )
    env.run(first.sync(to_block=middle - 2))  # interrupted before the end
    from paygo_desktop.chain.vouchers import sign_voucher

    sig = sign_voucher(env.payer.key, env.domain(), channels[0], 10**14)
    env.run(env.vault.claim(env.stranger, channels[0], 10**14, sig))
    # a restart: new store object, same file
    index = VaultEventIndex(Store.open(db))
    second = VaultEventSync(env.vault, index, env.chain_id, start_block=start)
    report = env.run(second.sync())
    assert report.from_block == middle - 1
    total = env.run(env.vault.get_events(start))
    assert index.count(env.chain_id) == len(total)
    env.run(second.sync())  # nothing new, nothing doubled
    assert index.count(env.chain_id) == len(total)


def test_claimed_totals_rebuild_from_events_after_the_store_is_wiped(env, tmp_path):
    start = int(env.rpc("eth_blockNumber"), 16) + 1
    channels = make_activity(env, rounds=6)
    onchain = {"0x" + ch.id.hex(): env.run(env.vault.channel_state(ch)).claimed for ch in channels}
    wiped = tmp_path / "fresh.sqlite3"
    index = VaultEventIndex(Store.open(wiped))
    env.run(VaultEventSync(env.vault, index, env.chain_id, start_block=start).sync())
    assert index.claimed_by_provider(env.chain_id, env.provider.address) == onchain


def test_a_first_sync_starts_at_the_vaults_deployment_block_and_misses_nothing(env, limited_rpc, tmp_path):
    """On a public network block 0 is tens of millions of blocks before the vault: the first sync finds the
    deployment block (eth_getCode at past blocks) and reads from there, and every event is still found."""
    from paygo_desktop.chain.vault import VaultClient
    from tests.chain.conftest import MIN_DELAY, deploy_test_vault

    url, limit, seen = limited_rpc
    limit[0] = 10_000
    env.rpc("anvil_mine", [hex(500)])  # a chain with history before the vault
    address = env.run(deploy_test_vault(env.w3, env.deployer, MIN_DELAY))
    deployed_at = int(env.rpc("eth_blockNumber"), 16)
    vault = VaultClient(env.w3, address)
    for i in range(3):
        env.run(vault.fund(env.payer, env.channel(salt=bytes([40 + i]) * 32), 10**15))
    index = VaultEventIndex(Store.open(tmp_path / "db.sqlite3"))
    report = env.run(VaultEventSync(vault_client_at(url, address), index, env.chain_id).sync())
    assert report.from_block == deployed_at and seen[0][0] == deployed_at  # not block 0
    assert report.events_added == index.count(env.chain_id) == 3  # all three fundings, none missed
    assert index.cursor(env.chain_id, address) == int(env.rpc("eth_blockNumber"), 16)


def test_a_vault_not_deployed_yet_is_not_read_and_leaves_no_cursor(env, tmp_path):
    address = "0x" + "ab" * 20
    index = VaultEventIndex(Store.open(tmp_path / "db.sqlite3"))
    report = env.run(VaultEventSync(vault_client_at(env.url, address), index, env.chain_id).sync())
    assert report.events_added == 0 and report.requests == 0
    assert index.cursor(env.chain_id, address) is None  # found once it is there


def test_a_node_without_history_is_read_from_block_0(env, limited_rpc, tmp_path):
    """A node that refuses state of past blocks (no archive): the deployment block cannot be found, so the
    sync falls back to reading from 0 rather than skip anything."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.deployment_block import deployment_block

    head = int(env.rpc("eth_blockNumber"), 16)

    class Forgetful:
        def __init__(self, w3):
            self.eth = self
            self._w3 = w3

        async def get_code(self, address, block):
            if block < head:
                raise ValueError("missing trie node")
            return await self._w3.eth.get_code(address, block)

    w3 = AsyncWeb3(AsyncHTTPProvider(env.url))
    assert env.run(deployment_block(w3, env.vault.address, head)) > 0
    assert env.run(deployment_block(Forgetful(w3), env.vault.address, head)) == 0


def vault_client_at(url, address):
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.vault import VaultClient

    return VaultClient(AsyncWeb3(AsyncHTTPProvider(url)), address)
