"""``paygo-desktop provider chat``: answer a consultation from the terminal. Connects to the chat room's
vendor side (by default the running sandbox's, from its ``chat-vendor.json``; or ``--url`` with the secret
in the environment variable ``--secret-env`` names) and relays lines: questions are printed as
``[c1] <text>``; each line typed answers the conversation heard from last, or ``@c2 <text>`` a chosen one
(vendor.chat). Ends at the end of input or when the room closes."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir


def add_parser(actions: Any) -> None:
    chat = actions.add_parser("chat", help="answer a consultation's chat from the terminal (stdin/stdout)")
    chat.add_argument("--url", help="the chat room's vendor WebSocket (default: the running sandbox's)")
    chat.add_argument(
        "--secret-env",
        default="PAYGO_CHAT_VENDOR_SECRET",
        help="with --url: the environment variable holding the room's vendor secret",
    )
    chat.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.vendor.chat import relay

    if args.url:
        url, secret = args.url, os.environ.get(args.secret_env, "")
        if not secret:
            raise UserFacingError(
                f"set the room's vendor secret in the environment variable {args.secret_env}"
            )
    else:
        from paygo_desktop.sandbox.chat_access import read_chat_access

        access = read_chat_access(data_dir.sandbox_dir)
        if access is None:
            raise UserFacingError("no sandbox consultation here: run `paygo-desktop sandbox`, or give --url")
        url, secret = access.url, access.secret

    def out(line: str) -> None:
        print(line, flush=True)

    ended = asyncio.run(relay(url, secret, _stdin_lines(), out))
    print(f"chat ended: {ended}", file=sys.stderr)
    return 0


async def _stdin_lines() -> Any:
    """Lines of stdin, read by a daemon thread (the event loop never waits on the terminal, and a room
    that closes first is not held up by a read still waiting), until its end."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, "")
        except RuntimeError:  # the loop closed: the chat ended first
            pass

    threading.Thread(target=read, name="chat-stdin", daemon=True).start()
    while line := await queue.get():
        yield line
