"""What an escrow session's start checks before it pays: the catalog's terms within the bounds PayGo pays
under, the service's rate and terms asked again, and a provider that sheds new sessions."""

from __future__ import annotations

import contextlib

from paygo_desktop.metering.signing_limit import Terms, TermsRefused
from paygo_desktop.protocol.client import ProviderClient, ProviderError
from paygo_desktop.sessions.plan import SessionError, SessionPlan


def catalog_terms(plan: SessionPlan) -> Terms:
    """The catalog's terms the user saw, within the bounds PayGo pays under."""
    try:
        return Terms(plan.price, plan.tick_seconds, plan.grace_seconds)
    except TermsRefused as exc:
        raise SessionError(f"{exc} Nothing was paid.") from None


async def check_rate(plan: SessionPlan, client: ProviderClient) -> None:
    """The service's rate, tick and grace now must be the ones the user agreed to in the plan: the one
    thing the start asks the provider again before it pays anything."""
    current = await client.get_service(plan.service.id)
    if current.rate != plan.service.rate:
        raise SessionError(
            f"{plan.provider.name} changed the rate of “{plan.service.name}” from "
            f"{plan.rate_text()} to {plan.rate_text(current.rate)}. "
            "Nothing was paid; look at the new rate and start again."
        )
    if (current.tick_seconds, current.grace_seconds) != (plan.tick_seconds, plan.grace_seconds):
        raise SessionError(
            f"{plan.provider.name} changed the terms of “{plan.service.name}” (tick "
            f"{plan.tick_seconds} s → {current.tick_seconds} s, grace {plan.grace_seconds} s → "
            f"{current.grace_seconds} s). Nothing was paid; look at the new terms and start again."
        )


async def check_not_busy(plan: SessionPlan, client: ProviderClient) -> None:
    """A provider that sheds new sessions (its /health says so) gets no deposit for a session it cannot
    give; a provider that cannot say (an older one) is asked by the start itself."""
    with contextlib.suppress(ProviderError):
        health = await client.health()
        if not health.accepting_sessions:
            wait = health.retry_after or 30
            raise SessionError(f"{plan.provider.name} is busy; try again in {wait} s. Nothing was paid.")
