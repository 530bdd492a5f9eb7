"""`session start --deposit` asks before it pays, in a real process against anvil and the reference provider:
the deposit (amount, vault, channel, provider, the most its fees can cost) is shown and `Proceed? [y/N]`
asked before anything is signed. "n" sends nothing, "y" deposits, no terminal without `--yes` is refused
at once, `--yes` deposits without asking."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.deposit_review import DEPOSIT_AFTER_APPROVAL_GAS
from paygo_desktop.store.transactions import TransactionRepository
from tests.sessions.conftest import PASSWORD, Env, Provider
from tests.sessions.test_cli_and_recovery import cli_world  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]
REFUSED = "error: Not depositing without confirmation: add --yes to do it from a script."
CANCELLED = "error: Cancelled: nothing was deposited, signed or sent."


def _command(data: DataDir, provider: Provider, service: m.Service, *extra: str) -> list[str]:
    return [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "session", "start",
            "--provider", provider.url, "--service", service.id, "--budget", "0.5", "--deposit", "1",
            "--seconds", "1", *extra]  # fmt: skip


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD}


def _answered(command: list[str], answer: str) -> tuple[int, str, str]:
    """Run ``command`` with a terminal on stdin; once it asks, type ``answer``."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        command, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment()
    )
    os.close(slave)
    err: list[str] = []
    assert proc.stderr is not None and proc.stdout is not None
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while "Proceed? [y/N] " not in "".join(err) and proc.poll() is None:  # a command that never asks ends
        assert time.monotonic() < deadline, "the command neither asked nor ended"
        time.sleep(0.05)
    if proc.poll() is None:
        os.write(master, answer.encode() + b"\n")
    out = proc.stdout.read()
    proc.wait(timeout=90)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out, "".join(err)


def _sent(env: Env, data: DataDir) -> tuple[int, int]:
    """The payer's nonce on anvil, and how many transactions the app stored."""
    ctx = AppContext.open(data)
    try:
        rows = len(TransactionRepository(ctx.store).recent())
    finally:
        ctx.close()
    return env.run(env.w3.eth.get_transaction_count(env.payer.address)), rows


def _no_allowance(env: Env) -> None:
    """The vault may take none of the payer's USDC: the deposit needs an approval first."""
    env.run(env.vault.approve_token(env.payer, env.usdc, 0))


def test_no_sends_nothing(env: Env, cli_world: tuple[DataDir, Provider, m.Service]) -> None:  # noqa: F811
    data, provider, service = cli_world
    _no_allowance(env)
    before = _sent(env, data)
    code, out, err = _answered(_command(data, provider, service), "n")
    assert _sent(env, data) == before, err  # nothing signed, nothing sent, nothing stored
    assert code == 2 and out == "", err
    assert err.endswith("Proceed? [y/N] " + CANCELLED + "\n")  # the typed "n" echoes on the terminal
    shown = err.split("Proceed?")[0]
    assert "Deposit 1 USDC into the escrow channel with" in shown and provider.key.address in shown
    assert "Vault contract 0x" in shown and "channel 0x" in shown
    assert "an approval for the vault to take 1 USDC, then the deposit" in shown
    assert "Network fees: at most " in shown and " ETH in all." in shown


def test_yes_deposits(env: Env, cli_world: tuple[DataDir, Provider, m.Service]) -> None:  # noqa: F811
    data, provider, service = cli_world
    _no_allowance(env)
    nonce, rows = _sent(env, data)
    code, out, err = _answered(_command(data, provider, service), "y")
    assert code == 0, err
    assert any(line.startswith('{"event": "summary"') for line in out.splitlines())
    assert '"message": "Depositing 1 USDC into the channel' in out
    assert _sent(env, data) == (nonce + 2, rows + 2)  # the approval and the deposit
    ctx = AppContext.open(data)
    try:
        [fund] = [r for r in TransactionRepository(ctx.store).recent() if r.kind == "fund"]
    finally:
        ctx.close()
    receipt = env.run(env.w3.eth.get_transaction_receipt(fund.tx_hash))
    assert (
        receipt["status"] == 1 and receipt["gasUsed"] < DEPOSIT_AFTER_APPROVAL_GAS // 2
    )  # counted with room


def test_no_terminal_without_yes_is_refused_at_once(
    env: Env,
    cli_world: tuple[DataDir, Provider, m.Service],  # noqa: F811
) -> None:
    data, provider, service = cli_world
    before = _sent(env, data)
    started = time.monotonic()
    result = subprocess.run(
        _command(data, provider, service),
        stdin=subprocess.PIPE,  # open, never written to: a question would hang
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == REFUSED
    assert time.monotonic() - started < 30
    assert _sent(env, data) == before


def test_yes_flag_deposits_without_asking(
    env: Env,
    cli_world: tuple[DataDir, Provider, m.Service],  # noqa: F811
) -> None:
    data, provider, service = cli_world
    nonce, rows = _sent(env, data)
    result = subprocess.run(
        _command(data, provider, service, "--yes"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "Proceed?" not in result.stderr
        and "Transactions: the deposit. Network fees: at most" in result.stderr
    )
    assert _sent(env, data) == (nonce + 1, rows + 1)  # the vault may take the USDC already: no approval
