"""x402 over real loopback HTTP on the real anvil of tests/chain: servers built only from the official SDK
(its FastAPI middleware and its facilitator, settling on anvil), and the app's payer with a real SQLite
store."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.store.database import Store
from paygo_desktop.x402.payer import Confirm, X402Payer
from tests.chain.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Env,
    _deployed,
    _free_port,
    anvil_url,
    env,
    runner,
)
from tests.provider.conftest import run_server

USDC_DOMAIN = {"name": "USDC", "version": "2"}


@dataclass
class SdkServer:
    """A paid API made only of the SDK's parts; ``signatures`` are the PAYMENT-SIGNATURE headers it got."""

    url: str
    signatures: list[str] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # the status of each answer it finished


def facilitator_for(env: Env, gas_payer: LocalAccount, network: str) -> Any:  # noqa: F811
    """The SDK's own facilitator (exact and upto, EVM, with the EIP-2612 gas-sponsoring extension) settling
    on anvil from ``gas_payer``, in this process (it claims ``network`` too, so a server may quote another
    chain: the SDK's middleware exits the process when no facilitator supports a route's network). upto
    settles through the sandbox's Permit2 and proxy at their canonical addresses (``chain.sandbox_permit2``,
    installed by tests/chain's fixture)."""
    from x402 import x402Facilitator
    from x402.extensions.eip2612_gas_sponsoring import EIP2612_GAS_SPONSORING
    from x402.mechanisms.evm.exact import register_exact_evm_facilitator
    from x402.mechanisms.evm.signers import FacilitatorWeb3Signer
    from x402.mechanisms.evm.upto import UptoEvmFacilitatorScheme

    signer = FacilitatorWeb3Signer(private_key="0x" + bytes(gas_payer.key).hex(), rpc_url=env.url)
    networks = sorted({f"eip155:{env.chain_id}", network})
    facilitator = register_exact_evm_facilitator(x402Facilitator(), signer, networks=networks)
    facilitator.register(networks, UptoEvmFacilitatorScheme(signer))
    facilitator.register_extension(EIP2612_GAS_SPONSORING)
    return facilitator


@contextlib.contextmanager
def sdk_server(
    env: Env,  # noqa: F811
    *,
    price: Callable[[Any], Any] | Any,
    network: str | None = None,
    pay_to: str | None = None,
    on_signature: Callable[[str], None] | None = None,
    scheme: str = "exact",
    settle: int | None = None,
    sponsor_permit: bool = False,
    says_settled: str | None = None,
    delay: float = 0.0,
    on_unpaid: Callable[[], None] | None = None,
) -> Iterator[SdkServer]:
    """``GET /paid`` behind the SDK's FastAPI middleware (``price`` a fixed Price or the SDK's DynamicPrice,
    in ``scheme``: exact or upto); ``GET /free`` unpaid. An upto server settles ``settle`` base units (the
    SDK's settlement override) instead of the maximum, and with ``sponsor_permit`` offers the SDK's EIP-2612
    gas-sponsoring extension. ``says_settled`` puts another amount in its PAYMENT-RESPONSE (a server that lies
    about what it took: a test's own outer layer, the SDK's answer rewritten). ``delay`` seconds the paid
    route works before answering (a slow upstream; the SDK settles after it); ``on_unpaid`` runs when a
    request without a payment arrives, before it is answered."""
    from x402 import x402ResourceServer
    from x402.extensions.eip2612_gas_sponsoring import declare_eip2612_gas_sponsoring_extension
    from x402.http.middleware.fastapi import PaymentMiddlewareASGI, set_settlement_overrides
    from x402.http.types import PaymentOption, RouteConfig
    from x402.mechanisms.evm.exact import register_exact_evm_server
    from x402.mechanisms.evm.upto import UptoEvmServerScheme

    network = network or f"eip155:{env.chain_id}"
    server = x402ResourceServer(facilitator_for(env, env.provider2, network))
    register_exact_evm_server(server, network)
    server.register(network, UptoEvmServerScheme())
    routes = {
        "GET /paid": RouteConfig(
            accepts=PaymentOption(
                scheme=scheme, pay_to=pay_to or env.provider.address, price=price, network=network
            ),
            description="a paid answer",
            extensions=declare_eip2612_gas_sponsoring_extension() if sponsor_permit else None,
        )
    }
    app = FastAPI()
    port = _free_port()
    seen = SdkServer(url=f"http://127.0.0.1:{port}")

    @app.get("/paid")
    async def paid() -> JSONResponse:
        await asyncio.sleep(delay)
        response = JSONResponse({"answer": 42})
        if settle is not None:  # upto: what this request used, at most the maximum the payer signed
            set_settlement_overrides(response, {"amount": str(settle)})
        return response

    @app.get("/free")
    async def free() -> JSONResponse:
        return JSONResponse({"answer": 0})

    app.add_middleware(PaymentMiddlewareASGI, routes=routes, server=server)

    @app.middleware("http")  # outermost: records what reached the server
    async def record(request: Request, call_next: Any) -> Any:
        header = request.headers.get("payment-signature")
        if header:
            seen.signatures.append(header)
            if on_signature is not None:
                on_signature(header)
        elif on_unpaid is not None:
            on_unpaid()
        response = await call_next(request)
        seen.answered.append(response.status_code)
        said = response.headers.get("payment-response")
        if said and says_settled is not None:
            answer = json.loads(base64.b64decode(said))
            answer["amount"] = says_settled
            response.headers["payment-response"] = base64.b64encode(json.dumps(answer).encode()).decode()
        return response

    srv, thread = run_server(app, port)
    try:
        yield seen
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def usdc_price(env: Env, amount: int, asset: str | None = None) -> Any:  # noqa: F811
    from x402.schemas import AssetAmount

    return AssetAmount(amount=str(amount), asset=asset or env.usdc, extra=dict(USDC_DOMAIN))


def sandbox_network(env: Env) -> Network:  # noqa: F811
    return Network(
        key="sandbox", name="Sandbox (local)", chain_id=env.chain_id, rpc_url=env.url, is_local=True
    )


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "app.sqlite3")
    try:
        yield store
    finally:
        store.close()


def make_payer(env: Env, store: Store, confirm: Confirm | None = None, **kw: Any) -> X402Payer:  # noqa: F811
    return X402Payer(
        store, env.payer, sandbox_network(env), (Asset("USDC", 6, env.usdc),), confirm=confirm, **kw
    )
