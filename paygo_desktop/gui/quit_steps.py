"""What the window finishes before it closes for good, in one task on the running loop.

Running sessions are stopped properly (final voucher, the provider's receipt, what the chain says of the
channel), for at most ``STOP_SECONDS``: a provider or node that does not answer cannot hold quitting up.
A stop cut short is finished at the next start, as after a crash (the engine's recovery): what the provider
may claim is what was already signed, never more. The x402 proxy stops (it bounds itself). Then what is
only held open is closed, each within
``RELEASE_SECONDS`` so that a node that does not answer cannot hold quitting up: the pages' connections
(``Page.release``) and the session engines' connections to the node and the providers. Closed here, their
sockets end cleanly instead of being found open by the garbage collector at exit (which logs "Unclosed
client session" for each). A step that fails is logged and quitting goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paygo_desktop.gui.pages.base import Page
    from paygo_desktop.gui.sessions.controller import SessionController
    from paygo_desktop.gui.x402_proxy_control import X402ProxyControl

log = logging.getLogger(__name__)

STOP_SECONDS = 20.0  # the running sessions' stops, together, at most
RELEASE_SECONDS = 1.0  # one page or the engines closing their connections, at most


async def before_quit(
    sessions: SessionController, x402_proxy: X402ProxyControl, pages: Iterable[Page]
) -> None:
    if sessions.has_live():
        await _step("stopping the running sessions", sessions.shutdown(), STOP_SECONDS)
    if x402_proxy.running:
        await _step("stopping the x402 proxy", x402_proxy.close())
    for page in pages:
        await _step(f"closing the {page.key} page's connections", page.release(), RELEASE_SECONDS)
    if sessions.has_engines():  # an earlier session's engine: its node and provider connections
        await _step("closing the session engines' connections", sessions.shutdown(), RELEASE_SECONDS)


async def _step(what: str, work: Awaitable[object], seconds: float | None = None) -> None:
    try:
        await asyncio.wait_for(work, seconds)
    except Exception:  # a node or provider that does not answer, or is gone
        log.info("%s before quitting failed", what, exc_info=True)
