"""`paygo-desktop x402 get|policy|list` in a real child process against a server built only from the SDK:
a site without limits is refused (exit 2, nothing signed), limits set from the command line let it be paid
(the body on stdout, the payment as JSON on stderr), ``--max`` caps a request, and the payments list and
CSV show what was paid."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from paygo_desktop.context import AppContext
from paygo_desktop.money import Asset
from paygo_desktop.networks import custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.store.custom_tokens import CustomTokenRepository
from paygo_desktop.wallet import KdfParams, Wallet
from tests.x402_pay.conftest import Env, sdk_server, usdc_price

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "x402 test password"
PRICE = 40_000


def _data_dir(env: Env, tmp_path: Path) -> DataDir:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer")
    network = custom_network("Test chain", env.url, env.chain_id)
    ctx.networks.save_custom(network)
    CustomTokenRepository(ctx.store).add(network.key, network.chain_id, Asset("USDC", 6, env.usdc), "USDC")
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    return data


def _cli(data: DataDir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "x402", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )


def test_x402_from_the_command_line(env: Env, tmp_path: Path) -> None:
    data = _data_dir(env, tmp_path)
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, PRICE)) as server:
        url = server.url + "/paid"
        refused = _cli(data, "get", url)
        assert refused.returncode == 2, refused.stderr
        assert (
            refused.stdout == "" and json.loads(refused.stderr.splitlines()[-1])["refused"] == "not_allowed"
        )

        policy = _cli(data, "policy", "set", url, "--per-request", "0.05", "--per-day", "0.1")
        assert policy.returncode == 0, policy.stderr
        assert (
            json.loads(policy.stdout)["perRequest"] == "0.05"
            and json.loads(policy.stdout)["site"] == server.url
        )

        paid = _cli(data, "get", url)
        assert paid.returncode == 0, paid.stderr
        assert json.loads(paid.stdout) == {"answer": 42}
        said = json.loads(paid.stderr.splitlines()[-1])
        assert said["paid"] is True and said["httpStatus"] == 200 and said["status"] == "settled"
        assert (said["amount"], said["amountUnits"], said["asset"]) == ("0.04", str(PRICE), "USDC")

        capped = _cli(data, "get", url, "--max", "0.01")
        assert capped.returncode == 2 and json.loads(capped.stderr.splitlines()[-1])["refused"] == "over_max"
        assert len(server.signatures) == 1

    listed = _cli(data, "list")
    [payment] = json.loads(listed.stdout)
    assert payment["amount"] == "0.04" and payment["status"] == "settled" and payment["transaction"]
    assert payment["countsAgainstLimits"] is True
    rows = list(csv.reader(io.StringIO(_cli(data, "list", "--csv", "-").stdout)))
    assert rows[0][0] == "Date (UTC)" and rows[1][9:13] == ["0.04", str(PRICE), "6", "settled"]
    assert env.usdc_balance(env.payer.address) == before - PRICE


def test_x402_proxy_command(env: Env, tmp_path: Path) -> None:
    import signal

    import httpx

    data = _data_dir(env, tmp_path)
    with sdk_server(env, price=usdc_price(env, PRICE)) as server:
        assert _cli(data, "policy", "set", server.url, "--per-request", "0.04").returncode == 0
        proc = subprocess.Popen(
            [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "x402", "proxy"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
        )
        try:
            assert proc.stdout is not None
            started = json.loads(proc.stdout.readline())
            paid = httpx.get(started["url"] + server.url.replace("http://", "http/") + "/paid", timeout=60)
            assert paid.status_code == 200 and paid.json() == {"answer": 42}
            assert paid.headers["x-paygo-x402-payment"] == "0.04 USDC; settled"
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0


def test_approve_permit2_then_pay_upto_from_the_command_line(env: Env, tmp_path: Path) -> None:
    from paygo_desktop.x402.permit2 import PERMIT2

    def allowance() -> int:
        return int(env.run(env.token(env.usdc).functions.allowance(env.payer.address, PERMIT2).call()))

    data = _data_dir(env, tmp_path)
    unbounded = _cli(data, "approve-permit2", "--amount", "1" + "0" * 40, "--yes")
    assert unbounded.returncode == 2 and "bounded" in unbounded.stderr and allowance() == 0

    approved = _cli(data, "approve-permit2", "--amount", "0.1", "--yes")
    assert approved.returncode == 0, approved.stderr
    said = json.loads(approved.stdout)
    assert (said["allowance"], said["allowanceUnits"], said["spender"]) == ("0.1", "100000", PERMIT2)
    assert allowance() == 100_000

    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, PRICE), scheme="upto", settle=PRICE // 4) as server:
        assert _cli(data, "policy", "set", server.url, "--per-request", "0.04").returncode == 0
        paid = _cli(data, "get", server.url + "/paid")
        assert paid.returncode == 0, paid.stderr
        said = json.loads(paid.stderr.splitlines()[-1])
        assert (said["scheme"], said["amountUnits"], said["settledUnits"]) == ("upto", str(PRICE), "10000")
    assert env.usdc_balance(env.payer.address) == before - PRICE // 4
    assert allowance() == 100_000 - PRICE // 4
