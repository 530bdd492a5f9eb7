"""Safe file writes: a temp file with its permissions set before any data, fsync, then an atomic rename.

A crash at any point leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE = 0o600


def atomic_write_bytes(path: Path, data: bytes, mode: int = PRIVATE) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, mode: int = PRIVATE) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
