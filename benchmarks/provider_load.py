"""Concurrent sessions against the reference provider at 5-second ticks: voucher latency under load.

1. Starts the sandbox (anvil + PayGoVault + test USDC + the reference provider) in a subprocess on free
   loopback ports, in a throw-away data directory.
2. Funds N USDC channels on chain from one payer (distinct salts, one session per channel): the sandbox
   mints the payer's USDC; one approve, then N pre-signed ``fund`` transactions sent in JSON-RPC batches.
3. A second process (this file with ``--worker``) pre-signs every voucher, starts the N sessions spread
   evenly over one tick (so they are out of phase, as real payers are; ``--ramp S`` spreads the starts
   over S seconds instead, a separate figure), then sends one voucher per session every tick with
   asyncio + httpx, for ``--seconds``. Each request's latency is taken from just before the request to
   its response. Lateness (actual send time minus the scheduled one) shows whether the load generator
   itself kept up.
4. Prints p50/p95/p99/max, errors, the achieved rate, the CPU used by each process and by everything
   else on the machine meanwhile (a shared machine's other work shows up there); stops everything.

The load generator's own garbage collections pause its event loop, and a pause counts in the latency of
every request then in flight (full collections of its heap took 50-90 ms every ~8 s). ``--freeze-client-gc``
gives it the provider's collector policy (``provider/gc_policy.py``: start-up objects such as the
imports and the pre-signed vouchers frozen out of the collector) before the load; its full collections
still walk every response's garbage (httpx makes a few dozen objects of cyclic garbage per request), so
pauses of 15-40 ms remain. It is off by default and every report says which was used.

    python benchmarks/provider_load.py [--sessions 1000] [--seconds 60] [--tick 5] [--ramp S]
        [--freeze-client-gc]

Loopback only. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERVICE = "market-data-feed"  # demo catalog: 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE = 1000
PAYER_SEED = "paygo-bench-load-payer"
FUND_BATCH = 100
SHARD = 25  # sessions per HTTP client in the load process


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def cpu_seconds(pid: int, depth: int = 0) -> float:
    """User + system CPU of ``pid`` and its live descendants (anvil may sit behind a wrapper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + (sum(cpu_seconds(int(k), depth + 1) for k in kids) if depth < 3 else 0.0)


def machine_busy_seconds() -> float:
    """CPU seconds used by every process on the machine so far (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def backend() -> str:
    import eth_keys

    return type(eth_keys.KeyAPI().backend).__name__


# ------------------------------------------------------------------------------------------ sandbox


def start_sandbox(data_dir: Path, payer: str, timeout: float = 180) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "paygo_desktop", "--data-dir", str(data_dir), "sandbox"),
            *("--rpc-port", "0", "--provider-port", "0", "--fund", payer),
        ],
        stdout=subprocess.PIPE,
        stderr=(data_dir / "sandbox.log").open("w"),
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        stop_process(proc)
        raise RuntimeError(f"the sandbox did not start; see {data_dir / 'sandbox.log'}")
    return proc, json.loads(line)


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    import httpx

    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    replies = sorted(httpx.post(url, json=body, timeout=60).json(), key=lambda r: r["id"])
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"RPC errors: {errors[:3]}")
    return [r["result"] for r in replies]


def fund_channels(ready: dict, sessions: int, deposit: int) -> list[dict]:
    """Approve once, then ``sessions`` fund transactions from one payer; returns the channel params."""
    from eth_account import Account
    from eth_utils import keccak
    from web3 import HTTPProvider, Web3

    from paygo_desktop.chain.artifacts import load_artifact
    from paygo_desktop.chain.vouchers import Channel
    from paygo_desktop.protocol import models as m
    from paygo_desktop.sandbox.world import SANDBOX_WITHDRAW_DELAY, provider_key

    url = ready["rpc"]
    w3 = Web3(HTTPProvider(url))
    payer = Account.from_key(keccak(text=PAYER_SEED))
    provider = Account.from_key(provider_key())
    vault = w3.eth.contract(address=ready["vault"], abi=load_artifact("PayGoVault").abi)
    usdc = w3.eth.contract(address=ready["usdc"], abi=load_artifact("TestUSDC").abi)
    balance = usdc.functions.balanceOf(payer.address).call()
    if balance < sessions * deposit:
        raise RuntimeError(f"the payer holds {balance} USDC units, needs {sessions * deposit}")
    nonce = w3.eth.get_transaction_count(payer.address)
    base = {"chainId": ready["chainId"], "gasPrice": 2 * w3.eth.gas_price, "from": payer.address}
    channels = [
        Channel(
            payer=payer.address,
            provider=provider.address,
            token=ready["usdc"],
            withdraw_delay=SANDBOX_WITHDRAW_DELAY,
            salt=keccak(text=f"bench-load-{i}"),
        )
        for i in range(sessions)
    ]
    txs = [
        usdc.functions.approve(vault.address, 2**256 - 1).build_transaction(
            {**base, "gas": 100_000, "nonce": nonce}
        )
    ]
    for i, ch in enumerate(channels):
        fn = vault.functions.fund(ch.as_tuple(), deposit)
        txs.append(fn.build_transaction({**base, "gas": 300_000, "nonce": nonce + 1 + i}))
    raw = ["0x" + bytes(payer.sign_transaction(tx).raw_transaction).hex() for tx in txs]
    hashes: list[str] = []
    for i in range(0, len(raw), FUND_BATCH):
        hashes += rpc_batch(url, [("eth_sendRawTransaction", [r]) for r in raw[i : i + FUND_BATCH]])
    deadline = time.monotonic() + 120
    pending = list(hashes)
    while pending:  # anvil mines each one at once; this only waits for the last few
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} funding transactions not mined in time")
        receipts = rpc_batch(url, [("eth_getTransactionReceipt", [h]) for h in pending[:FUND_BATCH]])
        for h, rec in zip(pending[:FUND_BATCH], receipts, strict=True):
            if rec is not None and int(rec["status"], 16) != 1:
                raise RuntimeError(f"funding transaction {h} reverted")
        done = {h for h, rec in zip(pending[:FUND_BATCH], receipts, strict=True) if rec is not None}
        if not done:
            time.sleep(0.2)
        pending = [h for h in pending if h not in done]
    return [m.ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True) for ch in channels]


# ------------------------------------------------------------------------------------------ worker


async def drive(job: dict) -> dict:
    """The load generator (second process): start sessions, then one voucher per session per tick."""
    import httpx
    from eth_account import Account
    from eth_utils import keccak

    from paygo_desktop.chain.vouchers import VaultDomain, sign_voucher
    from paygo_desktop.protocol import models as m
    from paygo_desktop.protocol import routes

    payer = Account.from_key(keccak(text=PAYER_SEED))
    domain = VaultDomain(chain_id=job["chainId"], vault=job["vault"])
    tick, ticks, n = job["tick"], job["ticks"], len(job["channels"])
    tick_cost = RATE * tick
    channels = [m.ChannelParams.model_validate(c).to_channel() for c in job["channels"]]
    t_sign = time.perf_counter()
    sigs = [
        ["0x" + sign_voucher(payer, domain, ch, (k + 1) * tick_cost).hex() for k in range(ticks + 1)]
        for ch in channels
    ]
    sign_seconds = time.perf_counter() - t_sign
    if job["freeze_client_gc"]:
        from paygo_desktop.provider.gc_policy import settle_after_startup

        settle_after_startup()  # the provider's own collector policy, applied to the load generator
    start_lat: list[float] = []
    voucher_lat: list[float] = []
    lateness: list[float] = []
    errors: dict[str, int] = {}
    # httpx scans its whole pool on every request: one small client per SHARD sessions keeps that cheap
    limits = httpx.Limits(max_connections=SHARD, max_keepalive_connections=SHARD, keepalive_expiry=tick - 1)
    spread = job["ramp"] or tick  # starts are spread evenly over this many seconds
    hard_deadline = time.monotonic() + spread + ticks * tick + job["slack"]

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    clients = [
        httpx.AsyncClient(base_url=job["provider"], limits=limits, timeout=job["timeout"])
        for _ in range((n + SHARD - 1) // SHARD)
    ]
    try:

        async def session(i: int, t0: float) -> None:
            http = clients[i // SHARD]
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            body = {
                "serviceId": SERVICE,
                "channel": job["channels"][i],
                "voucher": {"cumulativeAmount": str(tick_cost), "signature": sigs[i][0]},
            }
            sent = time.monotonic()
            try:
                r = await http.post(routes.STREAM_START, json=body)
            except httpx.HTTPError as exc:
                error(f"start: {type(exc).__name__}")
                return
            start_lat.append(time.monotonic() - sent)
            if r.status_code != 201:
                error(f"start: {r.status_code} {r.json().get('code', '')}")
                return
            sid = r.json()["sessionId"]
            began = time.monotonic()
            for k in range(1, ticks + 1):
                due = began + k * tick
                if due > hard_deadline:
                    error("voucher: not sent (run deadline)")
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                amount = (k + 1) * tick_cost
                body = {"seq": k, "cumulativeAmount": str(amount), "signature": sigs[i][k]}
                sent = time.monotonic()
                lateness.append(sent - due)
                try:
                    r = await http.post(routes.STREAM_VOUCHERS.format(session_id=sid), json=body)
                except httpx.HTTPError as exc:
                    error(f"voucher: {type(exc).__name__}")
                    continue
                voucher_lat.append(time.monotonic() - sent)
                if r.status_code != 200:
                    error(f"voucher: {r.status_code} {r.json().get('code', '')}")

        t_run = time.monotonic()
        t_begin = t_run + 0.5
        tasks = [asyncio.create_task(session(i, t_begin + i * spread / n)) for i in range(n)]
        _, pending = await asyncio.wait(tasks, timeout=hard_deadline - time.monotonic() + job["timeout"])
        for t in pending:
            t.cancel()
        if pending:
            error(f"sessions cut at the run deadline: {len(pending)}")
            await asyncio.gather(*pending, return_exceptions=True)
        run_seconds = time.monotonic() - t_begin
    finally:
        for c in clients:
            await c.aclose()
    return {
        "sign_seconds": sign_seconds,
        "run_seconds": run_seconds,
        "start_lat": start_lat,
        "voucher_lat": voucher_lat,
        "lateness": lateness,
        "errors": errors,
        "backend": backend(),
        "cpu_seconds": time.process_time(),
    }


def worker() -> int:
    job = json.loads(sys.stdin.read())
    result = asyncio.run(drive(job))
    print(json.dumps(result), flush=True)
    return 0


# ------------------------------------------------------------------------------------------ main


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:,.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the voucher phase")
    ap.add_argument("--tick", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    ap.add_argument(
        "--ramp", type=float, default=0.0, help="spread the starts over this many seconds (default: one tick)"
    )
    ap.add_argument(
        "--freeze-client-gc",
        action="store_true",
        help="freeze the load generator's start-up objects out of its garbage collector",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    if not 1 <= args.sessions <= 5000 or not 1 <= args.seconds <= 600 or not 0 <= args.ramp <= 600:
        ap.error("--sessions must be 1..5000, --seconds 1..600 and --ramp 0..600")
    from eth_account import Account
    from eth_utils import keccak

    from paygo_desktop.sandbox.state import read_state

    ticks = int(args.seconds // args.tick)
    deposit = (ticks + 3) * RATE * args.tick
    payer = Account.from_key(keccak(text=PAYER_SEED)).address
    with tempfile.TemporaryDirectory(prefix="paygo-bench-") as tmp:
        data_dir = Path(tmp)
        t0 = time.monotonic()
        sandbox, ready = start_sandbox(data_dir, payer)
        worker_proc: subprocess.Popen[str] | None = None
        try:
            state = read_state(data_dir / "sandbox")
            assert state is not None
            t_up = time.monotonic() - t0
            t1 = time.monotonic()
            channels = fund_channels(ready, args.sessions, deposit)
            t_fund = time.monotonic() - t1
            job = {
                **ready,
                "channels": channels,
                "tick": args.tick,
                "ticks": ticks,
                "timeout": args.timeout,
                "slack": 15.0,
                "ramp": args.ramp,
                "freeze_client_gc": args.freeze_client_gc,
            }
            cpu0 = {p: cpu_seconds(p) for p in (state.provider_pid, state.node_pid)}
            busy0 = machine_busy_seconds()
            worker_proc = subprocess.Popen(
                [sys.executable, __file__, "--worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            budget = 600 + args.seconds + args.tick * 3
            out, _ = worker_proc.communicate(json.dumps(job), timeout=budget)
            cpu1 = {p: cpu_seconds(p) for p in (state.provider_pid, state.node_pid)}
            busy = machine_busy_seconds() - busy0
            if worker_proc.returncode != 0:
                raise RuntimeError(f"the load process failed (exit {worker_proc.returncode})")
            res = json.loads(out)
        finally:
            if worker_proc is not None and worker_proc.poll() is None:
                worker_proc.kill()
                worker_proc.wait(timeout=10)
            stop_process(sandbox)
    # CPU over the whole worker life (includes its pre-signing phase, when the provider is idle)
    cpu = {
        name: cpu1[p] - cpu0[p] for name, p in (("provider", state.provider_pid), ("anvil", state.node_pid))
    }
    vl, sl, late = res["voucher_lat"], res["start_lat"], res["lateness"]
    run = res["run_seconds"]
    print(
        f"sessions {args.sessions}, tick {args.tick} s, voucher phase {args.seconds:.0f} s "
        f"({ticks} per session), secp256k1 {res['backend']}, {os.cpu_count()} CPUs"
    )
    print(
        f"setup: sandbox up {t_up:.1f} s, {args.sessions} channels funded in {t_fund:.1f} s, "
        f"vouchers pre-signed in {res['sign_seconds']:.1f} s"
    )
    others = busy - cpu["provider"] - cpu["anvil"] - res["cpu_seconds"]
    print(
        f"CPU while the load process ran: provider {cpu['provider']:.1f} s, anvil {cpu['anvil']:.1f} s, "
        f"load process {res['cpu_seconds']:.1f} s, everything else on the machine {max(0.0, others):.1f} s; "
        f"voucher phase {run:.1f} s"
    )
    ramp = f"over {args.ramp:g} s (--ramp)" if args.ramp else "over one tick (default)"
    client_gc = "frozen (--freeze-client-gc)" if args.freeze_client_gc else "default"
    print(f"starts spread {ramp}; load process garbage collector: {client_gc}")
    print()
    print("| requests | count | p50 ms | p95 ms | p99 ms | max ms | rate /s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, xs in (("start (first voucher)", sl), ("voucher", vl), ("lateness of sends", late)):
        rate = f"{len(xs) / max(run, 1e-9):,.1f}" if xs is vl else ""
        cells = " | ".join(ms(xs, q) for q in (50, 95, 99, 100))
        print(f"| {label} | {len(xs):,} | {cells} | {rate} |")
    print()
    expected = args.sessions * ticks
    print(f"vouchers expected {expected:,}, answered {len(vl):,}; errors: {res['errors'] or 'none'}")
    return 0 if not res["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
