"""A vendor's earnings: what the provider says was earned, what the chain says was paid out, the rest pending.

*Earned* comes from the provider's vendor routes (signature auth with the provider's own key): its sessions
and their voucher totals per bucket. *Paid out on-chain* comes from the local index of PayGoVault events
(``chain/event_sync.py``), which is rebuilt from the chain after the store is wiped: ``Claimed`` events and
the provider's share of cooperative ``Closed`` events, summed by SQLite per token (each channel's token is
on its ``Funded`` event). *Pending* is earned minus paid out, per asset: vouchers the provider holds but has
not claimed yet.

web3 and eth-account are imported when a vendor view loads, not with this module.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from sqlalchemy import text

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.database import Store
from paygo_desktop.store.spending import join_amount

if TYPE_CHECKING:
    from web3 import AsyncWeb3

    from paygo_desktop.protocol import models as m
    from paygo_desktop.protocol.client import ProviderClient

# Amounts in vault_events are decimal strings (uint128 overflows SQLite's integers): each is split at 10**9
# in SQL, the halves summed, and the total joined exactly in Python, as for the spending records.
_PAYOUT_SQL = """
SELECT {group}
       SUM(CAST(substr(e.amount, 1, max(length(e.amount) - 9, 0)) AS INTEGER)),
       SUM(CAST(substr(e.amount, -9) AS INTEGER)),
       COUNT(*)
FROM vault_events AS e
JOIN (SELECT channel_id, MIN(id) AS id FROM vault_events
      WHERE chain_id = :chain AND name = 'Funded' GROUP BY channel_id) AS first_fund
  ON first_fund.channel_id = e.channel_id
JOIN vault_events AS f ON f.id = first_fund.id
WHERE e.chain_id = :chain AND e.provider = :provider AND e.name IN ('Claimed', 'Closed')
GROUP BY {keys}
"""


class VendorError(UserFacingError):
    """The vendor view cannot be shown (wrong key, another chain, ...); the message says why."""


def paid_out_by_token(store: Store, chain_id: int, provider: str) -> dict[str, int]:
    """Base units paid out on-chain to ``provider``, per token address (lower case; 0x0… is ETH)."""
    sql = text(_PAYOUT_SQL.format(group="lower(json_extract(f.data, '$.token')),", keys="1"))
    with store.engine.connect() as conn:
        rows = conn.execute(sql, {"chain": chain_id, "provider": provider}).all()
    return {token: join_amount(giga, rem) for token, giga, rem, _count in rows}


def paid_out_by_block(store: Store, chain_id: int, provider: str) -> list[tuple[int, str, int]]:
    """(block, token, base units) paid out to ``provider``, in block order: one line per payout block."""
    sql = text(
        _PAYOUT_SQL.format(group="e.block_number, lower(json_extract(f.data, '$.token')),", keys="1, 2")
        + " ORDER BY 1"
    )
    with store.engine.connect() as conn:
        rows = conn.execute(sql, {"chain": chain_id, "provider": provider}).all()
    return [(int(block), token, join_amount(giga, rem)) for block, token, giga, rem, _count in rows]


@dataclass(frozen=True)
class AssetEarnings:
    asset: Asset
    earned: Amount  # vouchers the provider accepted, all time
    paid_out: Amount  # claimed on-chain (claims and cooperative closes)

    @property
    def pending(self) -> Amount:
        """Earned but not claimed yet (never below zero: a close can pay out before a voucher is counted)."""
        return self.earned - self.paid_out if self.earned > self.paid_out else Amount.zero(self.asset)


@dataclass(frozen=True)
class DayEarnings:
    day: datetime  # the bucket's start, UTC, as the provider sent it
    asset: Asset
    earned: Amount
    sessions: int
    paid_out: Amount


@dataclass(frozen=True)
class ServiceEarnings:
    service_id: str
    name: str
    asset: Asset
    earned: Amount
    sessions: int
    live: int


@dataclass(frozen=True)
class LiveMeter:
    """A session running now at the provider, with its meter as the provider last counted it."""

    session_id: str
    service: str
    payer: str
    started_at: datetime
    seconds: int
    amount: Amount


@dataclass
class VendorOverview:
    provider_name: str
    provider_address: str
    chain_id: int
    assets: list[AssetEarnings]
    days: list[DayEarnings]
    services: list[ServiceEarnings]
    live: list[LiveMeter]
    synced_to_block: int
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def asset(self, symbol: str) -> Asset | None:
        return next((a.asset for a in self.assets if a.asset.symbol == symbol), None)


def provider_assets(info: m.ProviderInfo) -> dict[str, Asset]:
    """The provider's assets by symbol; the zero address is the native coin."""
    return {a.symbol: a.asset for a in info.assets}


def token_key(asset: Asset) -> str:
    return (asset.address or "0x" + "00" * 20).lower()


def live_meters(
    sessions: list[m.SessionInfo], names: dict[str, str], assets: dict[str, Asset], now: int
) -> list[LiveMeter]:
    meters = []
    for s in sessions:
        if s.status.value != "live" or s.asset not in assets:
            continue
        meters.append(
            LiveMeter(
                session_id=s.session_id,
                service=names.get(s.service_id, s.service_id),
                payer=s.payer,
                started_at=datetime.fromtimestamp(s.started_at, UTC),
                seconds=max(0, min(now, s.served_until) - s.started_at),
                amount=Amount(assets[s.asset], s.amount),
            )
        )
    return sorted(meters, key=lambda meter: meter.started_at)


async def load_overview(
    client: ProviderClient,
    key: Any,
    store: Store,
    *,
    rpc_url: str,
    chain_id: int,
    vault_address: str,
    start_block: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> VendorOverview:
    """Everything the Vendor page shows: the provider's view (signed requests) and the chain's (events)."""
    from paygo_desktop.chain.event_sync import VaultEventSync
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.vault import VaultClient
    from paygo_desktop.store.vault_events import VaultEventIndex

    say = on_progress or (lambda _text: None)
    say("Asking the provider who it is…")
    info = await client.provider_info()
    _check_provider(info, key.address, chain_id, vault_address)
    assets = provider_assets(info)
    say("Reading your services, sessions and earnings (signed requests)…")
    services = await client.my_services(key)
    sessions = await client.vendor_sessions(key)
    earnings = await client.earnings(key, bucket="day")

    say("Reading the vault's payouts from the chain…")
    provider = to_checksum_address(info.pay_to)
    w3 = async_web3(rpc_url)
    try:
        index = VaultEventIndex(store)
        sync = VaultEventSync(VaultClient(w3, vault_address), index, chain_id, start_block=start_block)
        report = await asyncio.wait_for(sync.sync(), timeout=600)
        paid_by_day = await _paid_out_by_day(w3, store, chain_id, provider, assets)
    finally:
        await w3.provider.disconnect()
    by_token = paid_out_by_token(store, chain_id, provider)
    earned_by_symbol = {t.asset: t.amount for t in earnings.totals}
    rows = []
    for symbol, asset in assets.items():
        earned = earned_by_symbol.get(symbol, 0)
        paid = by_token.get(token_key(asset), 0)
        if earned or paid:
            rows.append(AssetEarnings(asset, Amount(asset, earned), Amount(asset, paid)))

    days = _days(earnings.buckets, assets, paid_by_day)

    names = {s.id: s.name for s in services.items}
    service_rows = _service_rows(services.items, sessions.items, assets, names)
    return VendorOverview(
        provider_name=info.name,
        provider_address=provider,
        chain_id=chain_id,
        assets=rows,
        days=days,
        services=service_rows,
        live=live_meters(sessions.items, names, assets, int(datetime.now(UTC).timestamp())),
        synced_to_block=report.to_block,
    )


def _check_provider(info: m.ProviderInfo, address: str, chain_id: int, vault_address: str) -> None:
    """The provider is the one ``address`` signs for, on this chain, through this vault; else VendorError."""
    if info.signing_key != address:
        raise VendorError(
            f"{address} is not this provider's key: {info.name} signs with {info.signing_key}. "
            "Import that key into your wallet (Settings → Import another key) to manage this provider."
        )
    network = next((n for n in info.networks if n.chain_id == chain_id), None)
    if network is None:
        raise VendorError(f"{info.name} does not take payments on this network (chain id {chain_id}).")
    if network.vault.lower() != vault_address.lower():
        raise VendorError(
            f"{info.name} uses the vault {network.vault}, but this network's vault is {vault_address}."
        )


def _days(
    buckets: list[m.EarningsBucket], assets: dict[str, Asset], paid_by_day: dict[tuple[int, str], int]
) -> list[DayEarnings]:
    """Each day: what was earned (the provider's buckets) beside what the chain paid out that day."""
    days = []
    seen: set[tuple[int, str]] = set()
    for b in buckets:
        if b.asset not in assets:
            continue
        seen.add((b.start, b.asset))
        paid = paid_by_day.get((b.start, b.asset), 0)
        days.append(
            DayEarnings(
                datetime.fromtimestamp(b.start, UTC),
                assets[b.asset],
                Amount(assets[b.asset], b.amount),
                b.sessions,
                Amount(assets[b.asset], paid),
            )
        )
    for (start, symbol), paid in paid_by_day.items():  # paid out on a day no session started
        if (start, symbol) not in seen:
            asset = assets[symbol]
            days.append(
                DayEarnings(
                    datetime.fromtimestamp(start, UTC), asset, Amount.zero(asset), 0, Amount(asset, paid)
                )
            )
    days.sort(key=lambda d: (d.day, d.asset.symbol))
    return days


def _service_rows(
    services: list[m.Service], sessions: list[m.SessionInfo], assets: dict[str, Asset], names: dict[str, str]
) -> list[ServiceEarnings]:
    """Per service: earned, sessions, live now; services nobody has used yet too."""
    per_service: dict[tuple[str, str], list[int]] = {}
    for s in sessions:
        acc = per_service.setdefault((s.service_id, s.asset), [0, 0, 0])
        acc[0] += s.amount
        acc[1] += 1
        acc[2] += s.status.value == "live"
    service_rows = [
        ServiceEarnings(sid, names.get(sid, sid), assets[symbol], Amount(assets[symbol], v[0]), v[1], v[2])
        for (sid, symbol), v in per_service.items()
        if symbol in assets
    ]
    for service in services:  # services nobody has used yet are listed too
        if not any(r.service_id == service.id for r in service_rows) and service.rate.asset in assets:
            asset = assets[service.rate.asset]
            service_rows.append(ServiceEarnings(service.id, service.name, asset, Amount.zero(asset), 0, 0))
    service_rows.sort(key=lambda r: (not r.earned, r.asset.symbol, -r.earned.units, r.name))
    return service_rows


async def _paid_out_by_day(
    w3: AsyncWeb3, store: Store, chain_id: int, provider: str, assets: dict[str, Asset]
) -> dict[tuple[int, str], int]:
    """Payouts per UTC day (the provider's day buckets) and asset; a block's time is read from the chain."""
    by_block = paid_out_by_block(store, chain_id, provider)
    symbols = {token_key(a): s for s, a in assets.items()}
    stamps: dict[int, int] = {}
    for block in sorted({b for b, _, _ in by_block}):
        stamps[block] = int((await w3.eth.get_block(block))["timestamp"])
    days: dict[tuple[int, str], int] = {}
    for block, token, units in by_block:
        symbol = symbols.get(token)
        if symbol is None:
            continue
        day = stamps[block] - stamps[block] % 86_400
        days[(day, symbol)] = days.get((day, symbol), 0) + units
    return days


@dataclass(frozen=True)
class EarningsDay:
    """One UTC day of one asset on the Vendor chart."""

    day: datetime  # the day's start, UTC
    earned: Amount  # vouchers accepted in sessions that started that day
    claimed: Amount  # paid out on-chain that day (claims and cooperative closes)
    pending: Amount  # at the end of the day: earned so far minus claimed so far (never below zero)


DAY = timedelta(days=1)


def earnings_by_day(
    overview: VendorOverview, asset: Asset, today: datetime | None = None
) -> list[EarningsDay]:
    """Every UTC day from the first with earnings or payouts in ``asset`` to today, gaps filled with zeros.

    Pending is a running balance, exact from the two series: what the provider had earned by the end of
    the day and not yet claimed. Other assets are never added in.
    """
    rows = [d for d in overview.days if d.asset == asset]
    if not rows:
        return []
    earned: dict[datetime, int] = {}
    claimed: dict[datetime, int] = {}
    for d in rows:
        earned[d.day] = earned.get(d.day, 0) + d.earned.units
        claimed[d.day] = claimed.get(d.day, 0) + d.paid_out.units
    now = today or overview.loaded_at
    last = max(max(earned), datetime(now.year, now.month, now.day, tzinfo=UTC))
    day = min(earned)
    out: list[EarningsDay] = []
    earned_so_far = claimed_so_far = 0
    while day <= last:
        earned_so_far += earned.get(day, 0)
        claimed_so_far += claimed.get(day, 0)
        out.append(
            EarningsDay(
                day,
                Amount(asset, earned.get(day, 0)),
                Amount(asset, claimed.get(day, 0)),
                Amount(asset, max(earned_so_far - claimed_so_far, 0)),
            )
        )
        day += DAY
    return out


def overview_csv(overview: VendorOverview) -> str:
    """The earnings as CSV: one line per day and asset, then the totals per asset. Exact decimals."""

    def num(amount: Amount) -> str:
        return amount.format(symbol=False, grouping=False)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["provider", overview.provider_name, overview.provider_address, f"chain {overview.chain_id}"]
    )
    writer.writerow([])
    writer.writerow(["day (UTC)", "asset", "earned", "sessions started", "claimed on-chain"])
    for d in overview.days:
        writer.writerow(
            [d.day.strftime("%Y-%m-%d"), d.asset.symbol, num(d.earned), d.sessions, num(d.paid_out)]
        )
    writer.writerow([])
    writer.writerow(["asset", "earned", "claimed on-chain", "pending"])
    for a in overview.assets:
        writer.writerow([a.asset.symbol, num(a.earned), num(a.paid_out), num(a.pending)])
    writer.writerow([])
    writer.writerow(["service", "asset", "earned", "sessions", "live now"])
    for s in overview.services:
        writer.writerow([s.name, s.asset.symbol, num(s.earned), s.sessions, s.live])
    return out.getvalue()
