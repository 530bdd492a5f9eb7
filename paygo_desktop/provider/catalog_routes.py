"""The catalog's routes: the public list and one service, the vendor's own list, and its create, update,
delete and pause (docs/provider-api.md)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import FastAPI, Query, Response
from fastapi import Path as PathParam
from sqlalchemy import func, or_, select

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.catalog_seed import service_row
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.core import Clock, ProviderCore
from paygo_desktop.provider.request_auth import VendorAuth
from paygo_desktop.provider.row_models import service_model
from paygo_desktop.provider.service_upstreams import upstream_problem
from paygo_desktop.provider.store import ServiceRow, Store

ServiceIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]


def register(app: FastAPI, config: ProviderConfig, core: ProviderCore, store: Store, clock: Clock) -> None:
    """Add the catalog's routes to ``app``."""

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
            row = service_row("svc_" + secrets.token_hex(8), fields, clock())
            db.add(row)
            return service_model(row, core.vendor, upstream=True)

    @app.put(routes.SERVICE, response_model=m.Service)
    async def update_service(service_id: ServiceIdPath, fields: m.ServiceFields, _: VendorAuth) -> m.Service:
        _check_asset(fields)
        with store.tx() as db:
            row = _get_service(db, service_id)
            new = service_row(service_id, fields, row.created_at)
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
