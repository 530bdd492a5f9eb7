"""The provider's reads of sessions and channels: one session, the sessions (all, or a payer's), a channel's
recovery data, and what the gateway asks (a live session's access by its token, which sessions ended, the
upstream of a service). ``ProviderCore`` mixes them in; a read that finds a session late expires it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.auth import AuthMessage
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import GatewayService, ProviderConfig
from paygo_desktop.provider.proofs import same_token
from paygo_desktop.provider.row_models import session_info, state_out
from paygo_desktop.provider.service_upstreams import gateway_service
from paygo_desktop.provider.store import ChannelRow, ServiceRow, SessionRow, Store, channel_of

if TYPE_CHECKING:
    from paygo_desktop.chain.vault import ChannelState
    from paygo_desktop.chain.vouchers import Channel


@dataclass(frozen=True)
class SessionMeta:
    """What never changes about a session: its channel (``ProviderCore`` caches it by session id)."""

    channel: Channel
    channel_id: bytes
    channel_hex: str


class ZcashAccess(Protocol):
    """What the gateway asks about Zcash sessions (provider.zcash_permissions.ZcashPermissions answers)."""

    def owns(self, session_id: str) -> bool: ...

    def live_access(self, session_id: str, token: str | None) -> tuple[str, float]: ...

    def ended(self, session_ids: Collection[str]) -> set[str]: ...


class SessionReads:
    """The reads of ``ProviderCore`` (what they use of the core is declared here)."""

    if TYPE_CHECKING:
        config: ProviderConfig
        store: Store
        zcash_access: ZcashAccess | None

        def _session_meta(self, session_id: str) -> SessionMeta: ...

        def _load(self, db: Any, session_id: str) -> tuple[SessionRow, ChannelRow]: ...

        def _expire_if_late(self, row: SessionRow, ch: ChannelRow | None, now: float) -> bool: ...

        def expiry_now(self) -> float: ...

        def expire_late_sessions(self) -> int: ...

        def _prove_party(self, channel: Channel, msg: AuthMessage) -> None: ...

        async def channel_state(self, channel_id: bytes, *, latest: bool = False) -> ChannelState: ...

    def session(self, session_id: str) -> m.SessionInfo:
        meta = self._session_meta(session_id)
        with self.store.tx() as db:
            self.store.lock(db, meta.channel_hex)
            row, ch = self._load(db, session_id)
            self._expire_if_late(row, ch, self.expiry_now())
            return session_info(row)

    def gateway_service(self, service_id: str) -> GatewayService | None:
        """The upstream the gateway takes ``service_id`` from: the config's, else the vendor's (checked
        again against ``upstream_hosts``; provider.service_upstreams); None: nothing to deliver."""
        if service_id in self.config.services:
            return self.config.services[service_id]
        with self.store.tx() as db:
            return gateway_service(self.config, db.get(ServiceRow, service_id), service_id)

    def live_access(self, session_id: str, token: str | None) -> tuple[str, float]:
        """The service id and ``served_until`` of a live session whose access token is ``token``: 401 for a
        missing or wrong token (another session's included), 410 once the session stopped, expired or ran
        out of vouchers (expired here if it is late). A Zcash session is answered by ``zcash_access``."""
        zcash = self.zcash_access
        if zcash is not None and zcash.owns(session_id):
            return zcash.live_access(session_id, token)
        with self.store.tx() as db:
            row = db.get(SessionRow, session_id)
            if row is None or not same_token(row.access_token, token):
                raise ApiError(401, "bad_access_token", "missing or wrong access token")
            self.store.lock(db, row.channel_id)
            db.refresh(row)
            ch = db.get(ChannelRow, row.channel_id)
            self._expire_if_late(row, ch, self.expiry_now())
            if row.status != m.SessionStatus.live.value:
                raise ApiError(410, "access_revoked", f"the session is {row.status}")
            return row.service_id, row.served_until

    def ended_sessions(self, session_ids: Collection[str]) -> set[str]:
        """Those of ``session_ids`` that no longer give access: not live, late past their grace, or gone.
        Read from the database (every worker sees every stop), without writing: the sweep expires."""
        zcash = self.zcash_access
        ids = list(session_ids)
        ended: set[str] = set()
        if zcash is not None and any(zcash.owns(i) for i in ids):
            ended = zcash.ended([i for i in ids if zcash.owns(i)])
            ids = [i for i in ids if not zcash.owns(i)]
        now = self.expiry_now()
        live: set[str] = set()
        with self.store.tx() as db:
            for i in range(0, len(ids), 500):
                rows = db.execute(
                    select(
                        SessionRow.id, SessionRow.status, SessionRow.served_until, SessionRow.grace_seconds
                    ).where(SessionRow.id.in_(ids[i : i + 500]))
                ).all()
                live.update(
                    r.id
                    for r in rows
                    if r.status == m.SessionStatus.live.value and now <= r.served_until + r.grace_seconds
                )
        return ended | (set(ids) - live)

    def content(self, session_id: str, token: str | None) -> m.ContentResponse:
        service_id, served_until = self.live_access(session_id, token)
        return m.ContentResponse(
            session_id=session_id,
            served_until=int(served_until),
            payload=f"demo content for {service_id}",
        )

    async def channel_info(self, channel_id: str, wallet: AuthMessage | None = None) -> m.ChannelInfo:
        """What the provider holds for a channel (recovery data). The last voucher's signature and the live
        session's id only for a request signed by the channel's payer or signer (``wallet``; 403 for anybody
        else's): they are what starts, stops or takes over a session."""
        with self.store.tx() as db:
            ch = db.get(ChannelRow, channel_id)
            if ch is None:
                raise ApiError(404, "unknown_channel", "this provider has no voucher for that channel")
            channel = channel_of(ch)
            cumulative, signature, seq = int(ch.last_cumulative), ch.last_signature, ch.last_seq
            live = ch.live_session_id
        proven = wallet is not None
        if wallet is not None:
            self._prove_party(channel, wallet)
        last = (
            m.LastVoucher(cumulative_amount=cumulative, signature=signature if proven else None, seq=seq)
            if signature
            else None
        )
        cid = bytes.fromhex(channel_id[2:])
        st = await self.channel_state(cid, latest=True)
        return m.ChannelInfo(
            channel_id=channel_id,
            last_voucher=last,
            claimed=st.claimed,
            live_session_id=live if proven else None,
            state=state_out(cid, st),
        )

    def sessions(self, *, payer: str | None = None, limit: int = 200) -> m.SessionList:
        self.expire_late_sessions()
        with self.store.tx() as db:
            query = select(SessionRow).order_by(SessionRow.started_at.desc()).limit(limit)
            if payer is not None:
                query = query.where(SessionRow.payer == payer)
            return m.SessionList(items=[session_info(r) for r in db.scalars(query)])
