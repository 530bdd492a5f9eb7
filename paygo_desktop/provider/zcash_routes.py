"""Zcash spending permissions: the routes (registered by ``create_app`` when ``[zcash]`` is enabled), and
the ledger's pay and mine routes in ledger mode. What they call is ``provider.zcash_permissions``; the
rules are told there.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import LEDGER_MODE_REFUSED, ProviderConfig, ZcashConfig
from paygo_desktop.provider.core import Clock
from paygo_desktop.provider.store import Store
from paygo_desktop.provider.zcash_ledger import LedgerError, LocalLedger
from paygo_desktop.provider.zcash_permissions import ZcashPermissions
from paygo_desktop.provider.zcash_wallet_rpc import PaymentVerifier, ZalletVerifier
from paygo_desktop.zcash.addresses import Network

log = logging.getLogger(__name__)

IdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]
AddressPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{1,1024}$", max_length=1024)]


def make_verifier(cfg: ZcashConfig, store: Store) -> PaymentVerifier:
    if cfg.mode == "ledger":  # only where the config names it (provider.config refuses a missing mode)
        log.warning("Zcash ledger mode: a pretend wallet whose open pay/mine routes anyone can use")
        return LocalLedger(store, Network(cfg.network), cfg.ledger_seed)
    if cfg.mode != "zallet" or cfg.rpc_url is None:
        raise ValueError(LEDGER_MODE_REFUSED)
    return ZalletVerifier(
        cfg.rpc_url,
        user=cfg.rpc_user or "",
        password=cfg.rpc_secret(),
        account=cfg.account,
        timeout=cfg.rpc_timeout,
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def register(
    app: FastAPI,
    config: ProviderConfig,
    store: Store,
    clock: Clock,
    verifier: PaymentVerifier | None = None,
) -> ZcashPermissions:
    """Add the Zcash routes to ``app``; the ledger routes only in ledger mode."""
    zc = ZcashPermissions(config, store, clock, verifier or make_verifier(config.zcash, store))
    app.state.zcash = zc
    errors: dict[int | str, dict[str, Any]] = {
        401: {"model": m.ErrorBody},
        402: {"model": m.ErrorBody},
        409: {"model": m.ErrorBody},
        410: {"model": m.ErrorBody},
        503: {"model": m.ErrorBody},
    }

    @app.post(routes.ZCASH_PERMISSIONS, response_model=zm.ZcashPermission, status_code=201, responses=errors)
    async def create_permission(req: zm.ZcashPermissionRequest) -> zm.ZcashPermission:
        return await zc.create(req)

    @app.get(routes.ZCASH_WALLET_PERMISSION, response_model=zm.ZcashPermission, responses=errors)
    async def wallet_permission(address: AddressPath) -> zm.ZcashPermission:
        return zc.for_wallet(address)

    @app.get(routes.ZCASH_PERMISSION, response_model=zm.ZcashPermission, responses=errors)
    async def get_permission(permission_id: IdPath, request: Request) -> zm.ZcashPermission:
        return zc.get(permission_id, _bearer(request))

    @app.post(routes.ZCASH_PERMISSION_VERIFY, response_model=zm.ZcashPermission, responses=errors)
    async def verify_permission(permission_id: IdPath) -> zm.ZcashPermission:
        return await zc.verify(permission_id)

    @app.post(routes.ZCASH_PERMISSION_REVOKE, response_model=zm.ZcashPermission, responses=errors)
    async def revoke_permission(permission_id: IdPath, request: Request) -> zm.ZcashPermission:
        return await zc.revoke(permission_id, _bearer(request))

    @app.get(routes.ZCASH_BALANCE, response_model=zm.ZcashBalance, responses=errors)
    async def balance(
        address: AddressPath,
        rate_per_hour: Annotated[str | None, Query(max_length=40)] = None,
    ) -> zm.ZcashBalance:
        return await zc.balance(address, rate_per_hour)

    @app.post(routes.SESSIONS, response_model=zm.ZcashSession, status_code=201, responses=errors)
    async def start_session(req: zm.ZcashSessionRequest, request: Request) -> zm.ZcashSession:
        return await zc.start_session(req, _bearer(request))

    @app.post(routes.SESSIONS_END, response_model=zm.ZcashSession, responses=errors)
    async def end_session(req: zm.ZcashSessionEndRequest, request: Request) -> zm.ZcashSession:
        return await zc.end_session(req, _bearer(request))

    @app.get(routes.SESSION, response_model=zm.ZcashSession, responses=errors)
    async def get_session(session_id: IdPath) -> zm.ZcashSession:
        return zc.get_session(session_id)

    ledger = zc.verifier
    if config.zcash.mode == "ledger" and isinstance(ledger, LocalLedger):

        @app.post(routes.ZCASH_LEDGER_PAY, response_model=zm.ZcashLedgerTx, status_code=201, responses=errors)
        async def ledger_pay(req: zm.ZcashLedgerPay) -> zm.ZcashLedgerTx:
            try:
                tx = ledger.pay(req.address, req.amount_zat, req.memo)
            except LedgerError as exc:
                raise ApiError(422, "ledger_refused", str(exc)) from None
            return zm.ZcashLedgerTx(
                txid=tx.txid,
                address=tx.address,
                amount_zat=tx.amount_zat,
                memo=tx.memo,
                confirmations=ledger.confirmations(tx),
            )

        @app.post(routes.ZCASH_LEDGER_MINE, response_model=zm.ZcashLedgerHeight)
        async def ledger_mine(req: zm.ZcashLedgerMine) -> zm.ZcashLedgerHeight:
            return zm.ZcashLedgerHeight(height=ledger.mine(req.blocks))

    return zc
