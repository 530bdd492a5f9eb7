"""A session's terms are written once and read back whole: the row keeps them, the record gives the same
``SessionTerms`` back (escrow and Zcash alike), and the status round-trips as the enum."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import ZEC, Asset
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding, SessionTerms
from paygo_desktop.store import Store

USDC = Asset("USDC", 6, "0x" + "cc" * 20)


def terms(**kw: object) -> SessionTerms:
    values: dict[str, object] = dict(
        account="0x" + "11" * 20, network="sandbox", provider_url="http://p.test", provider_name="P",
        provider_address="0x" + "22" * 20, service_id="svc", service_name="Feed", category="data",
        service_type="data", asset=USDC, price=Price(10**30, "per_second"), tick_seconds=5,
        grace_seconds=3, cap=2**100, funding=Funding.ESCROW, chain_id=31337, channel_id="0x" + "ab" * 32,
        channel_base=10**25,
    )  # fmt: skip
    values.update(kw)
    return SessionTerms(**values)  # type: ignore[arg-type]


def test_terms_round_trip_through_the_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "paygo.sqlite3")
    try:
        history = SessionHistory(store)
        escrow = terms()
        zcash = terms(
            asset=ZEC, price=Price(400_000, "per_hour"), funding=Funding.ZCASH, chain_id=None,
            channel_id=None, channel_base=0, permission_id="zp_1", provider_address=None,
        )  # fmt: skip
        for local_id, t in (("e", escrow), ("z", zcash)):
            created = history.create(local_id, t, datetime.now(UTC))
            assert created.terms == t and created.status is SessionStatus.STARTING
            assert created.signed == created.acked == t.channel_base  # vouchers count from the base
            history.update(local_id, status=SessionStatus.RUNNING)
            record = history.get(local_id)
            assert record is not None and record.terms == t and record.status is SessionStatus.RUNNING
            assert record.is_open
        assert [r.local_id for r in history.unfinished()] == ["e", "z"]
    finally:
        store.close()
