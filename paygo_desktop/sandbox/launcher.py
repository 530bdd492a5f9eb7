"""Starting the sandbox from the app when the user is on the Sandbox network, and stopping it at exit.

A sandbox that is already running (started by hand with `paygo-desktop sandbox`, or by an earlier run of
the app that crashed) is reused, not started twice. Only a sandbox this launcher started is stopped by it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys

from paygo_desktop.paths import DataDir
from paygo_desktop.sandbox.node import SandboxError
from paygo_desktop.sandbox.state import SandboxState, is_alive, read_state

log = logging.getLogger(__name__)
START_TIMEOUT = 120.0


class SandboxLauncher:
    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self._proc: subprocess.Popen[str] | None = None
        self._lock = asyncio.Lock()
        # set by a start that had to replace the kept chain with a new one: what the user is told
        self.world_note: str | None = None

    def running(self) -> SandboxState | None:
        state = read_state(self.data_dir.sandbox_dir)
        if state and is_alive(state.node_pid) and is_alive(state.provider_pid):
            return state
        return None

    @property
    def started_here(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    async def ensure_running(self) -> SandboxState:
        async with self._lock:
            state = self.running()
            if state is not None:
                return state
            sandbox_dir = self.data_dir.sandbox_dir
            sandbox_dir.mkdir(parents=True, exist_ok=True)
            log_path = sandbox_dir / "sandbox.log"
            with log_path.open("ab") as log_file:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "paygo_desktop", "--data-dir", str(self.data_dir.root), "sandbox"],
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    stdin=subprocess.DEVNULL,
                    text=True,
                )
            self._proc = proc
            assert proc.stdout is not None
            try:
                line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), START_TIMEOUT)
            except TimeoutError:
                self.stop()
                raise SandboxError(f"The sandbox did not start in time; see {log_path}.") from None
            try:
                ready = json.loads(line) if line else {}
            except ValueError:
                ready = {}
            if ready.get("status") != "ready":
                self.stop()
                raise SandboxError(f"The sandbox could not start; see {log_path}.")
            state = read_state(sandbox_dir)
            if state is None:
                raise SandboxError("The sandbox started but wrote no state file.")
            note = ready.get("worldNote")
            self.world_note = note if isinstance(note, str) else None
            log.info(
                "sandbox started: chain %s (%s), provider %s",
                state.rpc_url,
                ready.get("node", "unknown node"),
                state.provider_url,
            )
            return state

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the sandbox this launcher started (Ctrl-C, as a person would); leave any other alone."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
