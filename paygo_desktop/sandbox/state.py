"""The sandbox's state file: which processes it started and where its endpoints are.

The app reads it to reach a running sandbox; a new sandbox reads it to find and replace a stale one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paygo_desktop.fileio import atomic_write_text


@dataclass(frozen=True)
class SandboxState:
    rpc_url: str
    provider_url: str
    chain_id: int
    vault: str
    usdc: str
    owner_pid: int
    node_pid: int
    provider_pid: int
    started_at: float
    # every test token by symbol (USDC included) and the price feeds by symbol or currency (empty in a
    # state file an older version wrote)
    tokens: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)

    def pids(self) -> list[int]:
        return [self.provider_pid, self.node_pid, self.owner_pid]


def state_file(sandbox_dir: Path) -> Path:
    return sandbox_dir / "state.json"


def write_state(sandbox_dir: Path, state: SandboxState) -> None:
    atomic_write_text(state_file(sandbox_dir), json.dumps(asdict(state), indent=2) + "\n")


def read_state(sandbox_dir: Path) -> SandboxState | None:
    try:
        data = json.loads(state_file(sandbox_dir).read_text("utf-8"))
        return SandboxState(**data)
    except (OSError, ValueError, TypeError):
        return None


def clear_state(sandbox_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        state_file(sandbox_dir).unlink()


def is_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_stale(sandbox_dir: Path, *, timeout: float = 10.0) -> bool:
    """Stop what a previous sandbox left running (its own recorded processes only). True if it found one."""
    state = read_state(sandbox_dir)
    if state is None:
        return False
    for pid in state.pids():
        if pid != os.getpid() and is_alive(pid) and _is_ours(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in state.pids():
        while pid != os.getpid() and is_alive(pid) and _is_ours(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid != os.getpid() and is_alive(pid) and _is_ours(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    clear_state(sandbox_dir)
    return True


def _is_ours(pid: int) -> bool:
    """Only a process that looks like a sandbox part is signalled, never a recycled pid of something else."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc (macOS): trust the state file
    if b"(zombie)" in cmdline or not cmdline:
        return False
    return b"anvil" in cmdline or b"paygo_desktop" in cmdline or b"paygo-desktop" in cmdline
