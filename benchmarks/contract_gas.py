"""Print PayGoVault gas usage (total per transaction, incl. the 21,000 base) on a throwaway local anvil.

npm ci && python benchmarks/contract_gas.py
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paygo_desktop.chain.artifacts import load_artifact  # noqa: E402
from paygo_desktop.chain.deploy import deploy_local  # noqa: E402
from paygo_desktop.chain.tx import send  # noqa: E402
from paygo_desktop.chain.vault import VaultClient  # noqa: E402
from paygo_desktop.chain.vouchers import Channel, sign_close, sign_voucher  # noqa: E402

DELAY = 5


def _rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["result"]


async def measure(url: str) -> list[tuple[str, int]]:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    w3 = AsyncWeb3(AsyncHTTPProvider(url))
    deployer = (await w3.eth.accounts)[0]
    dep = await deploy_local(w3, deployer, DELAY)
    vault = VaultClient(w3, dep.vault)
    dom = await vault.domain()
    payer = Account.from_key(keccak(text="bench-payer"))
    provider = Account.from_key(keccak(text="bench-provider"))
    for a in (payer, provider):
        _rpc(url, "anvil_setBalance", [a.address, hex(10**24)])
    usdc = w3.eth.contract(address=dep.usdc, abi=load_artifact("TestUSDC").abi)
    await send(w3, usdc.functions.mint(payer.address, 10**15), deployer)
    await vault.approve_token(payer, dep.usdc, 2**256 - 1)
    out: list[tuple[str, int]] = []

    def ch(
        i: int,
        token: str = "0x0000000000000000000000000000000000000000",
        prov: str | None = None,
        small_salt: bool = True,
    ) -> Channel:
        return Channel(
            payer=payer.address,
            provider=prov or provider.address,
            token=token,
            withdraw_delay=DELAY,
            salt=i.to_bytes(32, "big") if small_salt else keccak(text=f"bench{i}"),
        )

    eth = ch(0)
    out.append(("fund ETH (new channel)", (await vault.fund(payer, eth, 10**18)).gas_used))
    out.append(("fund ETH (top-up)", (await vault.fund(payer, eth, 10**18)).gas_used))
    erc = ch(1, dep.usdc)
    out.append(("fund ERC-20 (new channel)", (await vault.fund(payer, erc, 10**9)).gas_used))
    out.append(("fund ERC-20 (top-up)", (await vault.fund(payer, erc, 10**9)).gas_used))

    async def claim(c: Channel, amount: int) -> int:
        return (await vault.claim(deployer, c, amount, sign_voucher(payer, dom, c, amount))).gas_used

    out.append(("claim ETH first (provider has ETH)", await claim(eth, 10**15)))
    out.append(("claim ETH later", await claim(eth, 2 * 10**15)))
    out.append(("claim ERC-20 first (provider holds 0 USDC)", await claim(erc, 10**6)))
    out.append(("claim ERC-20 later", await claim(erc, 2 * 10**6)))
    fresh = Account.from_key(keccak(text="bench-fresh-provider")).address
    c_fresh = ch(2, prov=fresh)
    await vault.fund(payer, c_fresh, 10**18)
    out.append(("claim ETH to empty provider account (worst case)", await claim(c_fresh, 10**15)))

    for label, token in (("ETH", "0x0000000000000000000000000000000000000000"), ("ERC-20", dep.usdc)):
        chans = [ch(100 + i + (50 if token != eth.token else 0), token) for i in range(10)]
        for c in chans:
            await vault.fund(payer, c, 10**9)
        items = [(c, 10**6, sign_voucher(payer, dom, c, 10**6)) for c in chans]
        out.append(
            (f"claimBatch 10 {label} (one provider)", (await vault.claim_batch(deployer, items)).gas_used)
        )
    chans = [ch(300 + i, small_salt=False) for i in range(10)]
    for c in chans:
        await vault.fund(payer, c, 10**9)
    items = [(c, 10**6, sign_voucher(payer, dom, c, 10**6)) for c in chans]
    gas = (await vault.claim_batch(deployer, items)).gas_used
    out.append(("claimBatch 10 ETH (one provider, random 32-byte salts)", gas))
    provs = [Account.from_key(keccak(text=f"bench-p{i}")).address for i in range(10)]
    for p in provs:
        _rpc(url, "anvil_setBalance", [p, hex(10**18)])
    chans = [ch(200 + i, prov=p) for i, p in enumerate(provs)]
    for c in chans:
        await vault.fund(payer, c, 10**9)
    items = [(c, 10**6, sign_voucher(payer, dom, c, 10**6)) for c in chans]
    out.append(("claimBatch 10 ETH (10 providers)", (await vault.claim_batch(deployer, items)).gas_used))

    out.append(("requestWithdraw", (await vault.request_withdraw(payer, eth, 10**17)).gas_used))
    _rpc(url, "evm_increaseTime", [DELAY + 1])
    _rpc(url, "evm_mine")
    out.append(("finalizeWithdraw ETH", (await vault.finalize_withdraw(payer, eth)).gas_used))
    deadline = int((await w3.eth.get_block("latest"))["timestamp"]) + 600

    async def close(c: Channel, final: int) -> int:
        signer_sig = sign_voucher(payer, dom, c, final)
        provider_sig = sign_close(provider, dom, c, final, deadline)
        return (await vault.close_cooperative(payer, c, final, deadline, signer_sig, provider_sig)).gas_used

    for label, c, more in (("ETH", eth, 10**15), ("ERC-20", erc, 10**5)):
        final = (await vault.channel_state(c)).claimed + more
        out.append((f"closeCooperative {label}", await close(c, final)))
    return out


def main() -> int:
    anvil = REPO / "node_modules" / ".bin" / "anvil"
    if not anvil.exists():
        print("anvil missing: run `npm ci`", file=sys.stderr)
        return 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(anvil), "--host", "127.0.0.1", "--port", str(port), "--silent"])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                _rpc(url, "eth_chainId")
                break
            except OSError:
                time.sleep(0.05)
        rows = asyncio.run(measure(url))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    width = max(len(r[0]) for r in rows)
    for name, gas in rows:
        print(f"{name:<{width}}  {gas:>9,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
