"""What an HTTP answer from another machine is held to beyond its size: plain bytes, a floor under its pace.

**Plain bytes.** A size cap counts decoded bytes, but an HTTP client decodes each compressed chunk whole
before anyone counts it, and ``Content-Encoding: gzip, gzip`` nests the layers: 1.8 KB sent became 1 GiB
in memory. Every client asks for plain answers (``PLAIN``) and ``refuse_compressed`` turns away any answer
that is compressed anyway, before a byte of its body is read.

**A floor under the pace.** httpx's time limits are per step (connecting, each read, each write), so a
server that sends a byte now and then holds a request for ever without breaking any of them. An answer
that may be large (a job's delivered file, a paid x402 answer) cannot have one fixed deadline either:
instead, once it has run ``AFTER_SECONDS``, it must have come at ``FLOOR_BYTES_PER_SECOND`` on average, or
it is given up on. (Small answers, a provider's protocol replies, have a deadline for the whole request:
``ProviderClient``.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping

PLAIN = {"Accept-Encoding": "identity"}  # the request headers that ask for an answer as it is
AFTER_SECONDS = 30.0
FLOOR_BYTES_PER_SECOND = 8 * 1024


class Compressed(Exception):
    """Not for a person as it is: the caller words it (``encoding``: what the answer said it was)."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"compressed ({encoding[:40]})")
        self.encoding = encoding

    def told(self, sender: str) -> str:
        """What a person reads: ``sender`` ("The provider", an origin) sent it."""
        return f"{sender} sent a {self.encoding[:40]}-compressed answer; only plain ones are read."


def refuse_compressed(headers: Mapping[str, str]) -> None:
    """Raises ``Compressed`` when an answer's headers say its body is encoded (anything but identity)."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise Compressed(encoding)


class TooSlow(Exception):
    """Not for a person as it is: the caller words it (``size`` bytes came in ``seconds``)."""

    def __init__(self, size: int, seconds: float) -> None:
        super().__init__(f"{size} bytes in {seconds:.0f} s")
        self.size, self.seconds = size, seconds


class Pace:
    """Started when the answer's first bytes are awaited; ``check`` after each chunk read."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    def check(self, size: int) -> None:
        """``size``: the bytes read so far. Raises ``TooSlow`` below the floor."""
        took = time.monotonic() - self.began
        if took > AFTER_SECONDS and size < took * FLOOR_BYTES_PER_SECOND:
            raise TooSlow(size, took)
