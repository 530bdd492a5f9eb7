"""`paygo-desktop session start` in a real process against the hostile provider: every case exits in
bounded time with a clear message and a non-zero code; a start killed before its session id was saved is
settled with the provider at the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.engine import SessionEngine
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.wallet import KdfParams, Wallet
from tests.sessions.conftest import PASSWORD, Env, anvil_network, run
from tests.sessions.hostile_provider import SERVICE_ID, Script, hostile_provider

REPO = Path(__file__).resolve().parents[2]
BOUND = 60  # seconds: far more than any of these needs, far less than for ever


@pytest.fixture
def data(env: Env, tmp_path: Path) -> Iterator[DataDir]:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer")
    network = anvil_network(env)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    yield data


def _start(data: DataDir, url: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", "start",
               "--provider", url, "--service", SERVICE_ID, "--budget", "0.5", "--deposit", "1", "--yes",
               *extra]  # fmt: skip
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"`session start` did not exit within {BOUND} s")


def test_a_quoted_tick_of_zero_ends_the_command_at_once_with_one_line(env: Env, data: DataDir) -> None:
    """Issue 18, item 3: the command printed nothing and never exited."""
    with hostile_provider(env, Script(quote_tick=0)) as hostile:
        proc = _start(data, hostile.url, "--seconds", "3")
        _out, err = _finish(proc)
    assert proc.returncode == 2, err[-2000:]
    assert "error: The provider quoted a tick of 0 s where its catalog says 1 s" in err
    assert "Traceback" not in err
    assert hostile.received == [1000]


def test_a_forged_receipt_exits_non_zero_with_its_own_status(env: Env, data: DataDir) -> None:
    with hostile_provider(env, Script(receipt="forged")) as hostile:
        proc = _start(data, hostile.url, "--seconds", "2")
        out, err = _finish(proc)
    assert proc.returncode == 1, err[-2000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["event"] == "summary" and summary["status"] == "receipt_invalid"
    assert summary["receiptOk"] is False and "signature is not the provider's" in summary["message"]


@pytest.mark.parametrize("receipt, ok", [("good", True), ("grace", False)])
def test_a_start_killed_before_its_id_was_saved_is_settled_with_the_provider(
    env: Env, data: DataDir, receipt: str, ok: bool
) -> None:
    """Issue 18, item 7: such a session was recorded as "0 s, no receipt" while the provider held an
    expired session and the start's voucher. And a receipt may not count the unpaid grace as served."""
    with hostile_provider(env, Script(start_hangs=True, receipt=receipt)) as hostile:
        proc = _start(data, hostile.url, "--seconds", "30")
        deadline = time.monotonic() + BOUND
        while not hostile.sessions:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the start never reached the provider"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        [session] = hostile.sessions.values()
        session.status = "expired"  # the provider expired it: no live session on the channel any more

        ctx = AppContext.open(data)
        wallet = Wallet(data.wallet_dir, ctx.accounts)
        wallet.unlock(PASSWORD)
        try:
            history = SessionHistory(ctx.store)
            [left] = history.unfinished()
            assert left.status == "starting" and left.remote_id is None

            async def scenario() -> None:
                engine = SessionEngine(
                    store=ctx.store,
                    wallet=wallet,
                    account=env.payer.address,
                    network=ctx.network,
                    vault_address=ctx.vault_address(ctx.network),
                    w3=env.w3,
                    claim_poll_seconds=0,
                )
                try:
                    [report] = await engine.recover()
                finally:
                    await engine.shutdown()
                assert report.outcome == "settled" and report.cost == 1000
                assert (
                    "never started" not in report.message and "It cost 0.001 USDC for 1 s" in report.message
                )

            run(env, scenario)
            record = history.get(left.local_id)
            assert record is not None and record.status == "recovered"
            assert record.remote_id == session.session_id and record.receipt_ok is ok
            assert record.cost == 1000 and record.seconds == 1  # the tick paid for, never the grace
            receipt_json = m.Receipt.model_validate_json(record.receipt or "")
            assert receipt_json.final_cumulative == 1000 and hostile.stops == 1
        finally:
            ctx.close()
