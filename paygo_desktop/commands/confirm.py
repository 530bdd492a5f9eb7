"""Asking before a headless command sends a transaction: its fee is shown first, and it is sent only on a
yes at a terminal, or with ``--yes`` from a script."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from paygo_desktop.errors import UserFacingError


def confirm_fee(what: str, likely_fee: int, max_fee: int, *, assume_yes: bool) -> None:
    """Print ``what`` with its network fee (wei) on stderr; raise unless the user (or ``--yes``) agrees."""
    from paygo_desktop.money import ETH, Amount

    line = (
        f"{what}: network fee about {Amount(ETH, likely_fee).format(max_decimals=8)}, "
        f"at most {Amount(ETH, max_fee).format(max_decimals=8)}."
    )
    print(line, file=sys.stderr)
    if assume_yes:
        return
    require_terminal(assume_yes, "sending")
    if input("Send? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UserFacingError("Cancelled; nothing was sent.")


def require_terminal(assume_yes: bool, what: str) -> None:
    """Refuse at once when nobody can be asked: no terminal on stdin and no ``--yes``."""
    if not assume_yes and not sys.stdin.isatty():
        raise UserFacingError(f"Not {what} without confirmation: add --yes to do it from a script.")


async def ask_yes(question: str, cancel: asyncio.Event) -> bool:
    """``question`` on stderr; True only for "y" or "yes". End of input, any other answer or ``cancel``
    (Ctrl-C) is a no. The line is read on a daemon thread: a question left unanswered never keeps the
    process from exiting."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def answered(line: str) -> None:
        if not answer.done():
            answer.set_result(line)

    def read() -> None:
        loop.call_soon_threadsafe(answered, sys.stdin.readline())  # "" at end of input

    print(question, end="", file=sys.stderr, flush=True)
    threading.Thread(target=read, daemon=True).start()
    cancelled = asyncio.ensure_future(cancel.wait())
    waiting: list[asyncio.Future[Any]] = [answer, cancelled]
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    cancelled.cancel()
    if not answer.done():
        print(file=sys.stderr)
        return False
    return answer.result().strip().lower() in ("y", "yes")
