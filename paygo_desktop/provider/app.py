"""FastAPI app factory of the reference provider. Every 4xx body is JSON ``{code, message}``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from paygo_desktop.chain.channel_state_reader import ChannelStateReader
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.auth import AuthError, AuthMessage, verify_headers
from paygo_desktop.provider.api_error import ApiError, error_response
from paygo_desktop.provider.body_limit import BodyLimit
from paygo_desktop.provider.catalog_routes import register as register_catalog
from paygo_desktop.provider.catalog_seed import seed_catalog
from paygo_desktop.provider.chain_runtime import Runtime
from paygo_desktop.provider.chain_view import ChainView
from paygo_desktop.provider.claimer import Claimer
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.core import Clock, ProviderCore
from paygo_desktop.provider.gateway import Watcher
from paygo_desktop.provider.gateway import register as register_gateway
from paygo_desktop.provider.leader import Coordinator
from paygo_desktop.provider.load import EdgeMiddleware, LoadMonitor, queued
from paygo_desktop.provider.proofs import Proof
from paygo_desktop.provider.request_auth import SignedBy, WalletAuth, bearer_token, request_target
from paygo_desktop.provider.store import Store
from paygo_desktop.provider.vendor_routes import register as register_vendor

log = logging.getLogger(__name__)

SessionIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]
ChannelIdPath = Annotated[str, PathParam(pattern=r"^0x[0-9a-fA-F]{64}$")]


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed_json", "the request body is not valid JSON"
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    msg = str(first.get("msg", "invalid request"))[:300]
    return 422, "invalid_request", f"{where}: {msg}"


def _no_wait(_scope: Any) -> float:
    return 0.0


def create_app(
    config: ProviderConfig,
    *,
    clock: Clock | None = None,
    background: bool = True,
    zcash_verifier: Any = None,
    worker: int | None = None,
) -> FastAPI:
    """The provider app. ``clock`` (Unix seconds) drives session timing (request signatures are always
    checked against the real time: they are the client's, on its own clock); ``background`` starts the
    chain head poll, the load monitor, and (in the worker that leads: provider.leader) the expiry, claim
    and job release loops; tests may drive them through the vendor routes instead. ``zcash_verifier``
    replaces the ``PaymentVerifier`` built from ``config.zcash``. Several processes may serve the same
    PostgreSQL database (``provider.workers``; ``worker``: this one's slot, shown by ``/health``):
    everything a session needs is in the database. Lateness is judged at a request's arrival
    (``provider.load.queued``: real seconds of waiting); with a ``clock`` of its own (a test's, which moves
    only when told) real waiting has no meaning on that clock and counts as none."""
    waited = queued if clock is None else _no_wait
    clock = clock or time.time
    store = Store(config.database)
    account = config.account()
    core = ProviderCore(config, store, account, clock)
    if config.max_unclaimed_contract_signed < 2 * config.contract_signer_claim_interval:
        log.warning(
            "max_unclaimed_contract_signed (%d s) is under twice contract_signer_claim_interval (%g s): "
            "honest contract-signed channels will be held up between claims",
            config.max_unclaimed_contract_signed,
            config.contract_signer_claim_interval,
        )
    seed_catalog(store, config, clock())
    coordinator = Coordinator(store)
    monitor = LoadMonitor(
        store,
        overload_delay=config.overload_delay,
        overload_hold=config.overload_hold,
        silence_limit=config.worker_silence_limit,
        slot=worker,
    )
    core.slack = monitor.slack

    def _leading(leader: bool) -> None:
        monitor.leader = leader

    coordinator.on_change = _leading

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from paygo_desktop.chain.rpc import async_web3

        tasks: list[asyncio.Task[Any]] = []
        w3 = async_web3(config.rpc_url, timeout=10)
        vault = VaultClient(w3, config.vault)
        claimer = Claimer(
            store,
            vault,
            account,
            account.address,
            lock=coordinator.claim_lock,
            on_refused=core.end_refused,
            max_fee_per_gas=config.max_fee_per_gas,
        )
        app.state.claimer = claimer
        reader = ChannelStateReader(w3, config.vault)
        chain = ChainView(reader, config.head_poll_interval)
        app.state.chain = chain

        async def connect() -> None:
            while True:
                try:
                    chain_id = int(await w3.eth.chain_id)
                except Exception as exc:
                    log.warning("chain node %s unreachable: %r; retrying", config.rpc_url, exc)
                    await asyncio.sleep(2)
                    continue
                if chain_id != config.chain_id:
                    log.error(
                        "chain id %s != configured %s: session routes disabled", chain_id, config.chain_id
                    )
                    return
                try:
                    core.runtime = Runtime(vault=vault, domain=await vault.domain(), states=chain)
                except Exception:
                    log.exception("cannot use the vault %s; retrying", config.vault)
                    await asyncio.sleep(2)
                    continue
                try:
                    vault_minimum = await vault.min_withdraw_delay()
                except Exception as exc:
                    log.warning("cannot read the vault's MIN_WITHDRAW_DELAY: %r", exc)
                    vault_minimum = None
                if vault_minimum is not None and vault_minimum < config.min_withdraw_delay:
                    log.info(
                        "the vault lets channels use a withdrawal delay of %d s; this provider refuses "
                        "channels under %d s (event_poll_interval + withdraw_delay_margin) and says so in "
                        "GET /provider (minWithdrawDelay), where the app reads it",
                        vault_minimum,
                        config.min_withdraw_delay,
                    )
                if background:
                    tasks.append(asyncio.create_task(chain.run()))
                connected.set()
                return

        connected = asyncio.Event()

        async def claims() -> None:  # a leader duty, once the chain is reached
            await connected.wait()
            await claimer.run(
                config.claim_interval, config.event_poll_interval, config.contract_signer_claim_interval
            )

        async def expiry_loop() -> None:
            while True:
                await asyncio.sleep(config.expiry_check_interval)
                try:
                    core.expire_late_sessions()
                    zcash = getattr(app.state, "zcash", None)
                    if zcash is not None:
                        zcash.sweep()
                except Exception as exc:
                    log.warning("expiry check: %r", exc)

        async def releases() -> None:  # a leader duty, once the chain is reached
            assert auto_release is not None
            await connected.wait()
            await auto_release.run()

        duties = [claims, expiry_loop] + ([releases] if auto_release is not None else [])
        with contextlib.suppress(Exception):
            monitor.report()  # this worker is counted from its first answer on
        tasks.append(asyncio.create_task(watcher.run()))  # every worker cuts its own connections
        if background:
            tasks.append(asyncio.create_task(monitor.run()))
            tasks.append(asyncio.create_task(connect()))
            tasks.append(asyncio.create_task(coordinator.run(duties)))
        else:
            await connect()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            await gateway_client().aclose()
            monitor.leave()
            coordinator.close()
            store.close()

    app = FastAPI(
        title="PayGo provider API",
        version="1",
        lifespan=lifespan,
        responses={
            400: {"model": m.ErrorBody},
            404: {"model": m.ErrorBody},
            413: {"model": m.ErrorBody},
            422: {"model": m.ErrorBody},
        },
    )
    app.state.core = core
    connections, gateway_client = register_gateway(app, config, core)
    from paygo_desktop.provider.x402_sales import register as register_x402

    register_x402(app, config, core)  # per-request services, paid with x402, through the gateway's upstreams
    watcher = Watcher(core, connections, config.gateway_watch_interval)
    app.state.gateway = watcher
    app.state.monitor = monitor
    app.state.coordinator = coordinator
    from paygo_desktop.provider.job_routes import UPLOAD_PATH

    app.add_middleware(
        BodyLimit, limit=config.max_body_bytes, uploads=UPLOAD_PATH, upload_limit=config.max_delivery_bytes
    )
    # outermost: a request's arrival, its wait before dispatch, and new sessions shed under overload
    app.add_middleware(EdgeMiddleware, monitor=lambda: monitor)

    # ------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        return error_response(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)[:300]
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error")

    # ------------------------------------------------------------------ auth

    def _verify_auth(request: Request, body: bytes) -> AuthMessage:
        try:
            return verify_headers(
                request.headers.get(routes.AUTH_MESSAGE_HEADER),
                request.headers.get(routes.AUTH_SIGNATURE_HEADER),
                domain=config.auth_domain,
                chain_id=config.chain_id,
                now=int(time.time()),
                method=request.method,
                target=request_target(request),
                body=body,
            )
        except AuthError as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None

    app.state.verify_auth = _verify_auth
    app.state.provider_address = account.address

    # ------------------------------------------------------------------ info

    @app.get(routes.HEALTH, response_model=m.Health)
    async def health() -> m.Health:
        accepting = monitor.accepting()
        try:
            workers, shedding = monitor.workers()
        except Exception as exc:
            log.warning("reading the workers' reports failed: %r", exc)
            workers, shedding = 0, 0
        return m.Health(
            status="ok" if core.runtime else "degraded",
            time=int(clock()),
            accepting_sessions=accepting,
            retry_after=None if accepting else monitor.retry_after(),
            load=m.HealthLoad(
                delay_ms=round(monitor.pressure() * 1000),
                workers=workers,
                shedding_workers=shedding,
                leader=coordinator.is_leader,
                worker=monitor.slot,
            ),
        )

    @app.get(routes.PROVIDER, response_model=m.ProviderInfo)
    async def provider_info() -> m.ProviderInfo:
        return m.ProviderInfo(
            name=config.name,
            pay_to=account.address,
            networks=[m.NetworkInfo(chain_id=config.chain_id, vault=config.vault)],
            assets=config.assets,
            signing_key=account.address,
            zcash=config.zcash.enabled,
            min_withdraw_delay=config.min_withdraw_delay,
        )

    register_catalog(app, config, core, store, clock)  # the catalog: services listed, the vendor's edited

    # ------------------------------------------------------------------ sessions

    @app.post(
        routes.STREAM_START,
        response_model=m.StartResponse,
        status_code=201,
        responses={402: {"model": m.ErrorBody}, 409: {"model": m.ErrorBody}, 429: {"model": m.ErrorBody}},
    )
    async def start(req: m.StartRequest, request: Request) -> m.StartResponse:
        return await core.start(req, request.client.host if request.client else None)

    @app.get(routes.MY_SESSIONS, response_model=m.SessionList)
    async def my_sessions(payer: WalletAuth) -> m.SessionList:
        return core.sessions(payer=payer)

    @app.get(routes.STREAM, response_model=m.SessionInfo)
    async def get_session(session_id: SessionIdPath) -> m.SessionInfo:
        return core.session(session_id)

    @app.post(
        routes.STREAM_VOUCHERS,
        response_model=m.VoucherAck,
        responses={402: {"model": m.ErrorBody}, 409: {"model": m.ErrorBody}, 410: {"model": m.ErrorBody}},
    )
    async def voucher(session_id: SessionIdPath, req: m.VoucherRequest, request: Request) -> m.VoucherAck:
        return await core.voucher(session_id, req, waited(request.scope))

    @app.patch(
        routes.STREAM_STOP,
        response_model=m.StopResponse,
        responses={401: {"model": m.ErrorBody}, 403: {"model": m.ErrorBody}},
    )
    async def stop(
        session_id: SessionIdPath, request: Request, wallet: SignedBy, req: m.StopRequest | None = None
    ) -> m.StopResponse:
        proof = Proof(token=bearer_token(request), wallet=wallet)
        final = None if req is None else req.final_voucher
        return await core.stop(session_id, final, proof, waited(request.scope))

    @app.get(routes.STREAM_CONTENT, response_model=m.ContentResponse)
    async def content(session_id: SessionIdPath, request: Request) -> m.ContentResponse:
        return core.content(session_id, bearer_token(request))

    @app.get(routes.CHANNEL, response_model=m.ChannelInfo, responses={403: {"model": m.ErrorBody}})
    async def channel(channel_id: ChannelIdPath, wallet: SignedBy) -> m.ChannelInfo:
        return await core.channel_info(channel_id.lower(), wallet)

    @app.post(
        routes.CHANNEL_CLOSE,
        response_model=m.CloseAuth,
        responses={401: {"model": m.ErrorBody}, 403: {"model": m.ErrorBody}, 409: {"model": m.ErrorBody}},
    )
    async def close_channel(
        channel_id: ChannelIdPath, req: m.CloseRequest, requester: WalletAuth
    ) -> m.CloseAuth:
        """The provider's signed Close for the channel, for its payer or signer only (see core.close)."""
        return await core.close(channel_id.lower(), req.channel.to_channel(), requester)

    register_vendor(app, core, store, clock)  # the vendor's sessions, earnings and claims

    from paygo_desktop.provider.job_release import AutoRelease
    from paygo_desktop.provider.job_routes import register as register_jobs

    desk = register_jobs(app, config, store, clock, account, coordinator.claim_lock)  # fixed-price jobs
    # the leader releases delivered jobs whose review window has passed (provider.job_release)
    auto_release = AutoRelease(desk, config.auto_release_interval) if config.auto_release_interval else None
    app.state.job_release = auto_release

    if config.zcash.enabled:  # Zcash spending permissions (routes.ZCASH, routes.SESSIONS)
        from paygo_desktop.provider.zcash_routes import register

        core.zcash_access = register(app, config, store, clock, zcash_verifier)  # the gateway asks it too

    return app
