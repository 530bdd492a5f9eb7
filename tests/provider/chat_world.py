"""What the consultation's tests share: the vendor's side, as the real ``paygo-desktop provider chat``
process a vendor runs (lines in on stdin, lines out on stdout), on a chat room with a known secret."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from paygo_desktop.sandbox.chat_access import CHAT_SECRET_ENV

CHAT_COMMAND = (sys.executable, "-m", "paygo_desktop")
SECRET = "s3cret-for-the-vendor-side-only"


class VendorProcess:
    """``paygo-desktop provider chat`` as a vendor runs it: lines in on stdin, lines out on stdout."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [*CHAT_COMMAND, "--data-dir", str(data_dir), "provider", "chat", "--url", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, CHAT_SECRET_ENV: SECRET},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, wanted: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if wanted in line:
                return line

    def heard(self, wanted: str) -> bool:
        """Whether a line holding ``wanted`` came out, without waiting (for the GUI thread's polls)."""
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return any(wanted in line for line in self.seen)

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
