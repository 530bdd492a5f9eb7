"""The sandbox's local EVM node: anvil (PATH, the repository's node_modules or $PAYGO_ANVIL), else embedded.

The embedded node is py-evm behind loopback JSON-RPC (``paygo_desktop.sandbox.embedded_node``), so that
``pip install`` alone is enough. ``PAYGO_SANDBOX_NODE=anvil|embedded`` forces one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from paygo_desktop.errors import UserFacingError

CHAIN_ID = 31337
STATE_INTERVAL = 30  # seconds between anvil's dumps of a kept chain, besides the one at exit


class SandboxError(UserFacingError):
    pass


def find_anvil() -> str | None:
    explicit = os.environ.get("PAYGO_ANVIL")
    if explicit:
        return explicit
    repo_bin = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"
    if repo_bin.exists():
        return str(repo_bin)
    return shutil.which("anvil")


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise SandboxError(f"{method} failed: {reply['error'].get('message', reply['error'])}")
    return reply["result"]


def child_options() -> dict[str, Any]:
    """Children die with the sandbox, even when it is killed outright (Linux: PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return {"start_new_session": False}

    def die_with_parent() -> None:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return {"preexec_fn": die_with_parent}


def start_anvil(
    port: int, log_file: Path, state_file: Path | None = None, state_interval: int = STATE_INTERVAL
) -> subprocess.Popen[bytes]:
    """anvil on ``port``; with ``state_file`` it loads the chain kept there and writes it back at exit
    (and every ``state_interval`` seconds)."""
    binary = find_anvil()
    if binary is None:
        raise SandboxError(
            "No local chain found: install anvil (npm install @foundry-rs/anvil, or Foundry) "
            "or set PAYGO_ANVIL to its path."
        )
    command = [binary, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID)]
    if state_file is not None:
        command += ["--state", str(state_file), "--state-interval", str(state_interval)]
    return _launch("anvil", command, port, log_file)


def embedded_node_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("eth_tester", "eth"))


def start_embedded(port: int, log_file: Path) -> subprocess.Popen[bytes]:
    if not embedded_node_available():
        raise SandboxError(
            "The embedded chain needs eth-tester and py-evm (pip install 'eth-tester[py-evm]'), "
            "or install anvil."
        )
    command = [sys.executable, "-m", "paygo_desktop.sandbox.embedded_node", "--port", str(port)]
    return _launch("the embedded chain", command, port, log_file)


def node_choice() -> str:
    """``anvil`` or ``embedded``: $PAYGO_SANDBOX_NODE if set, else anvil when it is found."""
    forced = os.environ.get("PAYGO_SANDBOX_NODE", "").strip().lower()
    if forced in ("anvil", "embedded"):
        return forced
    if forced not in ("", "auto"):
        raise SandboxError(f"PAYGO_SANDBOX_NODE must be anvil, embedded or auto, not {forced!r}.")
    return "anvil" if find_anvil() is not None else "embedded"


def node_description(kind: str) -> str:
    """What the sandbox's log and progress call the node, so nobody wonders which chain is running."""
    if kind == "anvil":
        return f"anvil, {find_anvil()}"
    why = "as PAYGO_SANDBOX_NODE asks" if os.environ.get("PAYGO_SANDBOX_NODE") else "anvil is not installed"
    return f"the embedded Python EVM node: {why}"


def start_node(port: int, log_file: Path, state_file: Path | None = None) -> subprocess.Popen[bytes]:
    """The chosen node; ``state_file`` keeps anvil's chain across runs (the embedded node keeps none)."""
    if node_choice() == "anvil":
        return start_anvil(port, log_file, state_file)
    return start_embedded(port, log_file)


def _launch(name: str, command: list[str], port: int, log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **child_options())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if int(rpc(url, "eth_chainId", timeout=1), 16) == CHAIN_ID:
                return proc
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            raise SandboxError(f"{name} stopped at start (exit {proc.returncode}); see {log_file}.")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise SandboxError(f"{name} did not start within 30 seconds.")
        time.sleep(0.05)
