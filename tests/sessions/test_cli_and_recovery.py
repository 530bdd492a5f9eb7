"""The headless command and crash recovery, in real processes on real clocks: `paygo-desktop session start`
runs in a child process against anvil and the reference provider; it is SIGKILLed mid-session, and a fresh
engine on the same data directory reconciles what it left behind."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.cli import main
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.engine import SessionEngine
from paygo_desktop.sessions.history import HistoryFilter, SessionHistory
from paygo_desktop.sessions.history_csv import export_csv
from paygo_desktop.sessions.plan import StartOptions
from paygo_desktop.wallet import KdfParams, Wallet
from tests.sessions.conftest import (
    PASSWORD,
    Env,
    Provider,
    WallClock,
    anvil_network,
    run,
    run_provider,
    until,
)

REPO = Path(__file__).resolve().parents[2]
RATE = 1000  # base units of USDC per second
TICK, GRACE = 1, 30  # a long grace: the provider still has the session live when recovery runs


@pytest.fixture
def cli_world(env: Env, tmp_path: Path) -> Iterator[tuple[DataDir, Provider, m.Service]]:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer")
    network = anvil_network(env)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    with run_provider(env, tmp_path, clock=WallClock()) as provider:

        async def add() -> m.Service:
            async with ProviderClient(provider.url) as client:
                fields = m.ServiceFields(
                    name="Per-second test feed",
                    category="data",
                    type=m.ServiceType.data,
                    rate=m.Rate(amount=RATE, asset="USDC", unit=m.RateUnit.per_second),
                    tick_seconds=TICK,
                    grace_seconds=GRACE,
                )
                return await client.create_service(provider.key, fields)

        yield data, provider, env.run(add())


def _cli(data: DataDir, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )


def _engine(env: Env, ctx: AppContext, wallet: Any) -> SessionEngine:
    network = ctx.network
    return SessionEngine(
        store=ctx.store,
        wallet=wallet,
        account=env.payer.address,
        network=network,
        vault_address=ctx.vault_address(network),
        w3=env.w3,
        max_sleep=0.05,
        claim_poll_seconds=0,
    )


def test_a_short_session_from_the_command_line_prints_json(
    env: Env, cli_world: tuple[DataDir, Provider, m.Service]
) -> None:
    data, provider, service = cli_world
    proc = _cli(data, "start", "--provider", provider.url, "--service", service.id, "--budget", "0.5",
                "--deposit", "1", "--yes", "--seconds", "2")  # fmt: skip
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    deposit = [line["message"] for line in lines if line["event"] == "transaction"]  # the deposit's steps
    assert any(text.startswith("Depositing 1 USDC") for text in deposit)
    lines = [line for line in lines if line["event"] != "transaction"]
    assert lines[0]["event"] == "started" and any(line["event"] == "acked" for line in lines)
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["status"] == "stopped" and summary["receiptOk"] is True
    assert summary["asset"] == "USDC" and int(summary["costUnits"]) == int(
        summary["receipt"]["amount"]
    ) == int(summary["receipt"]["finalCumulative"])
    assert 2 <= summary["seconds"] <= 4 and "Stopped after 2 s as asked." in summary["message"]

    listed = _cli(data, "list", "--provider", provider.url)
    out, err = listed.communicate(timeout=60)
    assert listed.returncode == 0, err
    sessions = json.loads(out)
    assert len(sessions) == 1 and sessions[0]["localId"] == summary["localId"]
    assert sessions[0]["costUnits"] == summary["costUnits"] and sessions[0]["status"] == "stopped"


def test_bad_input_on_the_command_line_is_one_clear_line(
    cli_world: tuple[DataDir, Provider, m.Service], capsys: Any
) -> None:
    data, provider, service = cli_world
    proc = _cli(data, "start", "--provider", provider.url, "--service", service.id, "--budget", "1.0000001")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == ""
    assert err.strip() == "error: USDC has at most 6 decimal places." and "Traceback" not in err
    with pytest.raises(SystemExit) as bad_date:
        main(["--data-dir", str(data.root), "session", "list", "--since", "yesterday"])
    assert bad_date.value.code == 2 and "is not an ISO date" in capsys.readouterr().err
    assert main(["--data-dir", str(data.root), "session", "list", "--status", "stopped"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_sigkill_mid_session_then_recovery_settles_it_and_nothing_is_paid_twice(
    env: Env, cli_world: tuple[DataDir, Provider, m.Service]
) -> None:
    data, provider, service = cli_world
    proc = _cli(data, "start", "--provider", provider.url, "--service", service.id, "--budget", "5",
                "--deposit", "5", "--yes", "--seconds", "600")  # fmt: skip
    acks = 0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if json.loads(line)["event"] == "acked":
                acks += 1
                if acks == 3:
                    break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert acks == 3 and proc.returncode == -signal.SIGKILL

    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts)
    wallet.unlock(PASSWORD)
    try:
        history = SessionHistory(ctx.store)
        [left] = history.unfinished()
        assert left.status == "running" and left.remote_id is not None

        async def scenario() -> None:
            engine = _engine(env, ctx, wallet)
            try:
                [report] = await engine.recover()
                assert report.local_id == left.local_id and report.outcome == "still_running_stopped"
                assert "still running" in report.message and "no second is paid twice" in report.message
                record = history.get(left.local_id)
                assert record is not None and record.status == "recovered" and record.receipt_ok is True
                receipt = m.Receipt.model_validate_json(record.receipt or "")
                assert record.cost == receipt.amount == receipt.final_cumulative - record.terms.channel_base
                assert history.spent(left.local_id) == record.cost
                assert await engine.recover() == []  # settled once, not again
                async with ProviderClient(provider.url) as client:
                    remote = await client.get_session(left.remote_id or "")
                    assert remote.status is m.SessionStatus.ended
                    channel = await client.get_channel(left.terms.channel_id or "")
                    assert channel.live_session_id is None and channel.last_voucher is not None
                    assert channel.last_voucher.cumulative_amount == receipt.final_cumulative
                # the next session on the channel starts from there: no second is paid twice
                plan = await engine.plan(provider.url, service.id)
                live = await engine.start(plan, StartOptions("escrow", budget=10**6))
                nxt = history.get(live.local_id)
                assert nxt is not None and nxt.terms.channel_base == receipt.final_cumulative
                await until(lambda: live.acked >= 2 * RATE, timeout=15)
                summary = await engine.stop(live.local_id)
                assert isinstance(summary.receipt, m.Receipt) and summary.receipt_ok
                assert summary.receipt.final_cumulative == receipt.final_cumulative + summary.cost
            finally:
                await engine.shutdown()

        run(env, scenario)
    finally:
        ctx.close()


def test_an_unreachable_provider_leaves_the_session_interrupted_and_it_is_retried(
    env: Env, cli_world: tuple[DataDir, Provider, m.Service]
) -> None:
    data, provider, service = cli_world
    proc = _cli(data, "start", "--provider", provider.url, "--service", service.id, "--budget", "5",
                "--deposit", "5", "--yes", "--seconds", "600")  # fmt: skip
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if json.loads(line)["event"] == "acked":
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    provider.stop()
    ctx = AppContext.open(data)
    try:

        async def scenario() -> None:
            engine = _engine(env, ctx, Wallet(data.wallet_dir, ctx.accounts))
            try:
                [report] = await engine.recover()
                assert report.outcome == "unknown" and report.cost is None
                assert "will try again at the next start" in report.message
                [again] = await engine.recover()  # still there to retry
                assert again.local_id == report.local_id
            finally:
                await engine.shutdown()

        run(env, scenario)
        [record] = SessionHistory(ctx.store).find()
        assert record.status == "interrupted"
    finally:
        ctx.close()


def test_history_filters_and_csv_export(env: Env, cli_world: tuple[DataDir, Provider, m.Service]) -> None:
    data, provider, service = cli_world
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts)
    wallet.unlock(PASSWORD)
    try:

        async def scenario() -> list[str]:
            engine = _engine(env, ctx, wallet)
            ids = []
            try:
                plan = await engine.plan(provider.url, service.id)
                for deposit in (10**6, 0):
                    live = await engine.start(plan, StartOptions("escrow", budget=10**6, deposit=deposit))
                    await until(lambda live=live: live.acked >= 2 * RATE, timeout=15)
                    await engine.stop(live.local_id)
                    ids.append(live.local_id)
            finally:
                await engine.shutdown()
            return ids

        first, second = run(env, scenario)
        history = SessionHistory(ctx.store)
        both = history.find(HistoryFilter(provider=provider.url, service=service.id, status="stopped"))
        assert [r.local_id for r in both] == [second, first]
        assert history.find(HistoryFilter(provider="http://elsewhere.example")) == []
        assert history.find(HistoryFilter(status="failed")) == []
        one = history.get(first)
        assert one is not None
        later = history.find(HistoryFilter(since=one.started_at))
        assert {r.local_id for r in later} == {first, second}
        assert [r.local_id for r in history.find(HistoryFilter(until=history.get(second).started_at))] == [
            first
        ]  # type: ignore[union-attr]
        out = io.StringIO()
        assert export_csv(both, out) == 2
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert [r["local_id"] for r in rows] == [second, first]
        for row, record in zip(rows, both, strict=True):
            assert int(row["cost_units"]) == record.cost
            assert row["cost"] == f"{record.cost / 10**6:f}".rstrip("0").rstrip(".") or row["cost"] == "0"
            assert row["asset"] == "USDC" and row["rate_units"] == str(RATE) and row["rate"] == "0.001"
            assert row["status"] == "stopped" and row["receipt_ok"] == "yes"
    finally:
        ctx.close()
