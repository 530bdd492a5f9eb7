"""x402 over real loopback HTTP on the real anvil of tests/chain: servers built only from the official SDK
(its FastAPI middleware and its facilitator, settling on anvil), and the app's payer with a real SQLite
store; one paid request to such a server (``pay_sdk_server``), and an app context that knows the chain's
USDC (``on_test_chain``, ``know_usdc``) with its balances read by a plain eth_call (``balance_by_rpc``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from paygo_desktop.money import Asset
from paygo_desktop.networks import Network, custom_network
from paygo_desktop.store.custom_tokens import CustomTokenRepository
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import SitePolicy, X402Store
from paygo_desktop.x402 import permit2
from paygo_desktop.x402.payer import Confirm, PaidResponse, X402Payer
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
    says: dict[str, Any] | None = None,
    keeps: dict[str, Any] | None = None,
    delay: float = 0.0,
    on_unpaid: Callable[[], None] | None = None,
    max_timeout: int | None = None,
) -> Iterator[SdkServer]:
    """``GET /paid`` behind the SDK's FastAPI middleware (``price`` a fixed Price or the SDK's DynamicPrice,
    in ``scheme``: exact or upto); ``GET /free`` unpaid. An upto server settles ``settle`` base units (the
    SDK's settlement override) instead of the maximum, and with ``sponsor_permit`` offers the SDK's EIP-2612
    gas-sponsoring extension. ``says_settled`` puts another amount in its PAYMENT-RESPONSE (a server that lies
    about what it took: a test's own outer layer, the SDK's answer rewritten); ``says`` puts these fields in
    it (a hostile server: e.g. "success" false although the SDK settled it on chain). ``keeps`` answers a paid
    request 200 with this PAYMENT-RESPONSE before the SDK sees it (a hostile server keeping the signed
    authorization unsettled, to submit it later; ``signatures`` has it). ``delay`` seconds the paid route
    works before answering (a slow upstream; the SDK settles after it); ``on_unpaid`` runs when a request
    without a payment arrives, before it is answered. ``max_timeout``: the seconds an authorization is asked
    to stay valid (the SDK's default, an hour, when None)."""
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
                scheme=scheme,
                pay_to=pay_to or env.provider.address,
                price=price,
                network=network,
                max_timeout_seconds=max_timeout,
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
        if header and keeps is not None:
            kept = base64.b64encode(json.dumps(keeps).encode()).decode()
            seen.answered.append(200)
            return JSONResponse({"answer": 42}, headers={"payment-response": kept})
        response = await call_next(request)
        seen.answered.append(response.status_code)
        said = response.headers.get("payment-response")
        if said and says_settled is not None:
            answer = json.loads(base64.b64decode(said))
            answer["amount"] = says_settled
            response.headers["payment-response"] = base64.b64encode(json.dumps(answer).encode()).decode()
        if said and says is not None:
            answer = {**json.loads(base64.b64decode(said)), **says}
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


def site_policy(env: Env, origin: str, **kw: Any) -> SitePolicy:  # noqa: F811
    """The user's policy for ``origin`` in the test chain's USDC (allowed; limits as ``kw`` sets them)."""
    return SitePolicy(origin, env.chain_id, env.usdc, "USDC", 6, **kw)


def approve_permit2(env: Env, amount: int) -> None:  # noqa: F811
    """The payer lets Permit2 take ``amount`` of its USDC (what x402's upto scheme draws on)."""
    env.transact(env.token(env.usdc).functions.approve(permit2.PERMIT2, amount), env.payer)


def pay_sdk_server(
    env: Env,  # noqa: F811
    store: Store,
    price: int,
    *,
    permit2_allowance: int | None = None,
    in_thread: bool = False,
    **server: Any,
) -> PaidResponse | None:
    """One GET /paid to a fresh ``sdk_server`` quoting ``price`` base units of USDC (``server``: its scheme,
    settle, ...), the site allowed without limits in ``store``, paid by the app's payer; with
    ``permit2_allowance``, Permit2 is approved for it first (upto). ``in_thread``: Qt's loop is running here,
    so the payment runs on a loop of its own in a worker thread (None: it did not end within a minute)."""
    paid: list[PaidResponse] = []
    with sdk_server(env, price=usdc_price(env, price), **server) as api:
        X402Store(store).save_policy(site_policy(env, api.url))
        payer = make_payer(env, store)

        def pay() -> None:
            if permit2_allowance is not None:
                approve_permit2(env, permit2_allowance)
            request = payer.request("GET", api.url + "/paid")
            paid.append(asyncio.run(request) if in_thread else env.run(request))

        if in_thread:
            worker = threading.Thread(target=pay)
            worker.start()
            worker.join(timeout=60)
        else:
            pay()
    return paid[0] if paid else None


def know_usdc(ctx: Any, env: Env, network: Network) -> None:  # noqa: F811
    """The app knows the test chain's USDC on ``network`` (the payer pays x402 only in tokens it knows)."""
    CustomTokenRepository(ctx.store).add(network.key, network.chain_id, Asset("USDC", 6, env.usdc), "USDC")


def on_test_chain(ctx: Any, env: Env) -> Network:  # noqa: F811
    """The app's network is the test chain (anvil), with its USDC known."""
    network = custom_network("Test chain", env.url, env.chain_id)
    ctx.networks.save_custom(network)
    know_usdc(ctx, env, network)
    ctx.settings.network = network.key
    ctx.invalidate_network()
    return network


def balance_by_rpc(env: Env, owner: str) -> int:  # noqa: F811
    """``owner``'s USDC by a plain eth_call (``env.usdc_balance`` runs a loop: not while Qt's loop runs)."""
    data = "0x70a08231" + owner[2:].lower().rjust(64, "0")  # balanceOf(owner)
    return int(env.rpc("eth_call", [{"to": env.usdc, "data": data}, "latest"]), 16)


def x402_spending(store: Store) -> tuple[int, list[str]]:
    """What Activity shows of x402 spending in the last hour: its total in base units (every asset) and
    the activity log's lines of x402 payments made."""
    from datetime import UTC, datetime, timedelta

    from paygo_desktop.reports.periods import Period
    from paygo_desktop.reports.spending_report import SpendingReport
    from paygo_desktop.store.activity import ActivityLog

    report = SpendingReport(store)
    now = datetime.now(UTC)
    period = Period(now - timedelta(hours=1), now + timedelta(hours=1))
    total = sum(report.total(asset, period).units for asset in report.assets())
    return total, [e.message for e in ActivityLog(store).recent() if e.kind == "x402" and "Paid" in e.message]
