"""The session engine's voucher cadence and CPU, each beside an idle asyncio loop measured in the same run.

1. Starts the sandbox (anvil + PayGoVault + test USDC + the reference provider, each in its own process)
   on free loopback ports in a throw-away data directory, funding ten payers.
2. Adds a 1-second-tick service to the provider through its vendor API.
3. Baseline: an idle asyncio loop that sleeps to each whole-second boundary of the monotonic clock, as the
   engine's loop does, for ``--ticks`` ticks; its lateness is the loop's own timer jitter. The process's
   CPU time over the same window is the idle cost.
4. One session (its channel funded through the transaction manager at start), for ``--ticks`` ticks: each
   voucher's lateness is the time of its ``voucher`` event (signed, stored, about to be sent) minus the
   tick boundary it is due at, in milliseconds. A voucher paying through the end of tick k+1 is due at the
   start of tick k (``Meter.voucher_due``), so its boundary comes from the amount it signs, not from the
   nearest whole second (a voucher 600 ms late is 600 ms late, not 400 ms early). The voucher signed while
   the session starts (before its meter runs) is left out. CPU time of this process (engine, signing,
   SQLite, httpx) over the window.
5. One session on a 5-second-tick service (like the sandbox's demo services), as long: CPU time.
6. Ten sessions at once (ten payers, one channel each), at the 1-second tick, for ``--window`` seconds:
   CPU time.

The machine's load over the run is printed with the figures.

    python benchmarks/sessions_engine.py [--ticks 60] [--window 30]

Loopback only; everything stops at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine import Load  # noqa: E402
from benchmarks.provider_load import stop_process  # noqa: E402

PAYERS = 10
RATE = 1000  # base units of USDC per second
USDC = 10**6


class KeyWallet:
    """The benchmark's wallet: the payers' keys, always unlocked."""

    def __init__(self, accounts: list[Any]) -> None:
        self._by_address = {a.address: a for a in accounts}

    def local_account(self, address: str) -> Any:
        return self._by_address[address]


def start_sandbox(
    data_dir: Path, payers: list[str], timeout: float = 180
) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "paygo_desktop", "--data-dir", str(data_dir), "sandbox"),
            *("--rpc-port", "0", "--provider-port", "0", "--fund", *payers),
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, lateness_ms: list[float]) -> str:
    return (
        f"| {label} | {len(lateness_ms)} | {statistics.median(lateness_ms):.2f} ms | "
        f"{percentile(lateness_ms, 0.99):.2f} ms | {max(lateness_ms):.2f} ms |"
    )


async def idle_baseline(ticks: int) -> tuple[list[float], float, float]:
    start_cpu, start_wall = time.process_time(), time.monotonic()
    origin = time.monotonic_ns()
    late: list[float] = []
    for k in range(1, ticks + 1):
        target = origin + k * 1_000_000_000
        await asyncio.sleep(max(0, target - time.monotonic_ns()) / 1e9)
        late.append((time.monotonic_ns() - target) / 1e6)
    return late, time.process_time() - start_cpu, time.monotonic() - start_wall


async def bench(ready: dict, payers: list[Any], ticks: int, window: float, store_dir: Path) -> None:
    from paygo_desktop.networks import custom_network
    from paygo_desktop.protocol import models as m
    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.sandbox.world import provider_key
    from paygo_desktop.sessions.engine import SessionEngine
    from paygo_desktop.sessions.plan import StartOptions
    from paygo_desktop.store import Store

    vendor = __import__("eth_account").Account.from_key(provider_key())

    def fields(name: str, tick: int) -> Any:
        rate = m.Rate(amount=RATE, asset="USDC", unit=m.RateUnit.per_second)
        return m.ServiceFields(
            name=name, category="data", type=m.ServiceType.data, rate=rate, tick_seconds=tick, grace_seconds=5
        )

    async with ProviderClient(ready["provider"]) as client:
        service = await client.create_service(vendor, fields("Benchmark feed", 1))
        service5 = await client.create_service(vendor, fields("Benchmark feed, 5 s tick", 5))
    network = custom_network("Sandbox bench", ready["rpc"], ready["chainId"], vault_address=ready["vault"])
    store = Store.open(store_dir / "bench.sqlite3")
    wallet = KeyWallet(payers)
    engines = [
        SessionEngine(
            store=store, wallet=wallet, account=p.address, network=network, vault_address=ready["vault"]
        )
        for p in payers
    ]
    plans = [await e.plan(ready["provider"], service.id) for e in engines]
    print("funding and starting…", file=sys.stderr)

    load = Load().start()
    idle_late, idle_cpu, idle_wall = await idle_baseline(ticks)

    # one session: cadence and CPU
    first = engines[0]
    stamps: list[tuple[int, int]] = []  # (when, the session amount it signs)

    def on_event(event: Any) -> None:
        if event.kind == "voucher":
            session = next(s for s in first.live() if s.local_id == event.local_id)
            stamps.append((time.monotonic_ns(), session.signed))

    first.subscribe(on_event)
    live = await first.start(plans[0], StartOptions("escrow", budget=USDC, deposit=USDC))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(ticks + 0.5)
    one_cpu, one_wall = time.process_time() - cpu0, time.monotonic() - wall0
    origin = live.meter.started_ns
    tick_ns = live.terms.tick_seconds * 1_000_000_000
    per_tick = RATE * live.terms.tick_seconds
    late = []
    for at, amount in stamps:
        due_tick = amount // per_tick - 1  # pays through the end of tick k+1: due at the start of tick k
        if due_tick >= 1:  # the start's own voucher is signed before the meter runs
            late.append((at - origin - due_tick * tick_ns) / 1e6)
    await first.stop(live.local_id)

    # one session at a 5-second tick (the sandbox's demo services): CPU only
    plan5 = await first.plan(ready["provider"], service5.id)
    live5 = await first.start(plan5, StartOptions("escrow", budget=USDC))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(ticks + 0.5)
    five_cpu, five_wall = time.process_time() - cpu0, time.monotonic() - wall0
    await first.stop(live5.local_id)

    # ten sessions at once
    lives = []
    for engine, plan in zip(engines, plans, strict=True):
        lives.append(await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC)))
    await asyncio.sleep(2)
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(window)
    ten_cpu, ten_wall = time.process_time() - cpu0, time.monotonic() - wall0
    running = sum(1 for s in lives if s.status == "running")
    for engine, session in zip(engines, lives, strict=True):
        await engine.stop(session.local_id)
    for engine in engines:
        await engine.shutdown()
    store.close()
    load.stop()

    print(load.line() + " (the sandbox's node and provider count as other work)")
    print("| loop | ticks | median lateness | p99 | max |")
    print("|---|---|---|---|---|")
    print(row("idle asyncio loop (baseline)", idle_late))
    print(row("engine, 1 session, 1 s tick", late))
    print()
    print("| process | CPU seconds | wall seconds | share of one core |")
    print("|---|---|---|---|")
    share = 100 * idle_cpu / idle_wall
    print(f"| idle asyncio loop (baseline) | {idle_cpu:.3f} | {idle_wall:.1f} | {share:.2f}% |")
    print(
        f"| engine, 1 session, 1 s tick | {one_cpu:.3f} | {one_wall:.1f} | {100 * one_cpu / one_wall:.2f}% |"
    )
    share5 = 100 * five_cpu / five_wall
    print(f"| engine, 1 session, 5 s tick | {five_cpu:.3f} | {five_wall:.1f} | {share5:.2f}% |")
    print(
        f"| engine, 10 sessions ({running} running) | {ten_cpu:.3f} | {ten_wall:.1f} | "
        f"{100 * ten_cpu / ten_wall:.2f}% |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    from eth_account import Account
    from eth_utils import keccak

    payers = [Account.from_key(keccak(text=f"paygo-bench-engine-{i}")) for i in range(PAYERS)]
    with tempfile.TemporaryDirectory(prefix="paygo-bench-engine-") as tmp:
        data_dir = Path(tmp)
        sandbox, ready = start_sandbox(data_dir, [p.address for p in payers])
        try:
            asyncio.run(bench(ready, payers, args.ticks, args.window, data_dir))
        finally:
            stop_process(sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
