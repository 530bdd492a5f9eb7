"""What the engine shares with its planner, payers and recovery: the history (through the store's worker,
off the event loop and in order), the clocks, provider clients, and the events it reports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from paygo_desktop.changes import NOTHING, Changes
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.status import EventKind, SessionEvent
from paygo_desktop.store.worker import StoreWorker

log = logging.getLogger(__name__)

NS_PER_SECOND = 1_000_000_000
# How far the provider's receipt may differ from our meter in whole seconds: the provider truncates its
# clock to whole seconds at start and at stop (up to 1 s), and it starts before our meter and stops after
# it by one round trip each.
RECEIPT_SECONDS_TOLERANCE = 2


@dataclass
class Runtime:
    history: SessionHistory
    account: str
    network_key: str
    chain_id: int
    clock: Callable[[], int]  # monotonic nanoseconds
    now: Callable[[], datetime]  # UTC wall clock, for the records
    client_factory: Callable[[str], ProviderClient]
    max_sleep: float = 1.0  # the loop wakes at least this often (seconds) to look at its clock
    request_timeout: float = 10.0
    db: StoreWorker = field(default_factory=StoreWorker)  # ``await rt.db(history.add_voucher, ...)``
    _clients: dict[str, ProviderClient] = field(default_factory=dict)
    _subscribers: list[Callable[[SessionEvent], None]] = field(default_factory=list)

    def client(self, provider_url: str) -> ProviderClient:
        key = provider_url.rstrip("/")
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.client_factory(key)
        return client

    async def close_clients(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, kind: EventKind, local_id: str, message: str, changes: Changes = NOTHING) -> None:
        event = SessionEvent(kind=kind, local_id=local_id, message=message, changes=changes)
        log.info("session %s: %s: %s", local_id, kind.value, message)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not stop a session
                log.exception("a session event subscriber failed")

    @staticmethod
    def seconds_to(ns: int) -> float:
        return max(0.0, ns / NS_PER_SECOND)


def hex_sig(signature: bytes) -> str:
    return "0x" + bytes(signature).hex()
