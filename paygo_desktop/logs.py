"""Logging: a rotating file in the data directory; with --debug, stderr too.

A filter scrubs anything shaped like a private key or a mnemonic from every record, as a last line of
defence: the code never logs secrets on purpose.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

from paygo_desktop.fileio import PRIVATE

_PRIVATE_KEY = re.compile(r"(?i)\b(0x)?[0-9a-f]{64}\b")
_MANY_WORDS = re.compile(r"\b(?:[a-z]{3,8}\s+){11,}[a-z]{3,8}\b")
LOG_FILE_NAME = "paygo-desktop.log"


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _MANY_WORDS.sub("[redacted words]", _PRIVATE_KEY.sub("[redacted hex]", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file readable by its owner only (0600, like the database): every file it opens,
    the first and each one after a rotation, is created with that mode."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
        os.chmod(self.baseFilename, PRIVATE)  # a file made by an earlier version may be wider
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(log_dir: Path, *, debug: bool = False) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paygo", False):
            root.removeHandler(handler)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    file_handler = PrivateRotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handlers: list[logging.Handler] = [file_handler]
    if debug:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactSecrets())
        handler._paygo = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    return log_file
