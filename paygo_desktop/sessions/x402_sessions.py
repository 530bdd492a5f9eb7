"""Which running session can serve an x402 request instead of a per-request payment.

A PayGo provider's 402 may name the session-priced service that serves the same upstream
(``x402.session_offer``). ``session_access`` finds, among the app's running sessions, one with that
provider for that service whose service is delivered through the provider's gateway, and hands its access
to the payer, which then sends the request there (no x402 payment). It never starts a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from paygo_desktop.errors import UserFacingError
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.x402.limits import origin_of
from paygo_desktop.x402.session_offer import SessionAccess, SessionOffer


def session_access(live: Callable[[], Iterable[LiveSession]]) -> SessionAccess:
    """A lookup over ``live()`` (the running sessions, read when a 402 names a session-priced service)."""

    def find(offer: SessionOffer) -> m.Access | None:
        for session in live():
            access = session.access
            if not session.is_active or access is None or not access.service_url:
                continue
            if session.terms.service_id != offer.service_id:
                continue
            try:
                if origin_of(session.terms.provider_url) != offer.origin:
                    continue
            except UserFacingError:
                continue
            return access
        return None

    return find


def snapshot(sessions: Iterable[LiveSession]) -> SessionAccess:
    """The same lookup over the sessions running now, copied (for a worker thread, which must not read the
    engines' live list while the event loop changes it)."""
    frozen = [s for s in sessions if s.is_active and s.access is not None]
    return session_access(lambda: frozen)
