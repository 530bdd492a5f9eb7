"""The Home page's figures: balances at a glance, a 30-day spending sparkline, Zcash permissions.

Balances are read where they are true: the wallet's coins and tokens and each escrow channel's available
funds from the chain (web3, imported when a balance is first read), Zcash permissions from the store. The
escrow channels of an account are the ones its sessions used and the ones the synced vault events show it
funding; the Escrow page's own core, when merged, may replace this small reader.

Anyone may fund a channel that names this account as its payer, also with another key as its signer (a
look-alike: that key's holder can take all that is in it at any moment). So a channel known only from the
vault's events is counted as the account's escrow only once its terms, read back from its first funding
transaction (``chain.app_channels.funding_terms``), show that the payer signs its vouchers; the others are
left out and the line says how many.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import text

from paygo_desktop.errors import UserFacingError
from paygo_desktop.logs import public_hex
from paygo_desktop.money import ZEC, Amount, Asset
from paygo_desktop.reports.periods import Bucket, Period, buckets, local_midnight
from paygo_desktop.reports.recent_activity import RecentLine, recent_activity
from paygo_desktop.reports.spending_report import SpendingAsset, SpendingReport, db_time, from_db_time
from paygo_desktop.store.accounts import AccountRecord, AccountRepository
from paygo_desktop.store.database import Store

log = logging.getLogger(__name__)
SPARKLINE_DAYS = 30
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Balance:
    where: str  # "Wallet" | "Escrow"
    amount: Amount
    detail: str = ""  # e.g. "3 channels"
    fiat: str = ""  # its value in the display currency ("≈ $1.50", "—"): prices.board
    fiat_note: str = ""  # the price used and its time, or why there is none


@dataclass(frozen=True)
class Sparkline:
    asset: SpendingAsset
    days: list[Amount]  # oldest first, today last
    total: Amount


def sparklines(report: SpendingReport, now: datetime, zone: tzinfo | None = None) -> list[Sparkline]:
    """Daily spending over the last 30 days, one line per asset spent in that time."""
    today = now.astimezone(zone).date() if zone is not None else now.astimezone().date()
    period = Period(
        local_midnight(today - timedelta(days=SPARKLINE_DAYS - 1), zone),
        local_midnight(today + timedelta(days=1), zone),
    )
    spans = buckets(period, Bucket.day, zone)
    lines = []
    for asset in report.assets():
        if asset.last < period.start:
            continue
        series = report.series(asset, spans)
        total = series[-1].cumulative if series else Amount.zero(asset.asset)
        if total:
            lines.append(Sparkline(asset, [b.amount for b in series], total))
    return lines


@dataclass(frozen=True)
class ZcashSummary:
    active: int
    remaining: Amount  # bought and not yet used, over the active permissions
    next_expiry: datetime | None  # UTC
    next_expiry_provider: str | None


def zcash_summary(store: Store, now: datetime) -> ZcashSummary:
    """Active permissions, what is left on them (as the provider counted), and the next one to expire."""
    params = {"now": db_time(now)}
    with store.engine.connect() as conn:
        count, remaining = conn.execute(
            text(
                "SELECT COUNT(*), SUM(MAX(amount_zat - deducted_zat, 0)) FROM zcash_permissions "
                "WHERE status = 'active' AND expires_at > :now"
            ),
            params,
        ).one()
        nxt = conn.execute(
            text(
                "SELECT expires_at, provider_name FROM zcash_permissions "
                "WHERE status IN ('active', 'pending_payment') AND expires_at > :now "
                "ORDER BY expires_at LIMIT 1"
            ),
            params,
        ).first()
    return ZcashSummary(
        active=int(count or 0),
        remaining=Amount(ZEC, int(remaining or 0)),
        next_expiry=from_db_time(nxt[0]) if nxt else None,
        next_expiry_provider=nxt[1] if nxt else None,
    )


@dataclass(frozen=True)
class HomeFigures:
    """What Home shows from this computer's records, read together in the background (``read_home``)."""

    accounts: list[AccountRecord]
    recent: list[RecentLine]
    sparklines: list[Sparkline]
    zcash: ZcashSummary


def read_home(
    store: Store, report: SpendingReport, network: str, chain_id: int, now: datetime, recent: int
) -> HomeFigures:
    """Home's records: the accounts, the ``recent`` newest lines of what happened on ``network``, 30 days
    of spending and the Zcash permissions. SQL only: run it off the GUI thread."""
    return HomeFigures(
        accounts=AccountRepository(store).list(),
        recent=recent_activity(store, network, chain_id, recent),
        sparklines=sparklines(report, now),
        zcash=zcash_summary(store, now),
    )


BALANCES_TIMEOUT = 20.0  # seconds


@dataclass(frozen=True)
class EscrowChannels:
    """The account's escrow channels on a network: each with its asset; ``to_check`` holds the first
    funding transaction of each one known only from the vault's events, whose terms are read before it
    is counted (one the app's sessions used is the app's own)."""

    assets: dict[str, Asset]
    to_check: dict[str, str]


def escrow_channels(
    store: Store, account: str, network: str, chain_id: int, assets: list[Asset]
) -> EscrowChannels:
    """The escrow channels ``account`` paid from on this network, with their asset."""
    by_token = {(a.address or ZERO_ADDRESS).lower(): a for a in assets}
    found: dict[str, Asset] = {}
    to_check: dict[str, str] = {}
    with store.engine.connect() as conn:
        for channel_id, symbol, address, decimals in conn.execute(
            text(
                "SELECT DISTINCT channel_id, asset_symbol, asset_address, decimals FROM sessions "
                "WHERE lower(account) = lower(:account) AND network = :network AND funding = 'escrow' "
                "AND channel_id IS NOT NULL"
            ),
            {"account": account, "network": network},
        ):
            found[channel_id.lower()] = Asset(symbol, int(decimals), address)
        for channel_id, token, tx_hash in conn.execute(
            text(
                "SELECT channel_id, lower(json_extract(data, '$.token')), tx_hash FROM vault_events "
                "WHERE chain_id = :chain AND name = 'Funded' AND lower(payer) = lower(:account) "
                "ORDER BY block_number, log_index"
            ),
            {"chain": chain_id, "account": account},
        ):
            key = channel_id.lower()
            if token in by_token and key not in found:
                found[key] = by_token[token]
                to_check[key] = tx_hash
    return EscrowChannels(found, to_check)


# channel (chain id, vault, id) -> whether its payer signs its vouchers (None: terms not readable). Terms
# checked against the channel id never change, so what was read once stays true.
_PAYER_SIGNS: dict[tuple[int, str, str], bool | None] = {}


async def _payer_signs(vault: Any, chain_id: int, channel_id: str, tx_hash: str) -> bool | None:
    from paygo_desktop.chain.app_channels import funding_terms, payer_signs

    key = (chain_id, vault.address, channel_id)
    if key not in _PAYER_SIGNS:
        try:
            terms = await funding_terms(vault, channel_id, tx_hash)
        except Exception as exc:  # not kept: read again next time
            log.info(
                "terms of channel %s not read from %s: %r", public_hex(channel_id), public_hex(tx_hash), exc
            )
            return None
        _PAYER_SIGNS[key] = None if terms is None else payer_signs(terms)
    return _PAYER_SIGNS[key]


async def chain_balances(
    *,
    rpc_url: str,
    account: str,
    native: Asset,
    tokens: list[Asset],
    vault_address: str | None,
    channels: dict[str, Asset],
    to_check: dict[str, str] | None = None,
    chain_id: int = 0,
) -> list[Balance]:
    """The account's coins and tokens, and the funds its escrow channels still hold, read from the chain.
    A channel in ``to_check`` (its first funding transaction) counts only when its payer signs it."""
    import asyncio
    import importlib

    # web3 and the chain layer load in a worker thread: imported here, on the event loop (the GUI thread),
    # they froze the window for 0.5–1 s on the Home page's first load
    await asyncio.to_thread(importlib.import_module, "paygo_desktop.chain.rpc")
    await asyncio.to_thread(importlib.import_module, "paygo_desktop.chain.vault")
    await asyncio.to_thread(importlib.import_module, "paygo_desktop.escrow.channels")
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.vault import ERC20_MIN_ABI, VaultClient

    w3 = async_web3(rpc_url, timeout=10)
    owner = to_checksum_address(account)
    try:
        found = [Balance("Wallet", Amount(native, int(await w3.eth.get_balance(owner))))]
        for token in tokens:
            assert token.address is not None
            contract = w3.eth.contract(address=to_checksum_address(token.address), abi=ERC20_MIN_ABI)
            try:
                units = int(await contract.functions.balanceOf(owner).call())
            except Exception as exc:  # a listed token with no contract on this chain: left out, not fatal
                log.info("%s balance not read at %s: %r", token.symbol, token.address, exc)
                continue
            found.append(Balance("Wallet", Amount(token, units)))
        if vault_address and channels:
            vault = VaultClient(w3, vault_address)
            totals: dict[Asset, list[int]] = {}  # units, channels counted, channels left out
            for channel_id, asset in channels.items():
                acc = totals.setdefault(asset, [0, 0, 0])
                tx_hash = (to_check or {}).get(channel_id)
                if tx_hash is not None and not await _payer_signs(vault, chain_id, channel_id, tx_hash):
                    acc[2] += 1  # another key signs it (or its terms are unknown): not the account's to spend
                    continue
                state = await vault.channel_state(bytes.fromhex(channel_id.removeprefix("0x")))
                acc[0] += state.available
                acc[1] += 1
            for asset, (units, count, left_out) in totals.items():
                found.append(Balance("Escrow", Amount(asset, units), escrow_detail(count, left_out)))
        return found
    finally:
        await w3.provider.disconnect()


def escrow_detail(counted: int, left_out: int) -> str:
    """“2 channels”, and the channels in the account's name it does not count, and why."""
    text = f"{counted} channel{'' if counted == 1 else 's'}"
    if left_out:
        text += f"; {left_out} more in your name not counted (another signer or unknown terms: see Escrow)"
    return text


async def load_balances(ctx: Any) -> list[Balance]:
    """The active account's balances on the current network, read on the app's event loop (like every
    other chain read: web3's HTTP sessions belong to one loop) and given up after ``BALANCES_TIMEOUT``; what
    to read (the tokens, the channels, the vault) comes from the store in a worker thread."""
    import asyncio

    account = ctx.settings.active_account
    if not account:
        return []
    network = ctx.network

    def what_to_read() -> tuple[list[Asset], EscrowChannels, str]:  # the store and the sandbox's state file
        tokens = list(ctx.known_tokens(network))
        assets = [network.native, *tokens]
        channels = escrow_channels(ctx.store, account, network.key, network.chain_id, assets)
        return tokens, channels, ctx.vault_address(network)

    tokens, channels, vault_address = await asyncio.to_thread(what_to_read)
    reading = chain_balances(
        rpc_url=network.rpc_url,
        account=account,
        native=network.native,
        tokens=tokens,
        vault_address=vault_address,
        channels=channels.assets,
        to_check=channels.to_check,
        chain_id=network.chain_id,
    )
    try:
        balances = await asyncio.wait_for(reading, BALANCES_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UserFacingError(f"{network.name} does not answer at {network.rpc_url}.") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("aiohttp"):  # the node's address refuses connections
            raise UserFacingError(f"{network.name} does not answer at {network.rpc_url}.") from exc
        raise
    return await with_fiat(ctx, balances, network)


def values_note(network: Any) -> str:
    """Where the Value column's figures come from, in words (the display currency is chosen in Settings)."""
    from paygo_desktop.token_list import BASE_CHAIN_ID

    if network.chain_id == BASE_CHAIN_ID:
        return "Values: Chainlink's price feeds on Base."
    if network.is_local:
        return "Values: the sandbox's own price feeds (made-up prices: test money is worth nothing)."
    return "No price feeds on this network: no values are shown."


async def with_fiat(ctx: Any, balances: list[Balance], network: Any) -> list[Balance]:
    """Each balance with its value in the display currency beside it (``prices.board``); "—" for all when
    the prices cannot be read (the balances are shown anyway)."""
    from dataclasses import replace

    try:
        board = await ctx.fiat_board([b.amount.asset for b in balances], network)
    except Exception as exc:
        log.info("prices not read on %s: %r", network.name, exc)
        return [replace(b, fiat="—", fiat_note="The prices could not be read.") for b in balances]
    return [replace(b, fiat=board.text(b.amount), fiat_note=board.note(b.amount.asset)) for b in balances]
