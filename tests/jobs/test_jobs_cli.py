"""`paygo-desktop jobs ...` in real processes: a script requests and funds a job (in ETH: a custom network's
tokens are unknown to the app, which refuses them), follows it, downloads the delivery (checked) and
approves it; the errors a person can meet are one line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.vouchers import ZERO_ADDRESS
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.wallet import KdfParams, Wallet
from tests.jobs.conftest import OFFER, World
from tests.sessions.conftest import anvil_network

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
PRICE = 10**16  # 0.01 ETH


@pytest.fixture
def data(world: World, tmp_path: Path) -> DataDir:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(world.client.key).hex(), PASSWORD, "Client")
    network = anvil_network(world.env)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.save()
    ctx.close()
    return data


def cli(world: World, data: DataDir, *args: str) -> tuple[int, Any, str]:
    command = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "jobs", *args]
    if args[0] not in ("offers",):
        command += ["--jobs-contract", world.jobs.address]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(proc.stdout) if proc.returncode == 0 else None
    return proc.returncode, out, proc.stderr


def _eth_offer(world: World) -> str:
    fields = OFFER.model_copy(update={"price": PRICE, "asset": "ETH"})
    return str(world.vendor(lambda api: api.create_offer(world.env.provider, fields)).id)


def test_a_script_requests_funds_downloads_and_approves_a_job(world: World, data: DataDir) -> None:
    env = world.env
    url = world.server.url
    offer_id = _eth_offer(world)
    code, offers, err = cli(world, data, "offers", "--provider", url, "--jobs-contract", world.jobs.address)
    assert code == 0, err
    assert sorted(o["id"] for o in offers) == sorted([world.offer_id, offer_id, "proofread-page"])

    # the USDC offer: a token this app does not know on a custom network is refused, nothing kept or sent
    code, _, err = cli(world, data, "request", "--provider", url, "--offer", world.offer_id, "--brief", "x")
    assert code == 2 and "a token this app does not know" in err

    # a script's ceiling: an offer that costs more is refused before anything is asked, kept or sent
    client0 = env.eth(world.client.address)
    ask = ("request", "--provider", url, "--offer", offer_id, "--brief", "One page", "--fund", "--yes")
    code, _, err = cli(world, data, *ask, "--max-price", "0.009999")
    assert code == 2 and "asks 0.01 ETH for this job, more than the 0.009999 ETH allowed" in err
    code, listed, _ = cli(world, data, "list")
    assert listed == [] and env.eth(world.client.address) == client0

    code, job, err = cli(world, data, *ask, "--max-price", "0.01")
    assert code == 0, err
    assert job["state"] == "funded" and job["priceUnits"] == str(PRICE) and "network fee" in err
    assert client0 - PRICE - 10**15 < env.eth(world.client.address) < client0 - PRICE  # the price and a fee
    job_id = job["jobId"]

    world.vendor(lambda api: api.accept(env.provider, job_id))
    world.vendor(lambda api: api.deliver_file(env.provider, job_id, "page.txt", b"la page"))
    code, status, err = cli(world, data, "status", job_id)
    assert code == 0 and status["state"] == "delivered" and status["actions"] == ["download", "approve"]

    code, got, err = cli(world, data, "download", job_id, "--to", str(world.tmp_path / "out"))
    assert code == 0, err
    assert Path(got["file"]).read_bytes() == b"la page"

    code, _, err = cli(
        world, data, "refund", job_id, "--yes"
    )  # not before the deadline, and not once delivered
    assert code == 2 and err.startswith("error: Only a funded job with nothing delivered can be refunded.")

    worker0 = env.eth(env.provider.address)
    code, approved, err = cli(world, data, "approve", job_id, "--yes")
    assert code == 0, err
    assert approved["state"] == "approved" and len(approved["txHashes"]) == 1
    assert env.eth(env.provider.address) == worker0 + PRICE

    code, listed, err = cli(world, data, "list")
    assert code == 0 and [(j["jobId"], j["state"]) for j in listed] == [(job_id, "approved")]
    code, _, err = cli(world, data, "approve", job_id, "--yes")
    assert code == 2 and "cannot be approved" in err


def test_without_yes_and_without_a_terminal_nothing_is_sent(world: World, data: DataDir) -> None:
    url = world.server.url
    offer_id = _eth_offer(world)
    client0 = world.env.eth(world.client.address)
    code, _, err = cli(
        world, data, "request", "--provider", url, "--offer", offer_id, "--brief", "x", "--fund"
    )
    assert code == 2 and "add --yes" in err
    assert world.env.eth(world.client.address) == client0 and world.jobs.held(ZERO_ADDRESS) == 0
