"""Per-request sales with x402: a catalog service priced ``per_request`` is sold one HTTP request at a time
below ``routes.X402_ACCESS`` (``/api/v1/x402/{service_id}/<path>``), through the gateway's upstream for it
(``[services.<id>]``, delivery ``http``), paid with x402 v2's ``exact`` scheme (an EIP-3009 authorization).

* A request without ``PAYMENT-SIGNATURE`` gets 402 with the standard ``PAYMENT-REQUIRED`` header: the price
  (``rate.amount`` base units of the service's token), the provider's payTo, the network
  (``eip155:<chain id>``) and the token's EIP-712 domain as read from the token itself (``eip712Domain()``).
* With one, the payment is checked and settled by the official SDK's own resource server and facilitator,
  running in this process against the provider's node, from the provider's key (no outside facilitator):
  verify (signature, amount, payee, validity, a dry run of the transfer), then the upstream answers, then,
  only if it answered below 400, the transfer is settled on chain (at most at the provider's fee ceiling,
  ``provider.fee_ceiling``: the SDK prices it with the node's gas price) and the answer goes back with the
  ``PAYMENT-RESPONSE`` header. An upstream error is passed back unpaid; a replayed or failed authorization
  gets 402 again.
* When the catalog also sells a service by time (per second, minute or hour) from the same upstream, the
  unpaid 402 names it in an x402 v2 ``extensions`` entry of PayGo's own, ``paygo-session`` (its id, name,
  rate and catalog URL): a payer with a running session for it can use that instead of paying per request.
* The payment's JSON is parsed through ``bounded_json``; the path below the service is checked like the
  gateway's (``proxying.path_problem``); the SDK's blocking web3 calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import Response
from x402 import x402FacilitatorSync, x402ResourceServer
from x402.http.constants import PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER
from x402.http.utils import encode_payment_required_header, encode_payment_response_header
from x402.mechanisms.evm.exact import register_exact_evm_facilitator, register_exact_evm_server
from x402.mechanisms.evm.signers import FacilitatorWeb3Signer
from x402.schemas import AssetAmount, PaymentPayload, PaymentRequirements, ResourceConfig, ResourceInfo

from paygo_desktop import bounded_json
from paygo_desktop.chain.vouchers import ZERO_ADDRESS
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import proxying, routes
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import GatewayService, ProviderConfig
from paygo_desktop.provider.core import ProviderCore
from paygo_desktop.provider.fee_ceiling import FeeAboveCeiling, send_guard
from paygo_desktop.provider.gateway import METHODS, NEVER_UPSTREAM, answered_headers, upstream_url
from paygo_desktop.provider.row_models import service_model
from paygo_desktop.provider.store import ServiceRow

log = logging.getLogger(__name__)

ROUTE = routes.X402_ACCESS + "/{path:path}"
MAX_PAYMENT_HEADER = 16 * 1024
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # the upstream's answer is held until the payment settles
VALIDITY_SECONDS = 300  # how long a payer's authorization may stay valid
SESSION_EXTENSION = "paygo-session"  # the 402's hint: the same upstream sold by time (x402.session_offer)
EIP712_DOMAIN_ABI = [
    {
        "inputs": [],
        "name": "eip712Domain",
        "outputs": [
            {"name": "fields", "type": "bytes1"},
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
            {"name": "salt", "type": "bytes32"},
            {"name": "extensions", "type": "uint256[]"},
        ],
        "stateMutability": "view",
        "type": "function",
    }
]
NOT_UPSTREAM = NEVER_UPSTREAM | {PAYMENT_SIGNATURE_HEADER.lower()}


class CappedSigner(FacilitatorWeb3Signer):
    """The SDK's facilitator signer, its settlements held to the provider's fee ceiling: the SDK prices them
    with the node's eth_gasPrice, so none is broadcast above the ceiling (``fee_ceiling.send_guard``; the
    settlement fails, the request gets its 402 again). The nonce the SDK reserved for a refused one is
    given back (read again from the node at the next), or every later settlement would wait behind a gap."""

    def __init__(self, *, private_key: str, rpc_url: str, ceiling: int) -> None:
        super().__init__(private_key=private_key, rpc_url=rpc_url)
        self._w3.middleware_onion.add(send_guard(ceiling), "fee_ceiling")

    def write_contract(self, *args: Any, **kwargs: Any) -> str:
        return self._refusal_unreserved(super().write_contract, *args, **kwargs)

    def send_transaction(self, *args: Any, **kwargs: Any) -> str:
        return self._refusal_unreserved(super().send_transaction, *args, **kwargs)

    def _refusal_unreserved(self, send: Callable[..., str], *args: Any, **kwargs: Any) -> str:
        try:
            return send(*args, **kwargs)
        except FeeAboveCeiling:
            with self._nonce_lock:
                self._next_nonce = None  # the SDK's own counter: the node's pending count at the next one
            raise


class LocalFacilitator:
    """The SDK's facilitator (``exact`` on EVM) in this process: the SDK's resource server calls it as it
    would call a remote one; its blocking web3 calls go to a worker thread."""

    def __init__(self, config: ProviderConfig, key: str) -> None:
        self.signer = CappedSigner(private_key=key, rpc_url=config.rpc_url, ceiling=config.max_fee_per_gas)
        self._sync = register_exact_evm_facilitator(
            x402FacilitatorSync(), self.signer, networks=network_of(config)
        )

    async def verify(self, payload: Any, requirements: Any) -> Any:
        return await asyncio.to_thread(self._sync.verify, payload, requirements)

    async def settle(self, payload: Any, requirements: Any) -> Any:
        return await asyncio.to_thread(self._sync.settle, payload, requirements)

    def get_supported(self) -> Any:
        return self._sync.get_supported()


def network_of(config: ProviderConfig) -> str:
    return f"eip155:{config.chain_id}"


class Sales:
    """The per-request prices and the SDK's resource server that checks and settles their payments."""

    def __init__(self, config: ProviderConfig, core: ProviderCore) -> None:
        self.config = config
        self.core = core
        self.facilitator = LocalFacilitator(config, "0x" + bytes(core.account.key).hex())
        self.server = x402ResourceServer(self.facilitator)
        register_exact_evm_server(self.server, network_of(config))
        self.server.initialize()
        self._domains: dict[str, dict[str, str]] = {}

    def service(self, service_id: str) -> tuple[m.Service, GatewayService]:
        with self.core.store.tx() as db:
            row = db.get(ServiceRow, service_id)
            if row is None or row.deleted or not row.is_active:
                raise ApiError(404, "unknown_service", "no such active service")
            service = service_model(row, self.core.vendor)
        if service.rate.unit is not m.RateUnit.per_request:
            raise ApiError(404, "not_per_request", "this service is sold in sessions, not per request")
        upstream = self.core.gateway_service(service_id)  # the config's, else the vendor's (as the gateway)
        if upstream is None or upstream.delivery != "http":
            raise ApiError(404, "no_upstream", "this service is not delivered through the gateway")
        return service, upstream

    def session_alternative(self, service: m.Service, upstream: GatewayService) -> dict[str, Any] | None:
        """The ``paygo-session`` extension for ``service``: the active session-priced service in the same
        token with the same upstream (the cheapest, then by id), or None."""
        same = upstream.upstream.rstrip("/")
        found: list[m.Service] = []
        with self.core.store.tx() as db:
            rows = db.scalars(select(ServiceRow).where(ServiceRow.is_active, ServiceRow.deleted.is_(False)))
            candidates = [service_model(row, self.core.vendor) for row in rows if row.id != service.id]
        for other in candidates:
            if other.rate.unit is m.RateUnit.per_request or other.rate.asset != service.rate.asset:
                continue
            gateway = self.core.gateway_service(other.id)
            if gateway is not None and gateway.delivery == "http" and gateway.upstream.rstrip("/") == same:
                found.append(other)
        if not found:
            return None
        best = min(found, key=lambda s: (s.rate.amount * 3600 // s.rate.unit.seconds, s.id))
        base = self.config.public_base_url.rstrip("/")
        return {
            SESSION_EXTENSION: {
                "info": {
                    "service": best.id,
                    "name": best.name,
                    "rate": {
                        "amount": str(best.rate.amount),
                        "asset": best.rate.asset,
                        "unit": best.rate.unit.value,
                    },
                    "catalog": base + routes.SERVICE.format(service_id=best.id),
                }
            }
        }

    async def requirements(self, service: m.Service) -> list[PaymentRequirements]:
        asset = self.config.asset_by_symbol(service.rate.asset)
        if asset is None or asset.address.lower() == ZERO_ADDRESS.lower():
            raise ApiError(503, "not_payable", f"{service.rate.asset} cannot be paid with x402 here")
        domain = await self._domain(asset.address)
        return self.server.build_payment_requirements(
            ResourceConfig(
                scheme="exact",
                pay_to=self.core.account.address,
                price=AssetAmount(amount=str(service.rate.amount), asset=asset.address, extra=domain),
                network=network_of(self.config),
                max_timeout_seconds=VALIDITY_SECONDS,
            )
        )

    async def _domain(self, token: str) -> dict[str, str]:
        """The token's EIP-712 name and version, read from the token (an EIP-3009 token: USDC's own)."""
        if token.lower() not in self._domains:
            try:
                found = await asyncio.to_thread(
                    self.facilitator.signer.read_contract, token, EIP712_DOMAIN_ABI, "eip712Domain"
                )
            except Exception as exc:
                log.warning("x402: %s has no EIP-712 domain: %r", token, exc)
                raise ApiError(503, "not_payable", "this service's token takes no x402 payments") from None
            self._domains[token.lower()] = {"name": str(found[1]), "version": str(found[2])}
        return dict(self._domains[token.lower()])

    async def payment_required(
        self,
        requirements: list[PaymentRequirements],
        resource: ResourceInfo,
        error: str,
        extensions: dict[str, Any] | None = None,
    ) -> Response:
        required = await self.server.create_payment_required_response(
            requirements, resource, error, extensions
        )
        return Response(
            status_code=402,
            content=b"{}",
            media_type="application/json",
            headers={PAYMENT_REQUIRED_HEADER: encode_payment_required_header(required)},
        )


def payment_payload(header: str) -> PaymentPayload:
    """A PAYMENT-SIGNATURE header, bounded and checked (x402 v2 only)."""
    if len(header) > MAX_PAYMENT_HEADER:
        raise ValueError("the payment header is too large")
    try:
        raw = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the payment header is not base64") from None
    try:
        data = bounded_json.loads(raw, max_bytes=MAX_PAYMENT_HEADER)
    except bounded_json.JSONRejected as exc:
        raise ValueError(f"the payment header is not JSON this provider accepts: {exc}") from None
    if not isinstance(data, dict) or data.get("x402Version") != 2:
        raise ValueError("only x402 version 2 payments are accepted")
    try:
        return PaymentPayload.model_validate(data)
    except ValidationError:
        raise ValueError("the payment header is malformed") from None


def register(app: FastAPI, config: ProviderConfig, core: ProviderCore) -> Sales:
    """Add the per-request routes to ``app`` (after the gateway: its upstream client is used)."""
    sales = Sales(config, core)

    @app.api_route(routes.X402_ACCESS, methods=METHODS, include_in_schema=False)
    @app.api_route(ROUTE, methods=METHODS, include_in_schema=False)
    async def sell(service_id: str, request: Request, path: str = "") -> Response:
        del path  # the raw path is used, checked
        service, upstream = sales.service(service_id)
        requirements = await sales.requirements(service)
        resource = ResourceInfo(url=str(request.url), description=service.name[:200])
        header = request.headers.get(PAYMENT_SIGNATURE_HEADER)
        if not header:
            hint = sales.session_alternative(service, upstream)
            return await sales.payment_required(requirements, resource, "payment required", hint)
        try:
            payload = payment_payload(header)
        except ValueError as exc:
            return await sales.payment_required(requirements, resource, str(exc))
        matched = sales.server.find_matching_requirements(requirements, payload)
        if matched is None:
            return await sales.payment_required(requirements, resource, "the payment is not for this price")
        verified = await sales.server.verify_payment(payload, matched)
        if not verified.is_valid:
            return await sales.payment_required(
                requirements, resource, verified.verify.invalid_reason or "invalid payment"
            )
        answer = await _forward(app, request, service_id, upstream)
        if answer.status_code >= 400:  # nothing served: nothing taken
            return answer
        try:
            settled = await sales.server.settle_payment(payload, matched)
        except Exception as exc:
            log.warning("x402: settling %s failed: %r", service_id, exc)
            return await sales.payment_required(requirements, resource, "the payment could not be settled")
        if not settled.success:
            failed = await sales.payment_required(
                requirements, resource, settled.error_reason or "not settled"
            )
            failed.headers[PAYMENT_RESPONSE_HEADER] = encode_payment_response_header(settled)
            return failed
        answer.headers[PAYMENT_RESPONSE_HEADER] = encode_payment_response_header(settled)
        return answer

    return sales


async def _forward(app: FastAPI, request: Request, service_id: str, upstream: GatewayService) -> Response:
    """The request on the service's upstream, its answer held (bounded) until the payment settles."""
    prefix = routes.X402_ACCESS.format(service_id=service_id)
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    if not raw.startswith(prefix):
        raise ApiError(400, "bad_path", "the path must be sent as is, not percent-encoded")
    rest = raw[len(prefix) :]
    problem = proxying.path_problem(rest)
    if problem is not None:
        raise ApiError(400, "bad_path", problem)
    target = upstream_url(upstream, rest, request.scope.get("query_string", b""))
    headers = proxying.end_to_end(list(request.scope["headers"]), NOT_UPSTREAM)
    body = await request.body()
    client: httpx.AsyncClient = app.state.gateway_client()
    timeout = httpx.Timeout(10.0, read=upstream.read_timeout or None)
    try:
        async with client.stream(
            request.method, target, headers=headers, content=body, timeout=timeout
        ) as got:
            content = bytearray()
            async for chunk in got.aiter_raw():  # as sent: its Content-Encoding stays true
                content += chunk
                if len(content) > MAX_ANSWER_BYTES:
                    raise ApiError(
                        502, "answer_too_large", "the service's answer is too large to sell per request"
                    )
            back = answered_headers(got, upstream, prefix)
            status = got.status_code
    except httpx.TimeoutException:
        raise ApiError(504, "upstream_timeout", "the service did not answer in time") from None
    except httpx.HTTPError as exc:
        log.warning("x402: upstream of %s unreachable: %r", service_id, exc)
        raise ApiError(502, "upstream_unavailable", "the service is unreachable") from None
    response = Response(content=bytes(content), status_code=status)
    response.raw_headers = [(n, v) for n, v in back if n.lower() != b"content-length"] + [
        (b"content-length", str(len(content)).encode())
    ]
    return response
