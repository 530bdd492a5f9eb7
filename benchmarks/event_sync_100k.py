"""Event sync of 100,000 ``Claimed`` events from a real anvil: generate them, sync them, interrupt and resume.

    python benchmarks/event_sync_100k.py [--events 100000] [--channels 100] [--batch 500] [--gap 100]

Generation: one anvil (automine), PayGoVault deployed with ``paygo_desktop.chain.deploy``, ``--channels``
ETH channels funded once from an unlocked anvil account, then ``claimBatch`` transactions of ``--batch``
vouchers each (every channel several times with rising cumulative amounts, so every entry emits a
``Claimed``), sent from the unlocked account, with ``--gap`` empty blocks mined after each so that the
events spread over blocks as a provider's claims would. Vouchers are signed from their EIP-712 digest with
the project's secp256k1 backend (coincurve through eth_keys).

Timed, each in a fresh store: the baseline (raw ``eth_getLogs`` over the whole range: one HTTP request and
``json.loads``, the floor any sync pays), ``VaultEventSync`` over the first ~1,000 events, and over all
of them. Then resumability: a sync is cancelled (``Task.cancel``) while a request is in flight after it
has saved some chunks; a new ``Store`` on the same file resumes from the cursor; the final store must
hold exactly ``--events`` ``Claimed`` events, no duplicate (tx hash, log index), and per-channel claimed
totals equal to the chain's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_utils import keccak

from paygo_desktop.chain.vouchers import VOUCHER_TYPEHASH, Channel, VaultDomain
from paygo_desktop.sandbox.node import child_options, find_anvil, rpc
from paygo_desktop.sandbox.world import free_port

CHAIN_ID = 31337
MIN_DELAY = 5
CHANNEL_ABI = "(address,address,address,address,uint64,bytes32)"
CLAIM_BATCH = f"claimBatch({CHANNEL_ABI}[],uint128[],bytes[])"
FUND = f"fund({CHANNEL_ABI},uint128)"
UNIT = 10**9  # wei per voucher step
ANVIL_EXTRA: list[str] = ["--prune-history", "64"]


class Rpc:
    """Plain JSON-RPC over one keep-alive connection (the generator's, not the code under test)."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=120)
        self.next_id = 0

    def __call__(self, method: str, params: list[Any] | None = None) -> Any:
        self.next_id += 1
        reply = self.client.post(
            "", json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or []}
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def start_anvil() -> tuple[subprocess.Popen[bytes], str]:
    binary = find_anvil()
    if binary is None:
        sys.exit("anvil not found: run `npm ci` at the repository root")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(CHAIN_ID),
            "--silent",
            *ANVIL_EXTRA,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **child_options(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            rpc(url, "eth_chainId")
            return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("anvil did not start")
            time.sleep(0.05)


def voucher_signature(key: keys.PrivateKey, separator: bytes, channel_id: bytes, amount: int) -> bytes:
    struct = keccak(abi_encode(["bytes32", "bytes32", "uint128"], [VOUCHER_TYPEHASH, channel_id, amount]))
    sig = key.sign_msg_hash(keccak(b"\x19\x01" + separator + struct))
    r, s, v = sig.r, sig.s, sig.v
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])


def calldata(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (keccak(text=signature)[:4] + abi_encode(types, args)).hex()


def transact(call: Rpc, sender: str, to: str, data: str, value: int = 0) -> dict[str, Any]:
    tx = {"from": sender, "to": to, "data": data, "value": hex(value), "gas": hex(29_000_000)}
    tx_hash = call("eth_sendTransaction", [tx])
    receipt = call("eth_getTransactionReceipt", [tx_hash])
    deadline = time.monotonic() + 60
    while receipt is None and time.monotonic() < deadline:  # automine may report the hash before the block
        time.sleep(0.01)
        receipt = call("eth_getTransactionReceipt", [tx_hash])
    if receipt is None or int(receipt["status"], 16) != 1:
        raise RuntimeError(f"transaction {tx_hash} failed: {receipt}")
    return dict(receipt)


async def deploy(url: str, deployer: str) -> tuple[str, int]:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.deploy import deploy_local

    w3 = AsyncWeb3(AsyncHTTPProvider(url))
    dep = await deploy_local(w3, deployer, MIN_DELAY)
    head = int(await w3.eth.block_number)
    await w3.provider.disconnect()
    return dep.vault, head


def generate(url: str, events: int, n_channels: int, batch: int, gap: int) -> dict[str, Any]:
    """Deploy, fund, claim. Returns the vault, the first block to sync from, and the last event blocks."""
    call = Rpc(url)
    deployer = call("eth_accounts")[0]
    vault, deploy_block = asyncio.run(deploy(url, deployer))
    payer_key = keys.PrivateKey(keccak(text="paygo-bench-payer"))
    provider = "0x" + keccak(text="paygo-bench-provider")[-20:].hex()
    domain = VaultDomain(CHAIN_ID, vault)
    separator = domain.separator
    rounds = -(-events // n_channels)
    channels = [
        Channel(
            payer=payer_key.public_key.to_checksum_address(),
            provider=provider,
            withdraw_delay=MIN_DELAY,
            salt=i.to_bytes(32, "big"),
        )
        for i in range(n_channels)
    ]
    deposit = (rounds + 1) * UNIT
    for ch in channels:
        transact(
            call, deployer, vault, calldata(FUND, [CHANNEL_ABI, "uint128"], [ch.as_tuple(), deposit]), deposit
        )
    entries = [(ch, (r + 1) * UNIT) for r in range(rounds) for ch in channels][:events]
    ids = {ch: ch.id for ch in channels}
    sign_s = 0.0
    cumulative_blocks: list[tuple[int, int]] = []  # (block, events up to and including it)
    done = 0
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        t = time.perf_counter()
        sigs = [voucher_signature(payer_key, separator, ids[ch], amount) for ch, amount in chunk]
        sign_s += time.perf_counter() - t
        data = calldata(
            CLAIM_BATCH,
            [f"{CHANNEL_ABI}[]", "uint128[]", "bytes[]"],
            [[ch.as_tuple() for ch, _ in chunk], [a for _, a in chunk], sigs],
        )
        receipt = transact(call, deployer, vault, data)
        if len(receipt["logs"]) != len(chunk):
            raise RuntimeError(f"expected {len(chunk)} Claimed logs, got {len(receipt['logs'])}")
        done += len(chunk)
        cumulative_blocks.append((int(receipt["blockNumber"], 16), done))
        if gap:
            call("anvil_mine", [hex(gap)])
    head = int(call("eth_blockNumber"), 16)
    expected = {"0x" + ids[ch].hex(): 0 for ch in channels}
    for ch, amount in entries:
        expected["0x" + ids[ch].hex()] = amount  # cumulative: the last one is the channel's total
    return {
        "vault": vault,
        "provider": provider,
        "from_block": deploy_block + 1,
        "head": head,
        "claim_txs": len(cumulative_blocks),
        "blocks": cumulative_blocks,
        "sign_s": sign_s,
        "expected": expected,
        "funded": n_channels,
    }


def raw_get_logs(url: str, vault: str, frm: int, to: int) -> tuple[float, int, int]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getLogs",
        "params": [{"address": vault, "fromBlock": hex(frm), "toBlock": hex(to)}],
    }
    with httpx.Client(timeout=300) as client:
        t = time.perf_counter()
        reply = client.post(url, json=body)
        logs = json.loads(reply.content)["result"]
        elapsed = time.perf_counter() - t
    return elapsed, len(logs), len(reply.content)


async def run_sync(
    url: str, vault: str, db: Path, frm: int, to: int, cancel_after_events: int | None = None
) -> tuple[float, Any, bool]:
    """One ``VaultEventSync.sync`` into the store at ``db``; optionally cancelled once that many are saved."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.event_sync import VaultEventSync
    from paygo_desktop.chain.vault import VaultClient
    from paygo_desktop.store import Store
    from paygo_desktop.store.vault_events import VaultEventIndex

    w3 = AsyncWeb3(AsyncHTTPProvider(url, request_kwargs={"timeout": 300}))
    store = Store.open(db)
    sync = VaultEventSync(VaultClient(w3, vault), VaultEventIndex(store), CHAIN_ID, start_block=frm)
    reached = asyncio.Event()
    reports: list[Any] = []

    def progress(report: Any) -> None:
        reports.append(report)
        if cancel_after_events is not None and report.events_added >= cancel_after_events:
            reached.set()

    t = time.perf_counter()
    task = asyncio.create_task(sync.sync(to_block=to, on_progress=progress))
    cancelled = False
    if cancel_after_events is not None:
        waiter = asyncio.create_task(reached.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.sleep(0)  # let the sync send its next request, then interrupt it in flight
            task.cancel()
            cancelled = True
        waiter.cancel()
    try:
        report = await task
    except asyncio.CancelledError:
        report = reports[-1] if reports else None
    elapsed = time.perf_counter() - t
    await w3.provider.disconnect()
    store.close()
    return elapsed, report, cancelled


def check_store(
    db: Path, expected: dict[str, int], provider: str, events: int, funded: int
) -> dict[str, Any]:
    import sqlite3

    from eth_utils import to_checksum_address

    from paygo_desktop.store import Store
    from paygo_desktop.store.vault_events import VaultEventIndex

    con = sqlite3.connect(db)
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT tx_hash || ':' || log_index) FROM vault_events"
    ).fetchone()
    con.close()
    store = Store.open(db)
    index = VaultEventIndex(store)
    claimed = index.count(CHAIN_ID, "Claimed")
    totals = index.claimed_by_provider(CHAIN_ID, to_checksum_address(provider))
    store.close()
    ok = claimed == events and total == distinct == events + funded and totals == expected
    return {
        "claimed": claimed,
        "rows": total,
        "distinct": distinct,
        "totals_match": totals == expected,
        "ok": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--gap", type=int, default=40, help="empty blocks mined after each claim transaction")
    parser.add_argument("--baseline-events", type=int, default=1_000)
    args = parser.parse_args()

    proc, url = start_anvil()
    try:
        t = time.perf_counter()
        world = generate(url, args.events, args.channels, args.batch, args.gap)
        gen_s = time.perf_counter() - t
        frm, head = world["from_block"], world["head"]
        print(
            f"generated {args.events:,} Claimed events in {gen_s:.1f} s: {args.channels} channels funded, "
            f"{world['claim_txs']} claimBatch transactions of {args.batch}, blocks {frm}-{head} "
            f"(signing {world['sign_s']:.1f} s of it)"
        )
        raw_s, raw_n, raw_bytes = raw_get_logs(url, world["vault"], frm, head)
        print(
            f"baseline: raw eth_getLogs {frm}-{head}: {raw_n:,} logs, "
            f"{raw_bytes / 1e6:.0f} MB in {raw_s:.2f} s"
        )
        small_to = next(b for b, n in world["blocks"] if n >= args.baseline_events)
        small_n = next(n for b, n in world["blocks"] if n >= args.baseline_events)
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            s_small, rep_small, _ = asyncio.run(
                run_sync(url, world["vault"], tmpdir / "small.sqlite3", frm, small_to)
            )
            print(
                f"baseline: sync of the first {small_n:,} Claimed (+{args.channels} Funded): "
                f"{s_small:.2f} s, "
                f"{rep_small.requests} request(s)"
            )
            s_full, rep_full, _ = asyncio.run(
                run_sync(url, world["vault"], tmpdir / "full.sqlite3", frm, head)
            )
            full_check = check_store(
                tmpdir / "full.sqlite3", world["expected"], world["provider"], args.events, world["funded"]
            )
            print(
                f"sync of all {rep_full.events_added:,} events: {s_full:.2f} s "
                f"({rep_full.events_added / s_full:,.0f} events/s), {rep_full.requests} requests, "
                f"chunks {rep_full.chunk_sizes}; check {full_check}"
            )
            db = tmpdir / "resumed.sqlite3"
            s_cut, _, cancelled = asyncio.run(
                run_sync(url, world["vault"], db, frm, head, cancel_after_events=args.events // 5)
            )
            import sqlite3

            con = sqlite3.connect(db)
            saved = con.execute("SELECT count(*) FROM vault_events").fetchone()[0]
            cursor = con.execute("SELECT last_block FROM sync_cursors").fetchone()[0]
            con.close()
            print(
                f"interrupted sync: cancelled={cancelled} after {s_cut:.2f} s with {saved:,} events saved, "
                f"cursor at block {cursor} of {head}"
            )
            s_resume, rep_resume, _ = asyncio.run(run_sync(url, world["vault"], db, frm, head))
            resume_check = check_store(db, world["expected"], world["provider"], args.events, world["funded"])
            print(
                f"resume from block {rep_resume.from_block}: {rep_resume.events_added:,} events in "
                f"{s_resume:.2f} s, {rep_resume.requests} requests; check {resume_check}"
            )
            if not (full_check["ok"] and resume_check["ok"] and cancelled):
                sys.exit("FAILED: the synced store does not match the chain")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
