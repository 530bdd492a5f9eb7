"""Concurrent sessions against the reference provider at 5-second ticks: voucher latency under load.

1. Starts the sandbox (anvil + PayGoVault + test USDC + the reference provider) in a subprocess on free
   loopback ports, in a throw-away data directory.
2. Funds N USDC channels on chain from one payer (distinct salts, one session per channel): the sandbox
   mints the payer's USDC; one approve, then N pre-signed ``fund`` transactions sent in JSON-RPC batches.
3. A second process (this file with ``--worker``) pre-signs every voucher, starts the N sessions spread
   evenly over one tick (so they are out of phase, as real payers are; ``--ramp S`` spreads the starts
   over S seconds instead, a separate figure), then sends one voucher per session every tick with
   asyncio + aiohttp, for ``--seconds``. Each request's latency is taken from just before the request to
   its response. Lateness (actual send time minus the scheduled one) shows whether the load generator
   itself kept up.
4. Prints p50/p95/p99/max, errors, the achieved rate, the CPU used by each process and by everything
   else on the machine meanwhile (a shared machine's other work shows up there) and the load average;
   the sessions started, refused with 503 ``busy`` (the provider sheds new sessions when overloaded) and
   cut off while paying (410: must be none); stops everything.

**Baseline in the same run.** Before the provider, the same load process runs the same schedule against a
no-op server: the same routes in FastAPI, the same request models, the same guarded h11 protocol and the
same number of processes, with nothing behind them. The difference is what the provider's own work costs;
the load generator's lateness (how late its sends left, against their schedule) is printed beside both.

**PostgreSQL and several workers.** ``--postgres`` starts a private PostgreSQL cluster (tests/postgres.py,
crash-safe settings) and serves the sandbox's provider configuration from it with ``--workers N``
(``paygo-provider serve --database … --workers N``); ``--database URL`` uses an existing database
instead. The sandbox's own provider stays up, idle, and its CPU is printed apart.

**Overload.** With more sessions than the provider can serve, started over ``--ramp S`` seconds, the
provider refuses new sessions once its requests queue (503 ``busy``); the sessions it took must all be
paid to the end: ``paying sessions expired`` must be 0 (the exit status is 1 otherwise, or on any error
other than a refused start).

The load generator's own garbage collections pause its event loop, and a pause counts in the latency of
every request then in flight (full collections of its heap took 50-90 ms every ~8 s with httpx).
``--freeze-client-gc`` gives it the provider's collector policy (``provider/gc_policy.py``: start-up objects
such as the imports and the pre-signed vouchers frozen out of the collector) before the load. It is off by
default and every report says which was used.

    python benchmarks/provider_load.py [--sessions 1000] [--seconds 60] [--tick 5] [--ramp S]
        [--freeze-client-gc] [--postgres | --database URL] [--workers N] [--no-baseline]

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
IDLE = 5.0  # seconds the servers' CPU is measured without load, before each run
FUND_BATCH = 100
FUND_ROUND = 500


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


def wait_mined(url: str, hashes: list[str], timeout: float) -> None:
    """Until every transaction in ``hashes`` is mined (each must succeed), for at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
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
    # In rounds of FUND_ROUND, each mined before the next is sent: anvil's pool slows down sharply with
    # thousands of queued transactions from one sender (5,000 at once: under 250 mined in two minutes).
    for start in range(0, len(raw), FUND_ROUND):
        hashes: list[str] = []
        for i in range(start, min(start + FUND_ROUND, len(raw)), FUND_BATCH):
            hashes += rpc_batch(
                url,
                [("eth_sendRawTransaction", [r]) for r in raw[i : min(i + FUND_BATCH, start + FUND_ROUND)]],
            )
        wait_mined(url, hashes, timeout=120)
    return [m.ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True) for ch in channels]


# ------------------------------------------------------------------------------------------ worker


async def drive(job: dict) -> dict:
    """The load generator (second process): start sessions, then one voucher per session per tick.

    aiohttp, one connection pool: its client costs a fraction of httpx's per request (httpx took ~3 ms of
    CPU per request here, and the load generator starved before the provider did)."""
    import aiohttp
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
    admitted: list[int] = []  # sessions started
    refused: list[str] = []  # starts refused 503 busy (their Retry-After)
    expired: set[int] = set()  # started sessions cut off with 410 while paying
    spread = job["ramp"] or tick  # starts are spread evenly over this many seconds
    hard_deadline = time.monotonic() + spread + ticks * tick + job["slack"]
    base = job["provider"]

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    # connections idle for a tick are closed by the client before the server's keep-alive timeout does
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=tick - 1)
    timeout = aiohttp.ClientTimeout(total=job["timeout"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
            async with http.post(base + path, json=body) as r:
                data = await r.json(content_type=None)
                return r.status, data, r.headers.get("retry-after", "")

        async def session(i: int, t0: float) -> None:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            body = {
                "serviceId": SERVICE,
                "channel": job["channels"][i],
                "voucher": {"cumulativeAmount": str(tick_cost), "signature": sigs[i][0]},
            }
            sent = time.monotonic()
            try:
                status, data, retry = await post(routes.STREAM_START, body)
            except (TimeoutError, aiohttp.ClientError) as exc:
                error(f"start: {type(exc).__name__}")
                return
            start_lat.append(time.monotonic() - sent)
            if status != 201:
                error(f"start: {status} {data.get('code', '')}")
                if status == 503:
                    refused.append(retry)
                return
            admitted.append(i)
            sid = data["sessionId"]
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
                    status, data, _ = await post(routes.STREAM_VOUCHERS.format(session_id=sid), body)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    error(f"voucher: {type(exc).__name__}")
                    continue
                voucher_lat.append(time.monotonic() - sent)
                if status != 200:
                    error(f"voucher: {status} {data.get('code', '')}")
                    if status == 410:  # the session was cut off: a payer stops paying for it
                        expired.add(i)
                        return

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
    return {
        "sign_seconds": sign_seconds,
        "run_seconds": run_seconds,
        "start_lat": start_lat,
        "voucher_lat": voucher_lat,
        "lateness": lateness,
        "errors": errors,
        "admitted": len(admitted),
        "refused_busy": len(refused),
        "retry_after": sorted(set(refused))[:5],
        "expired": len(expired),
        "backend": backend(),
        "cpu_seconds": time.process_time(),
    }


def worker() -> int:
    job = json.loads(sys.stdin.read())
    result = asyncio.run(drive(job))
    print(json.dumps(result), flush=True)
    return 0


# ------------------------------------------------------------------------------------------ baseline


def noop_app() -> Any:
    """The same routes with nothing behind them: FastAPI parses the same request models and answers."""
    from fastapi import FastAPI

    from paygo_desktop.protocol import models as m
    from paygo_desktop.protocol import routes

    app = FastAPI()

    async def start(req: Any) -> dict[str, Any]:
        return {"sessionId": "s_noop"}

    async def voucher(session_id: str, req: Any) -> dict[str, Any]:
        return {"seq": req.seq, "cumulativeAmount": str(req.cumulative_amount)}

    # this module's annotations are strings (``from __future__``): FastAPI is given the models themselves
    start.__annotations__ = {"req": m.StartRequest, "return": dict}
    voucher.__annotations__ = {"session_id": str, "req": m.VoucherRequest, "return": dict}
    app.post(routes.STREAM_START, status_code=201)(start)
    app.post(routes.STREAM_VOUCHERS)(voucher)
    return app


def noop_worker(fd: int) -> int:
    """One process of the baseline server, on the inherited socket: uvicorn with the provider's protocol."""
    import socket

    import uvicorn

    from paygo_desktop.provider.connection_guard import ClientLimits, guarded_h11
    from paygo_desktop.provider.gc_policy import settle_after_startup

    config = uvicorn.Config(
        noop_app(),
        http=guarded_h11(ClientLimits(header_timeout=10, body_timeout=30, max_connections_per_ip=0)),
        timeout_keep_alive=5,
        log_level="warning",
        access_log=False,
    )
    settle_after_startup()
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])
    return 0


def start_noop(workers: int) -> tuple[list[subprocess.Popen[bytes]], str]:
    from paygo_desktop.provider.workers import listen

    sock = listen("127.0.0.1", 0)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--noop-worker", str(sock.fileno())],
            pass_fds=(sock.fileno(),),
            cwd=REPO,
        )
        for _ in range(workers)
    ]
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    wait_up(url + "/docs", procs)
    return procs, url


def wait_up(url: str, procs: list[subprocess.Popen[Any]], timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a server process exited while starting ({url})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in time")
        time.sleep(0.2)


def start_pg_provider(data_dir: Path, database: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """The sandbox's provider configuration served again, on PostgreSQL with ``workers`` processes."""
    from paygo_desktop.sandbox.world import provider_key

    port = free_port()
    log = (data_dir / "pg-provider.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "paygo_desktop.provider.server", "serve"),
            *("--config", str(data_dir / "sandbox" / "provider.toml"), "--database", database),
            *("--workers", str(workers), "--port", str(port)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PAYGO_SANDBOX_PROVIDER_KEY": provider_key(), "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    import httpx

    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the PostgreSQL provider exited; see {data_dir / 'pg-provider.log'}")
        try:
            health = httpx.get(url + "/api/v1/health", timeout=2).json()
            if health["status"] == "ok" and health["load"]["workers"] >= workers:
                return proc, url
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the PostgreSQL provider did not come up")
        time.sleep(0.2)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------ main


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:,.1f}"


def run_load(job: dict, target: str, watched: dict[str, int], budget: float) -> tuple[dict, dict[str, float]]:
    """The load process against ``target``; its result and the CPU seconds of the ``watched`` processes
    (name -> pid, with their children) and of the whole machine meanwhile. Before it, the watched
    processes' CPU over ``IDLE`` seconds without load (their background duties: polls, heartbeats)."""
    idle0 = {name: cpu_seconds(pid) for name, pid in watched.items()}
    time.sleep(IDLE)
    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    idle = {name: (before[name] - idle0[name]) / IDLE for name in watched}
    busy0 = machine_busy_seconds()
    load0 = Path("/proc/loadavg").read_text().split()[0]
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        out, _ = proc.communicate(json.dumps({**job, "provider": target}), timeout=budget)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"the load process failed (exit {proc.returncode})")
    res = json.loads(out)
    res["wall_seconds"] = time.monotonic() - started
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in watched.items()}
    cpu["machine"] = machine_busy_seconds() - busy0
    res["load_before"], res["load_after"] = load0, Path("/proc/loadavg").read_text().split()[0]
    res["idle_cpu_per_s"] = idle
    return res, cpu


def report(label: str, res: dict, cpu: dict[str, float], sessions: int, ticks: int) -> None:
    vl, sl, late = res["voucher_lat"], res["start_lat"], res["lateness"]
    run = res["run_seconds"]
    own = sum(v for k, v in cpu.items() if k != "machine")
    others = max(0.0, cpu["machine"] - own - res["cpu_seconds"])
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items() if k != "machine")
    requests = len(vl) + len(sl)
    servers = [k for k in cpu if k == "provider" or k.startswith("no-op")]
    spent = sum(cpu[k] for k in servers)
    idle = sum(res["idle_cpu_per_s"].get(k, 0.0) for k in servers)
    net = max(0.0, spent - idle * res["wall_seconds"])
    print(f"**{label}**: voucher phase {run:.1f} s; load average {res['load_before']} → {res['load_after']}")
    print(
        f"CPU: {parts}, load process {res['cpu_seconds']:.1f} s, "
        f"everything else on the machine {others:.1f} s"
    )
    if requests:
        print(
            f"server CPU per request: {spent / requests * 1000:.2f} ms, or {net / requests * 1000:.2f} ms "
            f"less its idle rate ({idle * 1000:.0f} ms of CPU per second without load)"
        )
    print()
    print("| requests | count | p50 ms | p95 ms | p99 ms | max ms | rate /s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, xs in (("start (first voucher)", sl), ("voucher", vl), ("lateness of the load's sends", late)):
        rate = f"{len(xs) / max(run, 1e-9):,.1f}" if xs is vl else ""
        cells = " | ".join(ms(xs, q) for q in (50, 95, 99, 100))
        print(f"| {name} | {len(xs):,} | {cells} | {rate} |")
    print()
    print(
        f"sessions offered {sessions:,}, started {res['admitted']:,}, "
        f"refused 503 busy {res['refused_busy']:,} (Retry-After {', '.join(res['retry_after']) or '-'}), "
        f"paying sessions expired {res['expired']:,}; "
        f"vouchers expected {res['admitted'] * ticks:,}, answered {len(vl):,}; "
        f"errors: {res['errors'] or 'none'}"
    )
    print()


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
    ap.add_argument("--postgres", action="store_true", help="serve from a private PostgreSQL cluster")
    ap.add_argument("--database", help="serve from this PostgreSQL database (a URL) instead")
    ap.add_argument("--workers", type=int, default=1, help="provider worker processes (PostgreSQL)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the no-op baseline run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--noop-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    if args.noop_worker is not None:
        return noop_worker(args.noop_worker)
    if not 1 <= args.sessions <= 20000 or not 1 <= args.seconds <= 600 or not 0 <= args.ramp <= 600:
        ap.error("--sessions must be 1..20000, --seconds 1..600 and --ramp 0..600")
    if args.workers > 1 and not (args.postgres or args.database):
        ap.error("--workers needs --postgres or --database (several workers share PostgreSQL)")
    from eth_account import Account
    from eth_utils import keccak

    from paygo_desktop.sandbox.state import read_state

    ticks = int(args.seconds // args.tick)
    deposit = (ticks + 3) * RATE * args.tick
    payer = Account.from_key(keccak(text=PAYER_SEED)).address
    cluster = None
    processes: list[subprocess.Popen[Any]] = []
    with tempfile.TemporaryDirectory(prefix="paygo-bench-") as tmp:
        data_dir = Path(tmp)
        t0 = time.monotonic()
        sandbox, ready = start_sandbox(data_dir, payer)
        try:
            state = read_state(data_dir / "sandbox")
            assert state is not None
            t_up = time.monotonic() - t0
            t1 = time.monotonic()
            channels = fund_channels(ready, args.sessions, deposit)
            t_fund = time.monotonic() - t1
            target, watched = ready["provider"], {"provider": state.provider_pid, "anvil": state.node_pid}
            kind = "SQLite, one process (the sandbox's provider)"
            if args.postgres or args.database:
                database = args.database
                if args.postgres:
                    from tests.postgres import start_cluster

                    cluster = start_cluster(durable=True, max_connections=100 + 20 * args.workers)
                    database = cluster.create_database("bench")
                assert database is not None
                pg, target = start_pg_provider(data_dir, database, args.workers)
                processes.append(pg)
                watched = {
                    "provider": pg.pid,
                    "anvil": state.node_pid,
                    "idle sandbox provider": state.provider_pid,
                }
                if cluster is not None:
                    watched["postgres"] = int((cluster.data / "postmaster.pid").read_text().split()[0])
                kind = f"PostgreSQL, {args.workers} worker(s)"
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
            budget = 900 + args.seconds + args.ramp + args.tick * 3
            baseline = None
            if not args.no_baseline:
                noop, noop_url = start_noop(args.workers)
                processes.extend(noop)
                try:
                    noop_watch = {f"no-op server {i}": p.pid for i, p in enumerate(noop)}
                    baseline = run_load(job, noop_url, noop_watch, budget)
                finally:
                    for p in noop:
                        stop_process(p, signal.SIGTERM)
            measured = run_load(job, target, watched, budget)
        finally:
            for p in processes:
                stop_process(p, signal.SIGTERM, timeout=60)
            stop_process(sandbox)
            if cluster is not None:
                cluster.stop()
    res = measured[0]
    print(
        f"sessions {args.sessions}, tick {args.tick} s, voucher phase {args.seconds:.0f} s ({ticks} per "
        f"session), {kind}, secp256k1 {res['backend']}, {os.cpu_count()} CPUs"
    )
    print(
        f"setup: sandbox up {t_up:.1f} s, {args.sessions} channels funded in {t_fund:.1f} s, "
        f"vouchers pre-signed in {res['sign_seconds']:.1f} s"
    )
    ramp = f"over {args.ramp:g} s (--ramp)" if args.ramp else "over one tick (default)"
    client_gc = "frozen (--freeze-client-gc)" if args.freeze_client_gc else "default"
    print(f"starts spread {ramp}; load process garbage collector: {client_gc}")
    print()
    if baseline is not None:
        report(
            "baseline: the same load against no-op routes (FastAPI, same protocol)",
            *baseline,
            args.sessions,
            ticks,
        )
    report(f"the provider ({kind})", *measured, args.sessions, ticks)
    bad = res["expired"] or any(not k.startswith("start: 503") for k in res["errors"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
