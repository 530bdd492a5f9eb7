"""Logging: a rotating file in the data directory; with --debug, stderr too.

A filter scrubs anything shaped like a private key or a mnemonic from every record, as a last line of
defence: the code never logs secrets on purpose. A transaction hash, a channel's or a job's id is shaped
like a private key too (32 bytes of hex); a log line that names one passes it as ``public_hex(value)``,
and only such an argument is let through whole: the rest of the line is scrubbed as any other.

The app logs from its first line, before its window has painted, but rotation comes from
``logging.handlers`` (socket, pickle and queue with it, ~6 ms): ``setup_logging(rotating=False)`` writes
the same file through a plain handler, and ``start_rotating()`` hands it to the rotating one once the
window is on screen. Nothing is written twice or lost in between.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.fileio import PRIVATE

_PRIVATE_KEY = re.compile(r"(?i)\b(0x)?[0-9a-f]{64}\b")
_MANY_WORDS = re.compile(r"\b(?:[a-z]{3,8}\s+){11,}[a-z]{3,8}\b")
LOG_FILE_NAME = "paygo-desktop.log"


class PublicHex(str):
    """A value known to be public (a transaction hash, a channel's or a job's id), as ``0x``-hex: the log
    filter leaves it whole. Made by ``public_hex`` from what the chain or the store gave, never from a key."""


def public_hex(value: bytes | str) -> PublicHex:
    """``value`` (bytes, or hex with or without ``0x``) as a ``PublicHex`` for a log line's arguments."""
    if isinstance(value, bytes):
        return PublicHex("0x" + value.hex())
    return PublicHex(value if value.startswith(("0x", "0X")) else "0x" + value)


def _scrub(text: str) -> str:
    return _MANY_WORDS.sub("[redacted words]", _PRIVATE_KEY.sub("[redacted hex]", text))


class RedactSecrets(logging.Filter):
    """Scrubs the formatted line; each ``PublicHex`` argument is put back whole after the scrub (it stands
    in the line as a marker no secret pattern matches while the rest is scrubbed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_scrubbed", False):  # by the filter of another handler (the file, then stderr)
            return True
        args = record.args
        public: list[str] = []
        if isinstance(args, tuple) and any(isinstance(arg, PublicHex) for arg in args):
            marked: list[object] = []
            for arg in args:
                if isinstance(arg, PublicHex):
                    marked.append(f"\x00{len(public)}\x00")
                    public.append(str(arg))
                else:
                    marked.append(arg)
            record.args = tuple(marked)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: logging reports it, without the arguments
            record.msg, record.args = _scrub(str(record.msg)) + " [arguments withheld: bad format]", None
            record._scrubbed = True
            return True
        cleaned = _scrub(message)
        for i, value in enumerate(public):
            cleaned = cleaned.replace(f"\x00{i}\x00", value, 1)
        if cleaned != message or public:
            record.msg, record.args = cleaned, None
        record._scrubbed = True
        return True


def scrub_every_handler() -> None:
    """The same filter on each of the root logger's handlers (the reference provider's stderr, set by
    ``logging.basicConfig``): the provider holds a key too."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


MAX_BYTES = 2_000_000
BACKUP_COUNT = 3

if TYPE_CHECKING:
    from logging.handlers import RotatingFileHandler


def _open_private(handler: logging.FileHandler) -> Any:
    """The log file, created readable by its owner only (0600, like the database)."""
    fd = os.open(handler.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
    os.chmod(handler.baseFilename, PRIVATE)  # a file made by an earlier version may be wider
    return os.fdopen(fd, handler.mode, encoding=handler.encoding, errors=handler.errors)


class PrivateFileHandler(logging.FileHandler):
    """The log file until rotation starts (``start_rotating``), readable by its owner only."""

    def _open(self):  # type: ignore[no-untyped-def]
        return _open_private(self)


def rotating_handler(log_file: Path) -> RotatingFileHandler:
    """A rotating log file readable by its owner only: every file it opens, the first and each one after
    a rotation, is created 0600."""
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        def _open(self):  # type: ignore[no-untyped-def]
            return _open_private(self)

    return PrivateRotatingFileHandler(
        log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )


def setup_logging(log_dir: Path, *, debug: bool = False, rotating: bool = True) -> Path:
    """Log to ``log_dir``'s file (and stderr with ``debug``); ``rotating=False``: through a plain handler
    until ``start_rotating()``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paygo", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = rotating_handler(log_file) if rotating else PrivateFileHandler(log_file, encoding="utf-8")
    handlers: list[logging.Handler] = [file_handler]
    if debug:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        _add(root, handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    return log_file


def start_rotating() -> None:
    """Hand the log file from the plain handler of ``setup_logging(rotating=False)`` to a rotating one.
    The rotating one is in place before the plain one goes, so a record from another thread meanwhile
    lands in the file through one of them (the file is opened for appending by both)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, PrivateFileHandler) and getattr(handler, "_paygo", False):
            _add(root, rotating_handler(Path(handler.baseFilename)))
            root.removeHandler(handler)
            handler.close()


def _add(root: logging.Logger, handler: logging.Handler) -> None:
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    handler._paygo = True  # type: ignore[attr-defined]
    root.addHandler(handler)
