"""The provider's database rows as the protocol's models: channel states, catalog entries, sessions."""

from __future__ import annotations

import json

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.provider.service_upstreams import row_upstream
from paygo_desktop.provider.store import ChannelRow, ServiceRow, SessionRow


def state_out(channel_id: bytes, st: ChannelState) -> m.ChannelStateOut:
    return m.ChannelStateOut(
        channel_id="0x" + channel_id.hex(),
        deposited=st.deposited,
        claimed=st.claimed,
        withdrawn=st.withdrawn,
        pending_withdraw=st.pending_withdraw,
        closed=st.closed,
        coverage=st.coverage,
    )


def service_model(row: ServiceRow, vendor: m.VendorInfo, *, upstream: bool = False) -> m.Service:
    """The catalog entry of ``row``; with its upstream only for the vendor's own routes."""
    return m.Service(
        id=row.id,
        name=row.name,
        description=row.description,
        category=row.category,
        type=m.ServiceType(row.type),
        rate=m.Rate(amount=int(row.rate_amount), asset=row.rate_asset, unit=m.RateUnit(row.rate_unit)),
        tick_seconds=row.tick_seconds,
        grace_seconds=row.grace_seconds,
        is_active=row.is_active,
        vendor=vendor,
        upstream=row_upstream(row) if upstream else None,
    )


def session_rate(row: SessionRow) -> m.Rate:
    return m.Rate(amount=int(row.rate_amount), asset=row.asset, unit=m.RateUnit(row.rate_unit))


def session_info(row: SessionRow) -> m.SessionInfo:
    return m.SessionInfo(
        session_id=row.id,
        service_id=row.service_id,
        channel_id=row.channel_id,
        payer=row.payer,
        status=m.SessionStatus(row.status),
        started_at=int(row.started_at),
        ended_at=None if row.ended_at is None else int(row.ended_at),
        served_until=int(row.served_until),
        start_cumulative=int(row.start_cumulative),
        cumulative_amount=int(row.cumulative),
        amount=int(row.cumulative) - int(row.start_cumulative),
        seq=row.seq,
        asset=row.asset,
    )


def receipt_from_json(text: str) -> m.Receipt:
    return m.Receipt.model_validate(json.loads(text))


def channel_row(channel: Channel) -> ChannelRow:
    """A new channel's row: its terms, nothing held or claimed yet."""
    return ChannelRow(
        id="0x" + channel.id.hex(),
        payer=channel.payer,
        signer=channel.signer,
        provider=channel.provider,
        token=channel.token,
        withdraw_delay=channel.withdraw_delay,
        salt="0x" + channel.salt.hex(),
        last_cumulative="0",
        claimed_cumulative="0",
        last_seq=0,
    )
