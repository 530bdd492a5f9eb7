"""Who may end what: an outsider who knows a payer's Zcash address reads the public wallet lookup and the
public GETs, and tries to end the payer's session and revoke its permission with what they reveal (and
with a token of their own). The real provider over loopback, ledger mode, raw HTTP for the outsider."""

from __future__ import annotations

import httpx

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import ProviderClient
from tests.zcash.provider_fixture import (  # noqa: F401 - the fixture
    MIN_CONF,
    SERVICE,
    USER_T,
    USER_Z,
    ZcashProvider,
    zcash_provider,
)

AMOUNT, RATE = 1_000_000, 400_000


async def test_an_outsider_who_knows_the_payers_address_can_end_nothing(
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    url = zcash_provider.url
    async with ProviderClient(url) as payer:
        p = await payer.create_zcash_permission(USER_Z, AMOUNT, RATE)
        await payer.ledger_pay(p.payment_address, AMOUNT, p.memo)
        await payer.ledger_mine(MIN_CONF)
        await payer.verify_zcash_permission(p.id)
        token = p.token or ""
        session = await payer.start_zcash_session(p.id, SERVICE, token)
        theirs = await payer.create_zcash_permission(USER_T, AMOUNT, RATE)  # the outsider's own, and token

    zcash_provider.clock.advance(600)
    async with httpx.AsyncClient(base_url=url + "/api/v1") as outsider:
        found = (await outsider.get(f"/zcash/permissions/wallet/{USER_Z}")).json()
        assert found["id"] == p.id and found["liveSessionId"] is None
        public = (await outsider.get(f"/zcash/permissions/{p.id}")).json()
        assert public["status"] == "active" and public["liveSessionId"] is None and public["token"] is None
        verified = (await outsider.post(f"/zcash/permissions/{p.id}/verify")).json()
        assert verified["liveSessionId"] is None
        # even knowing the session id, from elsewhere: reading is all it allows
        read = (await outsider.get(f"/sessions/{session.session_id}")).json()
        assert read["status"] == "live" and read["permission"]["liveSessionId"] is None
        for headers in ({}, {"Authorization": f"Bearer {theirs.token}"}, {"Authorization": "Bearer x"}):
            ended = await outsider.post(
                "/sessions/end", json={"sessionId": session.session_id}, headers=headers
            )
            assert (ended.status_code, ended.json().get("code")) == (401, "bad_permission_token")
            revoked = await outsider.post(f"/zcash/permissions/{p.id}/revoke", headers=headers)
            assert (revoked.status_code, revoked.json().get("code")) == (401, "bad_permission_token")

    async with ProviderClient(url) as payer:
        assert (await payer.get_zcash_session(session.session_id)).status is zm.ZcashSessionStatus.live
        own = await payer.get_zcash_permission(p.id, token)  # the token's holder sees its live session
        assert own.live_session_id == session.session_id and own.used_seconds == 600
        done = await payer.end_zcash_session(session.session_id, token)
        assert done.status is zm.ZcashSessionStatus.ended and done.seconds == 600
        assert done.amount_zat == RATE * 600 // 3600
