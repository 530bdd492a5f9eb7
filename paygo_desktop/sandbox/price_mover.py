"""The sandbox's price feeds, moved now and then so that their answers stay fresh and change.

Each feed (``testing/MockAggregator``, deployed by the sandbox) gets a new round every ``interval`` seconds:
its last answer moved by a small random step (``prices.feeds.SANDBOX_FEEDS``), never below a cent. The
prices are made up; only their freshness and their movement are real (what the app shows beside amounts,
and the "price then" of an export, come from these rounds). A sandbox that is not running moves nothing:
its feeds go stale, and the app then shows "—".
"""

from __future__ import annotations

import logging
import random
import threading
from decimal import Decimal

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from paygo_desktop.prices.feeds import FEED_DECIMALS, SANDBOX_FEEDS
from paygo_desktop.sandbox.node import SandboxError, rpc

log = logging.getLogger(__name__)

MOVE_INTERVAL = 300.0  # seconds; the sandbox feeds' heartbeat is an hour
_SET_ANSWER = keccak(text="setAnswer(int256)")[:4]
_LATEST = keccak(text="latestRoundData()")[:4]
_STEPS = {symbol: Decimal(step) for symbol, _, step in SANDBOX_FEEDS}
_FLOOR = 10 ** (FEED_DECIMALS - 2)  # one cent


def latest_answer(rpc_url: str, feed: str) -> int:
    raw = rpc(rpc_url, "eth_call", [{"to": feed, "data": "0x" + _LATEST.hex()}, "latest"])
    return int(abi_decode(["uint80", "int256", "uint256", "uint256", "uint80"], bytes.fromhex(raw[2:]))[1])


def set_answer(rpc_url: str, sender: str, feed: str, answer: int) -> None:
    data = _SET_ANSWER + abi_encode(["int256"], [answer])
    rpc(rpc_url, "eth_sendTransaction", [{"from": sender, "to": feed, "data": "0x" + data.hex()}])


def step(symbol: str, answer: int, rng: random.Random) -> int:
    """``answer`` moved by at most the symbol's step (a fraction of it), up or down."""
    fraction = _STEPS.get(symbol, Decimal("0.001")) * Decimal(rng.uniform(-1, 1))
    return max(_FLOOR, int(Decimal(answer) * (1 + fraction)))


class PriceMover:
    def __init__(
        self, rpc_url: str, sender: str, feeds: dict[str, str], interval: float = MOVE_INTERVAL
    ) -> None:
        self.rpc_url = rpc_url
        self.sender = sender
        self.feeds = dict(feeds)
        self.interval = interval
        self._stop = threading.Event()
        self._rng = random.Random()
        self._thread = threading.Thread(target=self._run, name="sandbox-price-mover", daemon=True)

    def move_all(self) -> None:
        for symbol, feed in self.feeds.items():
            try:
                set_answer(
                    self.rpc_url,
                    self.sender,
                    feed,
                    step(symbol, latest_answer(self.rpc_url, feed), self._rng),
                )
            except (SandboxError, OSError, ValueError) as exc:
                log.info("feed %s not moved: %s", symbol, exc)

    def start(self) -> None:
        self.move_all()  # fresh at once: a kept chain's feeds may have aged while it was stopped
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.move_all()
