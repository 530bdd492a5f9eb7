"""Slow and greedy clients: read deadlines and a per-address connection cap for the served provider.

uvicorn has no timeout on receiving a request: ``timeout_keep_alive`` covers only the idle time between two
requests, and is reset by every byte received, so a client that opens a connection and sends nothing, or
trickles its headers or body a byte at a time, holds the connection (and a file descriptor) for as long as
it likes; an ASGI middleware cannot help, it runs only once the headers are parsed. ``guarded_h11`` makes a
subclass of uvicorn's h11 protocol that adds:

* a **header deadline**: a connection must deliver a request's line and headers within ``header_timeout``
  seconds of being opened (or, on a kept-alive connection, of the next request's first byte);
* a **body deadline**: the whole body must follow within ``body_timeout`` seconds of the headers;
* a **per-address cap**: at most ``max_connections_per_ip`` connections open at once from one client
  address (0: no cap); one more is closed as soon as it is accepted.

A connection that misses a deadline is closed. The deadlines stop once a request is fully received, so a
slow response is never cut. Behind a reverse proxy every connection comes from the proxy's address: set
``max_connections_per_ip = 0`` there and let the proxy limit its clients (docs/provider-api.md).

It also stamps each request's **arrival** into its ASGI scope (``provider.load.ARRIVAL_KEY``): the moment
its first bytes were read (``load.edge_time``), which the provider judges lateness by, however long the
request then waits for a busy worker; and the moments its headers (``HEADERS_KEY``) and its body
(``RECEIVED_KEY``) were all read, so that a client sending slowly is not taken for a slow provider.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from paygo_desktop.provider.load import ARRIVAL_KEY, HEADERS_KEY, RECEIVED_KEY, edge_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientLimits:
    header_timeout: float
    body_timeout: float
    max_connections_per_ip: int  # 0: no cap


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines and a per-address connection cap (``guarded_h11``)."""

    limits: ClassVar[ClientLimits]
    open_by_address: ClassVar[dict[str, int]]  # one table per server (``guarded_h11`` makes the class)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body"
        self._address: str | None = None  # counted in open_by_address
        self._arrival: float | None = None  # when the request being received began to arrive
        self._reading: dict[str, Any] | None = None  # the scope of the request whose body is being read

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        cap = self.limits.max_connections_per_ip
        held = self.open_by_address.get(address, 0)
        if cap and held >= cap:
            log.warning(
                "closing a connection from %s: it already holds %d (max_connections_per_ip)", address, held
            )
            transport.close()
            return
        self.open_by_address[address] = held + 1
        self._address = address
        self._expect("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            left = self.open_by_address.get(self._address, 1) - 1
            if left > 0:
                self.open_by_address[self._address] = left
            else:
                self.open_by_address.pop(self._address, None)
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            if self._waiting_for is None:
                self._expect("headers")  # the first bytes of the next request on a kept-alive connection
            if self._arrival is None:
                self._arrival = edge_time()
        before = getattr(self, "scope", None)
        super().data_received(data)
        self._stamp(before)
        self._follow()

    def _stamp(self, before: dict[str, Any] | None) -> None:
        """Give the request whose headers were just parsed its arrival and the moment its headers were in,
        and the request whose body was just read that moment (once; pipelined requests parsed later are
        stamped by the provider's middleware when it sees them)."""
        scope: dict[str, Any] | None = getattr(self, "scope", None)
        if scope is None:
            return
        if scope is not before:  # its headers were parsed from these bytes
            scope[HEADERS_KEY] = edge_time()
            self._reading = scope
        if self._arrival is not None and ARRIVAL_KEY not in scope:
            scope[ARRIVAL_KEY] = self._arrival
            self._arrival = None
        if self._reading is scope and self.conn.their_state in (h11.DONE, h11.MUST_CLOSE):
            scope[RECEIVED_KEY] = edge_time()
            self._reading = None

    def _follow(self) -> None:
        """Move the deadline along with the request: headers, then body, then none."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._expect("body")
        elif state is not h11.IDLE:  # the request is in (DONE), or the connection is closing
            self._disarm()

    def _expect(self, what: str) -> None:
        self._disarm()
        timeout = self.limits.header_timeout if what == "headers" else self.limits.body_timeout
        self._waiting_for = what
        self._deadline = self.loop.call_later(timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = None

    def _too_slow(self) -> None:
        what = self._waiting_for
        self._deadline = None
        self._waiting_for = None
        if self.transport is not None and not self.transport.is_closing():
            log.info(
                "closing a connection from %s: its request %s did not arrive in time", self._address, what
            )
            self.transport.close()


def guarded_h11(limits: ClientLimits) -> type[GuardedH11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits and its own address table."""
    return type("ProviderH11Protocol", (GuardedH11Protocol,), {"limits": limits, "open_by_address": {}})
