"""The catalog's seed: the services an empty catalog starts with (the config's seed file, else the demo
catalog), and a service's row made from its fields."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from paygo_desktop.protocol import models as m
from paygo_desktop.provider.config import DEMO_CATALOG, ProviderConfig
from paygo_desktop.provider.store import ServiceRow, Store

log = logging.getLogger(__name__)


def seed_catalog(store: Store, config: ProviderConfig, now: float) -> None:
    """An empty catalog gets the seed's services; one that has some gets only those the config's gateway
    delivers (``[services.<id>]``) and it lacks (a catalog seeded before that service existed). Workers
    that start together may both find it empty: the one whose rows are committed second finds them there
    (a unique key refused) and keeps the first one's."""
    seeded = store.count_services() > 0
    if seeded and not config.services:
        return
    path = config.catalog_seed or DEMO_CATALOG
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        log.warning("cannot read catalog seed %s: %s", path, exc)
        return
    try:
        _seed(store, config, entries, seeded, now)
    except IntegrityError:  # workers started together: another one seeded the same services first
        log.info("catalog seed: another worker seeded the catalog first; its rows stand")


def _seed(store: Store, config: ProviderConfig, entries: object, seeded: bool, now: float) -> None:
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
            db.add(service_row(service_id, fields, now))


def service_row(service_id: str, f: m.ServiceFields, now: float) -> ServiceRow:
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
