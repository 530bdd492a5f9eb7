"""What an x402 payment adds to a request, on a throwaway anvil with the reference provider selling a
per-request service (``provider/x402_sales.py``) from a local upstream, all in one run:

* ``direct``: the upstream hit directly (the floor);
* ``unpaid``: the provider's per-request route answering 402 (the service looked up, the offer built);
* ``paid``: the app's payer (``x402.payer``) paying each request in full, split into the first round trip
  (the 402), the paid round trip (the provider: the SDK's verify with its dry run of the transfer, the
  upstream, the settlement transaction and its receipt) and the app's own work between them (choosing the
  offer, the limits check against the database, signing through the SDK in a worker thread, the record).

anvil mines each settlement at once: on a real chain the paid round trip also waits for a block.

    python benchmarks/x402_request.py [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PRICE = 10_000  # 0.01 test USDC per request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
    import httpx

    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    return answer.json()["result"]


def serve(app: Any, port: int) -> Any:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def upstream_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.get("/v1/{rest:path}")
    async def answer(rest: str) -> JSONResponse:
        return JSONResponse({"forecast": "sunny", "path": rest})

    return app


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:7.2f}"


def row(label: str, values: list[float]) -> None:
    print(f"{label:<34} {ms(values, 0.5)} {ms(values, 0.95)} {statistics.fmean(values) * 1000:7.2f}")


async def measure(chain_url: str, work: Path, count: int) -> None:
    import httpx
    from eth_account import Account
    from eth_utils import keccak
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.artifacts import load_artifact
    from paygo_desktop.chain.deploy import deploy_local
    from paygo_desktop.chain.tx import send
    from paygo_desktop.money import Asset
    from paygo_desktop.networks import Network
    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.config import ProviderConfig
    from paygo_desktop.store.database import Store
    from paygo_desktop.store.x402 import SitePolicy, X402Store
    from paygo_desktop.x402.payer import X402Payer

    w3 = AsyncWeb3(AsyncHTTPProvider(chain_url))
    deployer = rpc(chain_url, "eth_accounts")[0]
    payer, provider = (Account.from_key(keccak(text=f"x402-bench-{n}")) for n in ("payer", "provider"))
    for account in (payer, provider):
        rpc(chain_url, "anvil_setBalance", [account.address, hex(10**22)])
    deployed = await deploy_local(w3, deployer)
    usdc = w3.eth.contract(address=deployed.usdc, abi=load_artifact("TestUSDC").abi)
    await send(w3, usdc.functions.mint(payer.address, 10**12), deployer)

    up_port, port = free_port(), free_port()
    up = serve(upstream_app(), up_port)
    seed = work / "catalog.json"
    rate = {"amount": str(PRICE), "asset": "USDC", "unit": "per_request"}
    seed.write_text(
        json.dumps([{"id": "api", "name": "API", "category": "data", "type": "data", "rate": rate}])
    )
    config = ProviderConfig.model_validate(
        {
            "name": "Bench provider",
            "private_key": "0x" + bytes(provider.key).hex(),
            "rpc_url": chain_url,
            "chain_id": 31337,
            "vault": deployed.vault,
            "assets": [{"symbol": "USDC", "address": deployed.usdc, "decimals": 6}],
            "database": str(work / "provider.sqlite3"),
            "public_base_url": f"http://127.0.0.1:{port}",
            "catalog_seed": str(seed),
            "services": {"api": {"upstream": f"http://127.0.0.1:{up_port}/v1", "delivery": "http"}},
            "claim_interval": 3600,
        }
    )
    server = serve(create_app(config), port)
    base = f"http://127.0.0.1:{port}"
    try:
        store = Store.open(work / "app.sqlite3")
        X402Store(store).save_policy(SitePolicy(base, 31337, deployed.usdc, "USDC", 6))
        marks: list[tuple[str, float]] = []

        async def sent(request: httpx.Request) -> None:
            marks.append(("sent", time.perf_counter()))

        async def answered(response: httpx.Response) -> None:
            marks.append(("answered", time.perf_counter()))

        async with (
            httpx.AsyncClient(timeout=60) as plain,
            httpx.AsyncClient(timeout=60, event_hooks={"request": [sent], "response": [answered]}) as hooked,
        ):
            network = Network("bench", "Bench chain", 31337, chain_url, is_local=True)
            app_payer = X402Payer(store, payer, network, (Asset("USDC", 6, deployed.usdc),), http=hooked)
            direct, unpaid, first, second, app_side, total = [], [], [], [], [], []
            for i in range(count + 5):
                t = time.perf_counter()
                (await plain.get(f"http://127.0.0.1:{up_port}/v1/today")).raise_for_status()
                d = time.perf_counter() - t
                t = time.perf_counter()
                assert (await plain.get(f"{base}/api/v1/x402/api/today")).status_code == 402
                u = time.perf_counter() - t
                marks.clear()
                t = time.perf_counter()
                paid = await app_payer.request("GET", f"{base}/api/v1/x402/api/today")
                whole = time.perf_counter() - t
                assert paid.status == 200 and paid.payment is not None and paid.payment.status == "settled"
                times = [at for _, at in marks]
                rt1, rt2 = times[1] - times[0], times[3] - times[2]
                if i >= 5:  # the first ones warm up connections, caches and the EIP-712 domain read
                    direct.append(d)
                    unpaid.append(u)
                    first.append(rt1)
                    second.append(rt2)
                    app_side.append(whole - rt1 - rt2)
                    total.append(whole)
        store.close()
    finally:
        server.should_exit = True
        up.should_exit = True
    print(f"{count} requests each, same run (ms)      median     p95    mean")
    row("direct to the upstream", direct)
    row("provider, unpaid (402)", unpaid)
    row("paid: whole request (app payer)", total)
    row("  first round trip (402)", first)
    row("  app: choose, check, sign, record", app_side)
    row("  paid round trip (provider)", second)
    added = [p - u for p, u in zip(second, unpaid, strict=True)]
    row("provider: paid minus unpaid", added)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    anvil = REPO / "node_modules" / ".bin" / "anvil"
    if not anvil.exists():
        print("anvil missing: run `npm ci`", file=sys.stderr)
        return 1
    port = free_port()
    proc = subprocess.Popen([str(anvil), "--host", "127.0.0.1", "--port", str(port), "--silent"])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                rpc(url, "eth_chainId")
                break
            except OSError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory() as work:
            asyncio.run(measure(url, Path(work), args.requests))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
