"""A session paid from a Zcash spending permission: the reference provider in ledger mode (payments made
through its local ledger), the engine metering on its own clock beside the provider's deduction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paygo_desktop.money import ZEC
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.plan import SessionError, StartOptions
from paygo_desktop.store.models import ZcashPermissionRow
from paygo_desktop.zcash.addresses import Network, encode_sapling
from tests.sessions.conftest import Env, World, run, run_provider

SVC = "lofi-radio"  # tick 10 s, grace 20 s
AMOUNT, RATE = 1_000_000, 400_000  # zatoshi; zatoshi per hour
USER_Z = encode_sapling(Network.TEST, bytes(range(43)))


@pytest.fixture
def zworld(world: World, env: Env, tmp_path: Path) -> Iterator[World]:
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": 1}
    with run_provider(env, tmp_path, zcash=zcash) as provider:
        world.provider = provider
        yield world


async def _permission(world: World) -> m.ZcashPermission:
    async with ProviderClient(world.provider.url) as client:
        permission = await client.create_zcash_permission(USER_Z, AMOUNT, RATE)
        await client.ledger_pay(permission.payment_address, AMOUNT, permission.memo)
        await client.ledger_mine(1)
        assert (await client.verify_zcash_permission(permission.id)).status is m.ZcashPermissionStatus.active
    with world.store.session() as s:  # as the Zcash page's permission book keeps it (no token here)
        s.add(
            ZcashPermissionRow(
                provider_url=world.provider.url,
                provider_name="Test provider",
                permission_id=permission.id,
                account=world.env.payer.address,
                pay_address=permission.payment_address,
                payment_uri=permission.payment_uri,
                amount_zat=AMOUNT,
                rate_per_hour_zat=RATE,
                status="active",
                allow_fallback=False,
                expires_at=datetime.fromtimestamp(permission.expires_at, UTC),
            )
        )
    return permission


def test_a_session_paid_from_a_zcash_permission(zworld: World) -> None:
    world = zworld

    async def scenario() -> None:
        permission = await _permission(world)
        tokens = {permission.id: permission.token or ""}
        engine = world.engine(token_lookup=tokens.__getitem__)
        plan = await engine.plan(world.provider.url, SVC)
        option = plan.option("zcash", permission.id)
        assert option is not None and option.available == AMOUNT and option.asset == ZEC
        assert option.price is not None and option.price.amount == RATE and option.price.unit == "per_hour"
        live = await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        assert live.asset == ZEC and live.status == "running"
        with pytest.raises(SessionError, match="already pays a running session"):
            await engine.start(plan, StartOptions("zcash", budget=AMOUNT, permission_id=permission.id))
        for _ in range(6):
            await world.advance(10)
        summary = await engine.stop(live.local_id)
        assert summary.status == "stopped" and summary.seconds == 60
        assert summary.metered == 6_667  # ceil(400 000 × 60 / 3600) by our meter
        assert isinstance(summary.receipt, m.ZcashSession)
        assert summary.cost == summary.receipt.amount_zat == 6_666  # the provider rounds down
        assert summary.receipt.status is m.ZcashSessionStatus.ended and summary.receipt_ok
        record = engine.history.get(live.local_id)
        assert record is not None and record.cost == 6_666 and record.funding == "zcash"
        assert engine.history.spent(live.local_id) == 6_666
        with world.store.session() as s:
            row = s.query(ZcashPermissionRow).one()
            assert (row.metered_zat, row.deducted_zat, row.used_seconds) == (6_667, 6_666, 60)

    run(world.env, scenario)
