"""Where the sandbox's consultation (sandbox.chat_room) takes its vendor: ``chat-vendor.json`` in the
sandbox directory, private to the user (0600), ``{"url": "ws://127.0.0.1:<port>/vendor", "secret": …}``.
The sandbox writes it at each start; ``paygo-desktop provider chat`` reads it. The secret reaches the
room's process through its environment (``CHAT_SECRET_ENV``), never its command line."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from paygo_desktop.fileio import atomic_write_text

CHAT_SECRET_ENV = "PAYGO_CHAT_VENDOR_SECRET"
FILE_NAME = "chat-vendor.json"


@dataclass(frozen=True)
class ChatAccess:
    url: str
    secret: str


def write_chat_access(sandbox_dir: Path, port: int) -> str:
    """A new vendor secret for the room on ``port``, written down; returns it."""
    secret = secrets.token_urlsafe(32)
    url = f"ws://127.0.0.1:{port}/vendor"
    atomic_write_text(sandbox_dir / FILE_NAME, json.dumps({"url": url, "secret": secret}))
    return secret


def read_chat_access(sandbox_dir: Path) -> ChatAccess | None:
    """The running sandbox's consultation vendor side, or None when no sandbox wrote one."""
    try:
        data = json.loads((sandbox_dir / FILE_NAME).read_text("utf-8"))
        return ChatAccess(url=str(data["url"]), secret=str(data["secret"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
