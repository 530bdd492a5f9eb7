"""FastAPI app factory of the reference provider. Every 4xx body is JSON ``{code, message}``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paygo_desktop import bounded_json
from paygo_desktop.chain.channel_state_reader import ChannelStateReader
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.auth import AuthError, AuthMessage, verify_headers
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.chain_runtime import Runtime
from paygo_desktop.provider.chain_view import ChainView
from paygo_desktop.provider.claimer import Claimer
from paygo_desktop.provider.config import DEMO_CATALOG, ProviderConfig
from paygo_desktop.provider.core import Clock, ProviderCore
from paygo_desktop.provider.gateway import GATEWAY_PATH, Watcher
from paygo_desktop.provider.gateway import register as register_gateway
from paygo_desktop.provider.leader import Coordinator
from paygo_desktop.provider.load import EdgeMiddleware, LoadMonitor, queued
from paygo_desktop.provider.proofs import Proof
from paygo_desktop.provider.row_models import service_model, session_info
from paygo_desktop.provider.service_upstreams import upstream_problem
from paygo_desktop.provider.store import ServiceRow, SessionRow, Store

log = logging.getLogger(__name__)

SessionIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]
ServiceIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]
ChannelIdPath = Annotated[str, PathParam(pattern=r"^0x[0-9a-fA-F]{64}$")]
MAX_CLAIMABLE = 100  # vouchers per answer of the vendor's voucher route (the largest first)


def request_target(request: Request) -> str:
    """The request's path and query exactly as the client sent them (what its auth header signs)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


async def signed_by(request: Request) -> AuthMessage | None:
    """The request's signature (checked, bound to this method, target and body), or None without one.
    Its nonce is not spent yet: the caller does so once the signer may do what is asked."""
    if not request.headers.get(routes.AUTH_MESSAGE_HEADER) and not request.headers.get(
        routes.AUTH_SIGNATURE_HEADER
    ):
        return None
    msg: AuthMessage = request.app.state.verify_auth(request, await request.body())
    return msg


async def vendor_auth(request: Request) -> str:
    """Dependency: a fresh request signature by the provider's own key."""
    msg = await signed_by(request)
    if msg is None:
        raise ApiError(401, "unauthorized", "missing signature authentication headers")
    if msg.address != request.app.state.provider_address:
        raise ApiError(403, "forbidden", "only the provider's key may do this")
    request.app.state.core.spend_nonce(msg)
    return msg.address


async def wallet_auth(request: Request) -> str:
    """Dependency: a fresh request signature by any wallet; returns its address."""
    msg = await signed_by(request)
    if msg is None:
        raise ApiError(401, "unauthorized", "missing signature authentication headers")
    request.app.state.core.spend_nonce(msg)
    return msg.address


def bearer_token(request: Request) -> str | None:
    header = request.headers.get(routes.ACCESS_TOKEN_HEADER, "")
    return header[7:] if header.lower().startswith("bearer ") else None


VendorAuth = Annotated[str, Depends(vendor_auth)]
WalletAuth = Annotated[str, Depends(wallet_auth)]
SignedBy = Annotated[AuthMessage | None, Depends(signed_by)]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 JSON (declared or streamed length), and bodies
    nested deeper than ``bounded_json.MAX_DEPTH`` with 400 before FastAPI's ``json.loads`` sees them (a
    deep enough body would overflow the C stack: see ``bounded_json``)."""

    def __init__(
        self, app: ASGIApp, limit: int, uploads: re.Pattern[str] | None = None, upload_limit: int = 0
    ) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads  # paths whose body is a file (not JSON) of at most upload_limit bytes
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or GATEWAY_PATH.match(scope["path"]):  # the gateway streams its own
            await self.app(scope, receive, send)
            return
        upload = self.uploads is not None and self.uploads.match(scope.get("path", "")) is not None
        limit = self.upload_limit if upload else self.limit
        too_big = _error(413, "body_too_large", f"request bodies are limited to {limit} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _error(400, "bad_request", "bad Content-Length")(scope, receive, send)
                    return
                if declared > limit:
                    await too_big(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and not upload:
            try:
                bounded_json.check_depth(bounded_json.decode(body))
            except bounded_json.JSONTooDeep:
                await _error(
                    400, "too_deep", f"request bodies may nest at most {bounded_json.MAX_DEPTH} levels"
                )(scope, receive, send)
                return
            except bounded_json.JSONRejected:
                pass  # not JSON text: FastAPI's own parsing refuses it, if the route takes JSON at all
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed_json", "the request body is not valid JSON"
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    msg = str(first.get("msg", "invalid request"))[:300]
    return 422, "invalid_request", f"{where}: {msg}"


def _seed_catalog(store: Store, config: ProviderConfig, now: float) -> None:
    """An empty catalog gets the seed's services; one that has some gets only those the config's gateway
    delivers (``[services.<id>]``) and it lacks (a catalog seeded before that service existed)."""
    seeded = store.count_services() > 0
    if seeded and not config.services:
        return
    path = config.catalog_seed or DEMO_CATALOG
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        log.warning("cannot read catalog seed %s: %s", path, exc)
        return
    with store.tx() as db:
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("type") == "job":
                continue  # a job offer: the job desk seeds it (provider/jobs.py)
            try:
                service_id = m.ServiceRef.model_validate({"id": entry.pop("id")}).id
                fields = m.ServiceFields.model_validate(entry)
            except Exception as exc:
                log.warning("skipping catalog seed entry: %s", exc)
                continue
            if seeded and (service_id not in config.services or db.get(ServiceRow, service_id) is not None):
                continue
            if config.asset_by_symbol(fields.rate.asset) is None:
                log.info("skipping %s: asset %s not configured", service_id, fields.rate.asset)
                continue
            db.add(_row(service_id, fields, now))


def _row(service_id: str, f: m.ServiceFields, now: float) -> ServiceRow:
    return ServiceRow(
        id=service_id,
        name=f.name,
        description=f.description,
        category=f.category,
        type=f.type.value,
        rate_amount=str(f.rate.amount),
        rate_asset=f.rate.asset,
        rate_unit=f.rate.unit.value,
        tick_seconds=f.tick_seconds,
        grace_seconds=f.grace_seconds,
        is_active=f.is_active,
        deleted=False,
        created_at=now,
        upstream_url=None if f.upstream is None else f.upstream.url,
        upstream_delivery=None if f.upstream is None else f.upstream.delivery.value,
    )


def _bucket_start(ts: float, bucket: m.Bucket) -> int:
    d = datetime.fromtimestamp(ts, UTC)
    if bucket is m.Bucket.hour:
        d = d.replace(minute=0, second=0, microsecond=0)
    elif bucket is m.Bucket.day:
        d = d.replace(hour=0, minute=0, second=0, microsecond=0)
    elif bucket is m.Bucket.week:
        d = (d - timedelta(days=d.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        d = d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(d.timestamp())


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
    chain head poll, the load monitor, and (in the worker that leads: provider.leader) the expiry and claim
    loops; tests may drive them through the vendor routes instead. ``zcash_verifier`` replaces the
    ``PaymentVerifier`` built from ``config.zcash``. Several processes may serve the same PostgreSQL
    database (``provider.workers``; ``worker``: this one's slot, shown by ``/health``): everything a
    session needs is in the database. Lateness is judged at a request's arrival (``provider.load.queued``:
    real seconds of waiting); with a ``clock`` of its own (a test's, which moves only when told) real
    waiting has no meaning on that clock and counts as none."""
    waited = queued if clock is None else _no_wait
    clock = clock or time.time
    store = Store(config.database)
    account = config.account()
    core = ProviderCore(config, store, account, clock)
    _seed_catalog(store, config, clock())
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
            store, vault, account, account.address, lock=coordinator.claim_lock, on_refused=core.end_refused
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
            await claimer.run(config.claim_interval, config.event_poll_interval)

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

        with contextlib.suppress(Exception):
            monitor.report()  # this worker is counted from its first answer on
        tasks.append(asyncio.create_task(watcher.run()))  # every worker cuts its own connections
        if background:
            tasks.append(asyncio.create_task(monitor.run()))
            tasks.append(asyncio.create_task(connect()))
            tasks.append(asyncio.create_task(coordinator.run([claims, expiry_loop])))
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
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        return _error(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)[:300])

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "internal error")

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

    # ------------------------------------------------------------------ catalog

    def _page(
        active_only: bool,
        search: str | None,
        category: str | None,
        type_: m.ServiceType | None,
        page: int,
        page_size: int,
        upstreams: bool = False,
    ) -> m.ServicePage:
        with store.tx() as db:
            query = select(ServiceRow).where(ServiceRow.deleted.is_(False))
            if active_only:
                query = query.where(ServiceRow.is_active.is_(True))
            if search:
                esc = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                like = f"%{esc}%"
                query = query.where(
                    or_(
                        func.lower(ServiceRow.name).like(like, escape="\\"),
                        func.lower(ServiceRow.description).like(like, escape="\\"),
                    )
                )
            if category:
                query = query.where(ServiceRow.category == category)
            if type_:
                query = query.where(ServiceRow.type == type_.value)
            total = int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = db.scalars(query.order_by(ServiceRow.name).offset((page - 1) * page_size).limit(page_size))
            items = [service_model(r, core.vendor, upstream=upstreams) for r in rows]
        return m.ServicePage(items=items, total=total, page=page, page_size=page_size)

    @app.get(routes.SERVICES, response_model=m.ServicePage)
    async def list_services(
        search: Annotated[str | None, Query(max_length=100)] = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
        type: Annotated[m.ServiceType | None, Query()] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 20,
    ) -> m.ServicePage:
        return _page(True, search, category, type, page, page_size)

    @app.get(routes.VENDOR_SERVICES, response_model=m.ServicePage)
    async def my_services(
        _: VendorAuth,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 100,
    ) -> m.ServicePage:
        return _page(False, None, None, None, page, page_size, upstreams=True)

    def _get_service(db: Any, service_id: str) -> ServiceRow:
        row = db.get(ServiceRow, service_id)
        if row is None or row.deleted:
            raise ApiError(404, "unknown_service", "no such service")
        return row

    def _check_asset(fields: m.ServiceFields) -> None:
        if config.asset_by_symbol(fields.rate.asset) is None:
            raise ApiError(422, "unsupported_asset", f"asset {fields.rate.asset} is not configured")
        problem = None if fields.upstream is None else upstream_problem(config, fields.upstream)
        if problem is not None:
            raise ApiError(422, "bad_upstream", problem)

    @app.get(routes.SERVICE, response_model=m.Service)
    async def get_service(service_id: ServiceIdPath) -> m.Service:
        with store.tx() as db:
            return service_model(_get_service(db, service_id), core.vendor)

    @app.post(routes.SERVICES, response_model=m.Service, status_code=201)
    async def create_service(fields: m.ServiceFields, _: VendorAuth) -> m.Service:
        _check_asset(fields)
        with store.tx() as db:
            row = _row("svc_" + secrets.token_hex(8), fields, clock())
            db.add(row)
            return service_model(row, core.vendor, upstream=True)

    @app.put(routes.SERVICE, response_model=m.Service)
    async def update_service(service_id: ServiceIdPath, fields: m.ServiceFields, _: VendorAuth) -> m.Service:
        _check_asset(fields)
        with store.tx() as db:
            row = _get_service(db, service_id)
            new = _row(service_id, fields, row.created_at)
            for col in (
                "name",
                "description",
                "category",
                "type",
                "rate_amount",
                "rate_asset",
                "rate_unit",
                "tick_seconds",
                "grace_seconds",
                "is_active",
                "upstream_url",
                "upstream_delivery",
            ):
                setattr(row, col, getattr(new, col))
            return service_model(row, core.vendor, upstream=True)

    @app.delete(routes.SERVICE, status_code=204)
    async def delete_service(service_id: ServiceIdPath, _: VendorAuth) -> Response:
        with store.tx() as db:
            row = _get_service(db, service_id)
            row.deleted = True
            row.is_active = False
        return Response(status_code=204)

    @app.patch(routes.SERVICE_TOGGLE, response_model=m.Service)
    async def toggle_service(service_id: ServiceIdPath, _: VendorAuth) -> m.Service:
        with store.tx() as db:
            row = _get_service(db, service_id)
            row.is_active = not row.is_active
            return service_model(row, core.vendor, upstream=True)

    # ------------------------------------------------------------------ sessions

    @app.post(
        routes.STREAM_START,
        response_model=m.StartResponse,
        status_code=201,
        responses={402: {"model": m.ErrorBody}, 409: {"model": m.ErrorBody}},
    )
    async def start(req: m.StartRequest) -> m.StartResponse:
        return await core.start(req)

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

    # ------------------------------------------------------------------ vendor

    @app.get(routes.VENDOR_SESSIONS, response_model=m.SessionList)
    async def vendor_sessions(_: VendorAuth) -> m.SessionList:
        return core.sessions()

    @app.get(routes.VENDOR_EARNINGS, response_model=m.Earnings)
    async def earnings(
        _: VendorAuth,
        from_: Annotated[int, Query(alias="from", ge=0, le=2**40)] = 0,
        to: Annotated[int | None, Query(ge=0, le=2**40)] = None,
        bucket: Annotated[m.Bucket, Query()] = m.Bucket.day,
    ) -> m.Earnings:
        end = int(clock()) + 1 if to is None else to
        if end < from_:
            raise ApiError(422, "invalid_request", "`to` is before `from`")
        sums: dict[tuple[int, str], list[int]] = {}
        totals: dict[str, int] = {}
        with store.tx() as db:
            rows = db.scalars(
                select(SessionRow).where(SessionRow.started_at >= from_, SessionRow.started_at < end)
            )
            for r in rows:
                info = session_info(r)
                key = (_bucket_start(r.started_at, bucket), r.asset)
                acc = sums.setdefault(key, [0, 0])
                acc[0] += info.amount
                acc[1] += 1
                totals[r.asset] = totals.get(r.asset, 0) + info.amount
        return m.Earnings(
            bucket=bucket,
            **{"from": from_},
            to=end,
            buckets=[
                m.EarningsBucket(start=k[0], asset=k[1], amount=v[0], sessions=v[1])
                for k, v in sorted(sums.items())
            ],
            totals=[m.AssetTotal(asset=a, amount=t) for a, t in sorted(totals.items())],
        )

    @app.post(routes.VENDOR_CLAIM, response_model=m.ClaimResult)
    async def claim_now(_: VendorAuth, request: Request) -> m.ClaimResult:
        core.rt  # noqa: B018 - 503 when not connected
        claimer: Claimer = request.app.state.claimer
        try:
            tx_hash, ids = await claimer.claim_pending()
        except ApiError:
            raise
        except Exception as exc:
            log.warning("claim failed: %r", exc)
            raise ApiError(503, "claim_failed", "the claim transaction failed") from None
        return m.ClaimResult(tx_hash=tx_hash, channels=ids)

    @app.get(routes.VENDOR_VOUCHERS, response_model=m.ClaimableVouchers)
    async def claimable_vouchers(_: VendorAuth, request: Request) -> m.ClaimableVouchers:
        """The latest voucher of every channel above what the vault has paid out (read from the chain
        now), for a ``claimBatch`` the vendor sends from its own wallet. Nothing is sent here."""
        core.rt  # noqa: B018 - 503 when not connected
        claimer: Claimer = request.app.state.claimer
        try:
            found = await claimer.claimable()
        except Exception as exc:
            log.warning("reading the claimable vouchers failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "could not read the channels from the chain") from None
        largest = {c.channel_id for c in sorted(found, key=lambda c: c.payout, reverse=True)[:MAX_CLAIMABLE]}
        shown = [c for c in found if c.channel_id in largest]  # still in claim order: provider, then token
        return m.ClaimableVouchers(
            items=[
                m.ClaimableVoucher(
                    channel_id=c.channel_id,
                    channel=m.ChannelOut.from_channel(c.channel),
                    cumulative_amount=c.cumulative,
                    signature=c.signature,
                    claimed=c.claimed,
                )
                for c in shown
            ],
            total=len(found),
            refused=[
                m.RefusedChannel(
                    channel_id=r.channel_id,
                    payer=r.payer,
                    token=r.token,
                    cumulative_amount=int(r.cumulative),
                    reason=r.reason,
                    at=int(r.at),
                )
                for r in store.refused_channels(MAX_CLAIMABLE)
            ],
        )

    from paygo_desktop.provider.job_routes import register as register_jobs

    register_jobs(app, config, store, clock, account, coordinator.claim_lock)  # fixed-price jobs

    if config.zcash.enabled:  # Zcash spending permissions (routes.ZCASH, routes.SESSIONS)
        from paygo_desktop.provider.zcash_routes import register

        core.zcash_access = register(app, config, store, clock, zcash_verifier)  # the gateway asks it too

    return app
