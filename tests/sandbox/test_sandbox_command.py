"""`paygo-desktop sandbox` as a person runs it: real processes, real ports, Ctrl-C, and a stale leftover."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import tomllib

import httpx
import pytest

from paygo_desktop.chain.canonical import VAULT
from paygo_desktop.chain.sandbox_permit2 import PERMIT2, UPTO_PROXY
from paygo_desktop.context import AppContext
from paygo_desktop.logs import LOG_FILE_NAME
from paygo_desktop.paths import DataDir
from paygo_desktop.sandbox.node import find_anvil, rpc
from paygo_desktop.sandbox.state import is_alive, read_state
from paygo_desktop.sandbox.world import free_port
from paygo_desktop.store.deployments import DeploymentRepository
from paygo_desktop.wallet import KdfParams, Wallet

PHRASE = "test test test test test test test test test test test junk"
EXTRA = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)


def wallet_dir(tmp_path) -> DataDir:
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12)).create_from_mnemonic(PHRASE, "pw-12345678")
    ctx.close()
    return data


def start(data: DataDir) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paygo_desktop",
            "--data-dir",
            str(data.root),
            "sandbox",
            "--rpc-port",
            "0",
            "--provider-port",
            "0",
            "--fund",
            EXTRA,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the ready line, or EOF if it failed
    if not line:
        proc.wait(timeout=10)
        pytest.fail(f"sandbox failed: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def test_sandbox_brings_up_a_funded_world_and_stops_cleanly(tmp_path):
    data = wallet_dir(tmp_path)
    proc, ready = start(data)
    try:
        assert ready["status"] == "ready" and ready["chainId"] == 31337
        assert ready["node"].startswith("anvil, ")  # the app's log names the chain it runs on
        url = ready["rpc"]
        wallet_address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        assert ready["funded"] == [wallet_address, EXTRA]
        assert int(rpc(url, "eth_getBalance", [EXTRA, "latest"]), 16) == 100 * 10**18
        balance_call = {"to": ready["usdc"], "data": "0x70a08231" + wallet_address[2:].lower().rjust(64, "0")}
        assert int(rpc(url, "eth_call", [balance_call, "latest"]), 16) == 10_000 * 10**6
        assert rpc(url, "eth_getCode", [ready["vault"], "latest"]) not in ("0x", "0x0")
        for canonical in (PERMIT2, UPTO_PROXY):  # x402 upto's Permit2 and proxy (the sandbox's stand-ins)
            assert rpc(url, "eth_getCode", [canonical, "latest"]) not in ("0x", "0x0")
        assert ready["vault"] == VAULT.address  # the canonical vault, deployed as on every chain
        # "ready" means the provider has reached the chain: it takes sessions at once
        assert httpx.get(ready["provider"] + "/api/v1/health", timeout=5).json()["status"] == "ok"
        info = httpx.get(ready["provider"] + "/api/v1/provider", timeout=5).json()
        assert info["networks"] == [{"chainId": 31337, "vault": ready["vault"]}]
        assert info["minWithdrawDelay"] == 11  # its poll (1 s) + margin (10 s): channels use the vault's 15 s
        assert info["zcash"]  # the sandbox provider takes Zcash permissions, paid through its local ledger
        catalog = httpx.get(ready["provider"] + "/api/v1/service", params={"pageSize": 100}, timeout=5).json()
        # only the services the sandbox really delivers, each from its own upstream behind the gateway
        assert {s["id"] for s in catalog["items"]} == {
            "market-data-feed",
            "weather-api",
            "weather-per-call",  # sold one request at a time with x402
            "demo-video",
            "legal-consult",
        }
        # the per-call weather is sold with x402: a request without payment gets the standard 402
        unpaid = httpx.get(ready["provider"] + "/api/v1/x402/weather-per-call/weather?city=Quito", timeout=10)
        required = json.loads(base64.b64decode(unpaid.headers["PAYMENT-REQUIRED"]))
        [offer] = required["accepts"]
        assert unpaid.status_code == 402 and offer["scheme"] == "exact" and offer["amount"] == "2000"
        assert offer["network"] == "eip155:31337" and offer["asset"].lower() == ready["usdc"].lower()
        # the video's own server, which the gateway is configured in front of, serves the shipped clip
        video = tomllib.loads((data.sandbox_dir / "provider.toml").read_text())["services"]["demo-video"]
        assert video["delivery"] == "media" and video["upstream"].startswith("http://127.0.0.1:")
        playlist = httpx.get(video["upstream"] + "/clip.m3u8", timeout=5)
        assert playlist.status_code == 200 and "clip0.ts" in playlist.text
        first = httpx.get(video["upstream"] + "/" + video["entry"], headers={"Range": "bytes=0-7"}, timeout=5)
        assert first.status_code == 206 and first.content[4:8] == b"ftyp"
        # the consultation's vendor answers with `provider chat`, which finds the sandbox's room by itself
        chat = subprocess.run(
            [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data.root), "provider", "chat"],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert chat.returncode == 0 and chat.stdout.startswith("connected to ws://127.0.0.1:"), chat.stderr
        assert "chat ended: input ended" in chat.stderr
        assert (data.sandbox_dir / "chat-vendor.json").stat().st_mode & 0o077 == 0  # the secret is private
        # the app finds the running sandbox and its contracts
        ctx = AppContext.open(data)
        assert ctx.network.rpc_url == url
        assert ctx.vault_address(ctx.network) == ready["vault"]
        assert DeploymentRepository(ctx.store).address("sandbox", 31337, "TestUSDC") == ready["usdc"]
        ctx.close()
        state = read_state(data.sandbox_dir)
        assert state is not None
    finally:
        stop(proc)
    assert proc.returncode == 0
    # it says which chain it ran (anvil here: the tests install it), so nobody has to guess
    assert proc.stderr is not None
    said = proc.stderr.read()
    assert "Starting the local chain (anvil, " in said
    # and nothing a user would take for a fault, on the terminal or in the log: a connection to the node
    # left open for the collector to find ("Unclosed client session"), a traceback
    logged = (data.log_dir / LOG_FILE_NAME).read_text()
    for text in (said, logged):
        assert "Unclosed" not in text and "Traceback" not in text, text
    assert not is_alive(state.node_pid) and not is_alive(state.provider_pid)
    assert state.upstreams_pid and not is_alive(state.upstreams_pid)
    with pytest.raises(OSError):  # nothing listens on the chain's port any more
        rpc(url, "eth_chainId", timeout=2)
    assert read_state(data.sandbox_dir) is None


def test_a_killed_sandbox_takes_its_parts_with_it_and_a_new_one_starts(tmp_path):
    data = wallet_dir(tmp_path)
    proc, _ = start(data)
    state = read_state(data.sandbox_dir)
    assert state is not None
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    parts = (state.node_pid, state.provider_pid, state.upstreams_pid)
    while any(is_alive(pid) for pid in parts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(is_alive(pid) for pid in parts)
    again, ready = start(data)  # the stale state file is found and replaced
    try:
        assert ready["status"] == "ready"
    finally:
        stop(again)
    assert again.returncode == 0


def test_a_leftover_node_from_an_earlier_run_is_replaced(tmp_path):
    """A previous sandbox's chain is still running (its owner died elsewhere): the new one stops it."""
    data = wallet_dir(tmp_path)
    proc, _ = start(data)
    stop(proc)
    port = free_port()
    leftover = subprocess.Popen(
        [find_anvil() or "anvil", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        from dataclasses import replace

        from paygo_desktop.sandbox.state import SandboxState, write_state

        write_state(
            data.sandbox_dir,
            replace(
                SandboxState("", "", 31337, "", "", 0, 0, 0, 0.0),
                rpc_url=f"http://127.0.0.1:{port}",
                node_pid=leftover.pid,
            ),
        )
        again, ready = start(data)
        try:
            assert leftover.wait(timeout=15) is not None  # it was stopped
            assert ready["status"] == "ready"
        finally:
            stop(again)
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()
