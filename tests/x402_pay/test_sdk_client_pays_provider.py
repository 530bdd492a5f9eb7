"""The official SDK's own client (its httpx transport, its exact EVM scheme) pays the reference provider's
per-request service: the provider answers a standard v2 402, verifies and settles the authorization with
the SDK's facilitator in its own process on anvil, and serves the request through the gateway's upstream.
A replayed authorization and a failing upstream take no money; a per-request service starts no session."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.provider.conftest import Server, provider_server
from tests.x402_pay.conftest import Env, _free_port, run_server

PRICE = 15_000  # 0.015 USDC per request
SERVICE = "weather-api"


@contextlib.contextmanager
def upstream() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The service's own server: answers what it was asked; ``/broken`` fails."""
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST"])
    async def answer(rest: str, request: Request) -> JSONResponse:
        seen.append({"path": rest, "headers": {k.lower() for k in request.headers}})
        if rest == "broken":
            return JSONResponse({"error": "down"}, status_code=500)
        return JSONResponse({"forecast": "sunny", "path": rest, "query": request.url.query})

    port = _free_port()
    srv, thread = run_server(app, port)
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def seller(env: Env, tmp_path: Path) -> Iterator[tuple[Server, list[dict[str, Any]]]]:
    seed = tmp_path / "catalog.json"
    seed.write_text(
        json.dumps(
            [
                {
                    "id": SERVICE,
                    "name": "Weather API",
                    "category": "data",
                    "type": "data",
                    "rate": {"amount": str(PRICE), "asset": "USDC", "unit": "per_request"},
                }
            ]
        )
    )
    with upstream() as (url, seen):
        services = {SERVICE: {"upstream": url, "delivery": "http"}}
        with provider_server(env, tmp_path, services=services, catalog_seed=str(seed)) as server:
            yield server, seen


def sdk_client(env: Env) -> httpx.AsyncClient:
    from x402 import x402Client
    from x402.http.clients.httpx import wrapHttpxWithPayment
    from x402.mechanisms.evm.exact import register_exact_evm_client

    client = x402Client()
    register_exact_evm_client(client, env.payer, networks=f"eip155:{env.chain_id}")
    # the sandbox token is no SDK default asset: allow it, capped (atomic units)
    client.set_spend_controls(
        {
            "allowed_assets": [
                {"network": f"eip155:{env.chain_id}", "asset": env.usdc, "max_amount_per_payment": "100000"}
            ]
        }
    )
    return wrapHttpxWithPayment(client, timeout=30)


def test_sdk_client_pays_the_per_request_service(env: Env, seller) -> None:
    server, seen = seller
    url = f"{server.url}/api/v1/x402/{SERVICE}/today?city=Oslo"
    payer_before = env.usdc_balance(env.payer.address)
    payee_before = env.usdc_balance(env.provider.address)

    unpaid = httpx.get(url, timeout=10)
    assert unpaid.status_code == 402 and seen == []
    required = json.loads(base64.b64decode(unpaid.headers["PAYMENT-REQUIRED"]))
    [offer] = required["accepts"]
    assert required["x402Version"] == 2 and offer["scheme"] == "exact"
    assert offer["network"] == f"eip155:{env.chain_id}" and offer["amount"] == str(PRICE)
    assert offer["asset"].lower() == env.usdc.lower() and offer["payTo"] == env.provider.address
    assert offer["extra"]["name"] == "USDC" and offer["extra"]["version"] == "2"

    async def pay() -> httpx.Response:
        async with sdk_client(env) as client:
            return await client.get(url)

    paid = env.run(pay())
    assert paid.status_code == 200, paid.text
    assert paid.json() == {"forecast": "sunny", "path": "today", "query": "city=Oslo"}
    settled = json.loads(base64.b64decode(paid.headers["PAYMENT-RESPONSE"]))
    assert (
        settled["success"] is True
        and int(env.rpc("eth_getTransactionReceipt", [settled["transaction"]])["status"], 16) == 1
    )
    assert env.usdc_balance(env.payer.address) == payer_before - PRICE
    assert env.usdc_balance(env.provider.address) == payee_before + PRICE
    # the payment header never reaches the upstream
    assert all("payment-signature" not in s["headers"] for s in seen)

    # the catalog lists it per request; the app's catalog shows it as such (no hourly price)
    listed = httpx.get(f"{server.url}/api/v1/service/{SERVICE}", timeout=10).json()
    assert listed["rate"]["unit"] == "per_request" and listed["rate"]["amount"] == str(PRICE)
    from paygo_desktop.services.catalog import load_catalog

    catalog = env.run(load_catalog([server.url]))
    [entry] = [e for e in catalog.entries if e.service.id == SERVICE]
    assert catalog.failures == [] and entry.per_request and entry.per_hour is None
    assert entry.rate.units == PRICE and entry.unit_label == "request"


def test_the_app_pays_the_per_request_service(env: Env, seller, app_store) -> None:
    from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Store
    from tests.x402_pay.conftest import make_payer

    server, _seen = seller
    X402Store(app_store).save_policy(
        SitePolicy(server.url, env.chain_id, env.usdc, "USDC", 6, max_per_request=PRICE)
    )
    before = env.usdc_balance(env.provider.address)
    paid = env.run(make_payer(env, app_store).request("GET", f"{server.url}/api/v1/x402/{SERVICE}/today"))
    assert paid.status == 200 and json.loads(paid.body)["forecast"] == "sunny"
    assert paid.payment is not None and paid.payment.status == SETTLED and paid.payment.tx_hash
    assert env.usdc_balance(env.provider.address) == before + PRICE


def test_replay_and_failing_upstream_take_no_money(env: Env, seller) -> None:
    from x402 import x402ClientSync
    from x402.http.utils import encode_payment_signature_header
    from x402.mechanisms.evm.exact import register_exact_evm_client
    from x402.schemas import PaymentRequired

    server, seen = seller
    url = f"{server.url}/api/v1/x402/{SERVICE}/today"
    client = register_exact_evm_client(x402ClientSync(), env.payer, networks=f"eip155:{env.chain_id}")
    client.set_spend_controls(False)

    def signed(target: str) -> str:
        header = httpx.get(target, timeout=10).headers["PAYMENT-REQUIRED"]
        required = PaymentRequired.model_validate_json(base64.b64decode(header))
        return encode_payment_signature_header(client.create_payment_payload(required))

    before = env.usdc_balance(env.payer.address)
    broken = httpx.get(
        f"{server.url}/api/v1/x402/{SERVICE}/broken", headers={"PAYMENT-SIGNATURE": signed(url)}, timeout=30
    )
    assert broken.status_code == 500 and "PAYMENT-RESPONSE" not in broken.headers
    assert env.usdc_balance(env.payer.address) == before  # nothing served, nothing taken

    header = signed(url)
    first = httpx.get(url, headers={"PAYMENT-SIGNATURE": header}, timeout=30)
    assert first.status_code == 200
    served = len(seen)
    replay = httpx.get(url, headers={"PAYMENT-SIGNATURE": header}, timeout=30)
    assert replay.status_code == 402 and "PAYMENT-REQUIRED" in replay.headers
    assert len(seen) == served  # refused before the upstream was asked
    assert env.usdc_balance(env.payer.address) == before - PRICE  # paid once


def test_a_per_request_service_starts_no_session(env: Env, seller) -> None:
    from paygo_desktop.protocol.client import ProviderClient, ProviderError
    from tests.provider.conftest import open_channel, voucher

    server, _seen = seller
    ch = open_channel(env, 10**6)

    async def start() -> None:
        async with ProviderClient(server.url, timeout=10) as client:
            await client.start_session(SERVICE, ch, PRICE, voucher(env, ch, PRICE))

    with pytest.raises(ProviderError) as info:
        env.run(start())
    assert info.value.status == 409 and info.value.code == "per_request_service"
