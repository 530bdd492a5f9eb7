"""Workers that start together seed the catalog once between them: a worker that found the catalog empty
but commits second keeps the first one's rows and starts (it crashed on a unique key before, and its
supervisor had to start it again). Real SQLite files; the second worker's view is taken at the moment
after its count (the catalog still empty to it) and before its insert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from paygo_desktop.provider.catalog_seed import seed_catalog
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.store import ServiceRow, Store

ZERO = "0x" + "0" * 40


def config(tmp_path: Path) -> ProviderConfig:
    return ProviderConfig.model_validate(
        {
            "name": "Test provider",
            "private_key": "0x" + "11" * 32,
            "rpc_url": "http://127.0.0.1:9",
            "chain_id": 31337,
            "vault": "0x" + "1" * 40,
            "assets": [
                {"symbol": "USDC", "address": "0x" + "2" * 40, "decimals": 6},
                {"symbol": "ETH", "address": ZERO, "decimals": 18},
            ],
            "database": str(tmp_path / "provider.sqlite3"),
            "public_base_url": "http://127.0.0.1:9",
        }
    )


def test_a_catalog_seeded_by_another_worker_meanwhile_is_kept_and_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(tmp_path)
    first, second = Store(cfg.database), Store(cfg.database)
    seed_catalog(first, cfg, 1_000.0)  # the first worker
    count = first.count_services()
    assert count > 5
    with first.tx() as db:  # what the first one seeded, as it is
        before: dict[str, Any] = {r.id: r.created_at for r in db.scalars(select(ServiceRow))}
    monkeypatch.setattr(second, "count_services", lambda: 0)  # it counted before the first one committed
    seed_catalog(second, cfg, 2_000.0)  # the second worker: starts, no unique-key crash
    with first.tx() as db:
        after = {r.id: r.created_at for r in db.scalars(select(ServiceRow))}
    assert after == before  # the first one's rows stand, none added twice
    first.close()
    second.close()
