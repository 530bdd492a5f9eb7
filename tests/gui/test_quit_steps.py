"""Quitting is bounded whatever a session's provider or node does: the running sessions' stops get
``STOP_SECONDS`` together, then quitting goes on (a stop cut short is finished at the next start, as after a
crash). The sessions here are a stand-in whose stop never ends: what a stop does against a provider that
dribbles or a node that is silent is tested on the real engine (tests/sessions/test_hostile_provider.py,
tests/chain/test_rpc_limits.py); this is the bound of the window's quit step itself."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest

from paygo_desktop.gui import quit_steps


class StopsForEver:
    def __init__(self) -> None:
        self.stopping = 0

    def has_live(self) -> bool:
        return True

    def has_engines(self) -> bool:
        return True

    async def shutdown(self) -> None:
        self.stopping += 1
        await asyncio.Event().wait()


async def test_quitting_goes_on_when_the_sessions_stop_never_ends(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(quit_steps, "STOP_SECONDS", 0.3)
    monkeypatch.setattr(quit_steps, "RELEASE_SECONDS", 0.1)
    sessions = StopsForEver()
    began = time.monotonic()
    with caplog.at_level(logging.INFO, logger=quit_steps.__name__):
        await asyncio.wait_for(
            quit_steps.before_quit(sessions, SimpleNamespace(running=False), []),  # type: ignore[arg-type]
            10,
        )
    assert time.monotonic() - began < 1.5
    assert sessions.stopping == 2  # the stop, then closing the engines' connections: each given up on
    assert "stopping the running sessions before quitting failed" in caplog.text
