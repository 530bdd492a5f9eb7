"""Past sessions valued in the display currency on a real anvil: each cost at the price in force when the
session ended (the feed's own rounds, moved between sessions), "—" (no value, the reason in the CSV) when
the feed was stale then or there is none, and the sessions' CSV read back with the value, the price used
and its time."""

from __future__ import annotations

import csv
import io
import os
import socket
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from paygo_desktop.cli import main
from paygo_desktop.context import AppContext
from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Asset
from paygo_desktop.paths import DataDir
from paygo_desktop.prices.feeds import currency
from paygo_desktop.prices.history import PriceHistory
from paygo_desktop.sandbox.state import SandboxState, write_state
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.history_csv import export_csv
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding, SessionTerms
from paygo_desktop.sessions.values import session_prices
from paygo_desktop.store.database import Store
from paygo_desktop.store.feed_readings import FeedReadings
from tests.chain.conftest import Env
from tests.money.conftest import book, deploy_feed, feed_contract, price_answer


def _session(history: SessionHistory, local_id: str, asset: Asset, cost: int, ended: int) -> None:
    terms = SessionTerms(
        account="0x" + "1" * 40, network="local", provider_url="http://127.0.0.1:1",
        provider_name="Test provider", provider_address=None, service_id="svc", service_name="Radio",
        category="data", service_type="data", asset=asset, price=Price(1000, "per_second"),
        tick_seconds=1, grace_seconds=3, cap=10**30, funding=Funding.ESCROW, chain_id=31337,
    )  # fmt: skip
    at = datetime.fromtimestamp(ended, UTC)
    history.create(local_id, terms, datetime.fromtimestamp(ended - 60, UTC))
    history.update(local_id, cost=cost, seconds=60, status=SessionStatus.STOPPED, ended_at=at)


def test_each_session_is_valued_when_it_ended_and_a_stale_feed_gives_no_value(env: Env, store: Store) -> None:
    usdc = Asset("USDC", 6, env.usdc)
    dai = Asset("DAI", 18, "0x" + "d" * 40)  # no feed for it
    feed = deploy_feed(env, "USDC / USD", "1.00", heartbeat=3600)
    contract = feed_contract(env, feed)
    start = env.chain_time()
    env.transact(contract.functions.setRound(price_answer("0.98"), start - 20_000))  # stale long before
    env.transact(contract.functions.setRound(price_answer("0.995"), start - 10_000))
    env.transact(contract.functions.setRound(price_answer("1.0025"), start - 100))
    history = SessionHistory(store)
    _session(history, "then", usdc, 12_345_678, start - 9_000)  # 0.995 in force, 1000 s old: fresh
    _session(history, "now", usdc, 2_500_000, start - 50)  # 1.0025
    _session(history, "stale", usdc, 1_000_000, start - 12_000)  # 0.98 in force but 8,000 s old: stale
    _session(history, "dai", dai, 10**18, start - 50)
    records = history.find()

    prices = env.run(
        session_prices(
            records,
            PriceHistory(env.w3, FeedReadings(store), 31337, book({env.usdc.lower(): feed}), currency("USD")),
        )
    )
    assert prices["stale"] is None and prices["dai"] is None
    then, now = prices["then"], prices["now"]
    assert then is not None and now is not None
    assert then.price_text() == "0.995" and then.as_of == start - 10_000
    assert now.price_text() == "1.0025"

    out = io.StringIO(newline="")
    assert export_csv(records, out, prices=prices, currency=currency("USD")) == 4
    rows = {r["local_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue(), newline=""))}
    # 12.345678 USDC × 0.995 = 12.28394961 → 12.28; 2.5 × 1.0025 = 2.50625 → 2.51
    assert rows["then"]["cost"] == "12.345678" and rows["then"]["fiat_value"] == "12.28"
    assert rows["then"]["price_per_unit"] == "0.995" and rows["then"]["fiat_currency"] == "USD"
    assert rows["then"]["price_time_utc"] == then.as_of_text and feed.address in rows["then"]["price_source"]
    assert Decimal(rows["now"]["fiat_value"]) == Decimal("2.51")
    for missing in ("stale", "dai"):
        assert rows[missing]["fiat_value"] == "" and rows[missing]["price_per_unit"] == ""
        assert "no fresh price" in rows[missing]["fiat_note"]
    assert rows["stale"]["cost"] == "1"  # the amount is always there, the value only beside it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sandbox_data_dir(env: Env, tmp_path: Path, rpc_url: str, usdc_feed: str, paid_at: int) -> DataDir:
    """A data directory on the Sandbox network whose state file (as ``paygo-desktop sandbox`` writes it)
    names this anvil (at ``rpc_url``), its USDC and a USDC / USD feed, with one session that cost
    12.345678 USDC and ended at ``paid_at``."""
    data = DataDir(tmp_path / rpc_url.rsplit(":", 1)[1]).ensure()
    data.sandbox_dir.mkdir(parents=True, exist_ok=True)
    write_state(
        data.sandbox_dir,
        SandboxState(
            rpc_url=rpc_url, provider_url="http://127.0.0.1:9", chain_id=31337, vault=env.vault.address,
            usdc=env.usdc, owner_pid=os.getpid(), node_pid=0, provider_pid=0, started_at=time.time(),
            tokens={"USDC": env.usdc}, feeds={"USDC": usdc_feed},
        ),
    )  # fmt: skip
    ctx = AppContext.open(data)
    try:
        assert ctx.network.key == "sandbox"
        _session(SessionHistory(ctx.store), "paid", Asset("USDC", 6, env.usdc), 12_345_678, paid_at)
    finally:
        ctx.close()
    return data


def test_the_command_lines_csv_carries_each_sessions_value_when_it_ended(env: Env, tmp_path: Path) -> None:
    feed = deploy_feed(env, "USDC / USD", "0.995", heartbeat=3600)
    start = env.chain_time()
    env.transact(feed_contract(env, feed).functions.setRound(price_answer("0.995"), start - 100))
    data = _sandbox_data_dir(env, tmp_path, env.url, feed.address, start - 50)

    out = tmp_path / "sessions.csv"
    assert main(["--data-dir", str(data.root), "session", "list", "--csv", str(out)]) == 0
    row = next(csv.DictReader(io.StringIO(out.read_text("utf-8"), newline="")))
    # 12.345678 USDC × 0.995 = 12.28394961 → 12.28, at the round in force when the session ended
    assert row["cost"] == "12.345678" and row["fiat_value"] == "12.28" and row["fiat_currency"] == "USD"
    assert row["price_per_unit"] == "0.995" and feed.address in row["price_source"]

    # the node gone: the amounts are exported all the same, the value left empty with the reason
    dead = _sandbox_data_dir(env, tmp_path, f"http://127.0.0.1:{free_port()}", feed.address, start - 50)
    assert main(["--data-dir", str(dead.root), "session", "list", "--csv", str(out)]) == 0
    row = next(csv.DictReader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert row["cost"] == "12.345678" and row["fiat_value"] == ""
    assert "none readable" in row["fiat_note"]
