"""A per-request service (paid with x402, issue 16) starts no session: planning it says so in plain words,
before anything is signed or funded."""

from __future__ import annotations

import pytest

from paygo_desktop.sessions.plan import SessionError
from tests.sessions.conftest import World, run


def test_planning_a_per_request_service_is_refused(world: World) -> None:
    async def scenario() -> None:
        service = await world.add_service(amount=10_000, unit="per_request", tick=1, grace=1)
        engine = world.engine()
        try:
            with pytest.raises(SessionError, match="paid per request with x402"):
                await engine.plan(world.provider.url, service.id)
        finally:
            await engine.shutdown()

    run(world.env, scenario)
