"""The provider's x402 settlements are held to its fee ceiling (provider/fee_ceiling.py,
``max_fee_per_gas_gwei``): the SDK's facilitator prices them with the node's eth_gasPrice, so behind a node
that reports a huge one (tests/chain/lying_rpc.py, in front of the real anvil) the signed settlement never
leaves: the request gets its 402 again, no money moves, the provider's nonce and ETH stay as they were.
With an honest node the same payment settles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.chain.lying_rpc import lying_rpc
from tests.provider.conftest import provider_server
from tests.x402_pay.conftest import Env
from tests.x402_pay.test_sdk_client_pays_provider import PRICE, SERVICE, sdk_client, upstream

HUGE = 5_000 * 10**9  # wei per gas: 50 times the local chain's ceiling (100 gwei)


def huge_gas_price(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "result": hex(HUGE)}


def nonce(env: Env, address: str) -> int:
    return int(env.rpc("eth_getTransactionCount", [address, "pending"]), 16)


def test_a_settlement_priced_above_the_ceiling_is_not_sent(env: Env, tmp_path: Path) -> None:
    seed = tmp_path / "catalog.json"
    rate = {"amount": str(PRICE), "asset": "USDC", "unit": "per_request"}
    seed.write_text(
        json.dumps([{"id": SERVICE, "name": "Weather", "category": "data", "type": "data", "rate": rate}])
    )
    with upstream() as (url, _seen), lying_rpc(env.url) as (rpc, proxy):
        services = {SERVICE: {"upstream": url, "delivery": "http"}}
        with provider_server(env, tmp_path, services=services, catalog_seed=str(seed), rpc_url=rpc) as server:
            target = f"{server.url}/api/v1/x402/{SERVICE}/today"

            async def pay() -> httpx.Response:
                async with sdk_client(env) as client:
                    return await client.get(target)

            payer0, payee0 = env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address)
            nonce0, eth0 = nonce(env, env.provider.address), env.eth(env.provider.address)
            proxy.rewrites["eth_gasPrice"] = huge_gas_price
            refused = env.run(pay())
            assert refused.status_code == 402
            assert "eth_gasPrice" in proxy.calls and "eth_sendRawTransaction" not in proxy.calls
            assert nonce(env, env.provider.address) == nonce0 and env.eth(env.provider.address) == eth0
            assert env.usdc_balance(env.payer.address) == payer0
            assert env.usdc_balance(env.provider.address) == payee0

            proxy.rewrites.clear()
            paid = env.run(pay())
            assert paid.status_code == 200, paid.text
            assert env.usdc_balance(env.provider.address) == payee0 + PRICE
            assert nonce(env, env.provider.address) == nonce0 + 1
