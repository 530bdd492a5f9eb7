"""`paygo-desktop jobs vendor-list|accept|decline|deliver|vendor-release --config FILE` (the provider's
config) in real processes, against the real provider and PayGoJobs on anvil: a client's script requests and
funds a job; the vendor's script lists it, accepts it and delivers a file, whose hash the chain then holds,
and takes the price once the client has let the review window pass; bad input is one line."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from paygo_desktop.paths import DataDir
from tests.jobs.conftest import World
from tests.jobs.test_jobs_cli import REPO, _eth_offer, cli, data  # noqa: F401 - fixture


def vendor_cli(world: World, *args: str) -> tuple[int, Any, str]:
    config = world.tmp_path / "provider.json"  # the running provider's own config, its key written out
    key = "0x" + bytes(world.env.provider.key).hex()
    fields = world.server.config.model_dump(mode="json", exclude_none=True)
    config.write_text(json.dumps({**fields, "private_key": key}))
    command = [sys.executable, "-m", "paygo_desktop", "jobs", *args, "--config", str(config)]
    command += ["--provider", world.server.url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in proc.stderr and key[2:] not in proc.stderr + proc.stdout
    out = json.loads(proc.stdout) if proc.returncode == 0 else None
    return proc.returncode, out, proc.stderr


def test_a_vendor_script_lists_accepts_and_delivers(world: World, data: DataDir) -> None:  # noqa: F811
    offer_id = _eth_offer(world)
    code, job, err = cli(
        world, data, "request", "--provider", world.server.url, "--offer", offer_id, "--brief", "A page",
        "--fund", "--yes",
    )  # fmt: skip
    assert code == 0, err
    job_id = job["jobId"]

    code, listed, err = vendor_cli(world, "vendor-list")
    assert code == 0, err
    assert [(j["jobId"], j["state"], j["actions"]) for j in listed] == [
        (job_id, "funded", ["accept", "decline"])
    ]
    assert listed[0]["price"] == "0.01 ETH" and listed[0]["brief"] == "A page"

    code, _, err = vendor_cli(world, "deliver", job_id, "--link", "https://example.com/page.txt")
    assert code == 2 and "--link needs --sha256" in err
    code, accepted, err = vendor_cli(world, "accept", job_id)
    assert code == 0 and accepted["state"] == "accepted", err

    page = world.tmp_path / "page.txt"
    page.write_bytes(b"la page traduite")
    code, delivered, err = vendor_cli(world, "deliver", job_id, "--file", str(page))
    assert code == 0, err
    digest = "0x" + hashlib.sha256(b"la page traduite").hexdigest()
    assert delivered["state"] == "delivered" and delivered["chainDelivery"] == digest

    code, listed, err = vendor_cli(world, "vendor-list")
    assert code == 0 and [(j["state"], j["actions"]) for j in listed] == [("delivered", [])]
    code, _, err = vendor_cli(world, "vendor-release", job_id)  # the client's review window is still open
    assert code == 2 and "review window" in err

    # the client never approves: past the window, the vendor takes the price
    world.env.advance(delivered["reviewEndsAt"] - world.env.chain_time() + 1)
    code, listed, err = vendor_cli(world, "vendor-list")
    assert code == 0 and [(j["state"], j["actions"]) for j in listed] == [("delivered", ["release"])]
    worker0 = world.env.eth(world.env.provider.address)
    code, released, err = vendor_cli(world, "vendor-release", job_id)
    assert code == 0 and released["state"] == "released", err
    assert world.env.eth(world.env.provider.address) > worker0  # the price (0.01 ETH), less the gas
    code, _, err = vendor_cli(world, "accept", "0x" + "11" * 32)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
