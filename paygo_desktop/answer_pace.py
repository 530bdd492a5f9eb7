"""A floor under how slowly an HTTP answer may come.

httpx's time limits are per step (connecting, each read, each write), so a server that sends a byte now and
then holds a request for ever without breaking any of them. An answer that may be large (a job's delivered
file, a paid x402 answer) cannot have one fixed deadline either: instead, once it has run
``AFTER_SECONDS``, it must have come at ``FLOOR_BYTES_PER_SECOND`` on average, or it is given up on.
(Small answers, a provider's protocol replies, have a deadline for the whole request: ``ProviderClient``.)
"""

from __future__ import annotations

import time

AFTER_SECONDS = 30.0
FLOOR_BYTES_PER_SECOND = 8 * 1024


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
