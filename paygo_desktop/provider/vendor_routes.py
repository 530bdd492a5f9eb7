"""The vendor's routes: all sessions, earnings per time bucket, Claim now, and the claimable vouchers for a
claim sent from the vendor's own wallet (docs/provider-api.md)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import FastAPI, Query, Request
from sqlalchemy import select

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.claimer import Claimer
from paygo_desktop.provider.core import Clock, ProviderCore
from paygo_desktop.provider.fee_ceiling import API_CODE as FEE_ABOVE_CEILING
from paygo_desktop.provider.fee_ceiling import FeeAboveCeiling
from paygo_desktop.provider.request_auth import VendorAuth
from paygo_desktop.provider.row_models import session_info
from paygo_desktop.provider.store import SessionRow, Store

log = logging.getLogger(__name__)

MAX_CLAIMABLE = 100  # vouchers per answer of the vendor's voucher route (the largest first)


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


def register(app: FastAPI, core: ProviderCore, store: Store, clock: Clock) -> None:
    """Add the vendor's routes to ``app``."""

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
        except FeeAboveCeiling as exc:  # nothing was sent
            raise ApiError(503, FEE_ABOVE_CEILING, str(exc)) from None
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
