"""Asking on the terminal before an x402 payment to an ask-first site (``paygo-desktop x402 get|proxy``).

The question goes to stderr (stdout carries the answer's body or the proxy's JSON lines); one daemon thread
reads stdin's lines, so a question left unanswered never keeps the process from exiting. No answer within
``seconds`` declines; only "y" or "yes" pays. Without a terminal there is nobody to ask: the caller passes
no ``confirm`` and the payer refuses in words.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paygo_desktop.x402.limits import Quote

ASK_SECONDS = 60


class TerminalAsk:
    def __init__(self, seconds: float = ASK_SECONDS) -> None:
        self.seconds = seconds
        self._lines: asyncio.Queue[str] | None = None

    def _reader(self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)

    async def __call__(self, quote: Quote) -> bool:
        if self._lines is None:
            self._lines = asyncio.Queue()
            reader = threading.Thread(
                target=self._reader, args=(asyncio.get_running_loop(), self._lines), daemon=True
            )
            reader.start()
        while not self._lines.empty():  # a line typed before the question is no answer to it
            self._lines.get_nowait()
        print(
            f"Pay {quote.asked()} to {quote.origin} for {quote.method} {quote.url[:300]}? "
            f"[y/N, declined in {int(self.seconds)} s] ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        try:
            answer = await asyncio.wait_for(self._lines.get(), self.seconds)
        except TimeoutError:
            print("(no answer: declined)", file=sys.stderr, flush=True)
            return False
        return answer.strip().lower() in ("y", "yes")
