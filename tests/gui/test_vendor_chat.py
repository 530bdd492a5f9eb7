"""The Vendor page's Consultations tab against the sandbox's real chat room on loopback: a user's question
(a real WebSocket client, in a worker thread) shows in the tab, the vendor's answer typed there reaches
the user; a wrong secret is refused with words."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.vendor_chat import VendorChatPanel
from paygo_desktop.sandbox.chat_room import chat_app
from tests.chain.conftest import _free_port
from tests.provider.chat_world import SECRET
from tests.provider.conftest import run_server


@pytest.fixture
def room() -> Iterator[int]:
    port = _free_port()
    server, thread = run_server(chat_app(SECRET), port)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class User:
    """A user of the room in a thread of its own: sends ``question``, collects what the room says."""

    def __init__(self, url: str, question: str) -> None:
        self.said: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._talk(url, question)), daemon=True)
        self.thread.start()

    def leave(self) -> None:
        """Hang up before the room stops (a room closing under a reading user is not this test's case)."""
        self.done.set()
        self.thread.join(timeout=10)

    async def _talk(self, url: str, question: str) -> None:
        async with connect(url) as ws:
            await ws.send(question)
            while not self.done.is_set():
                with contextlib.suppress(TimeoutError):
                    self.said.put(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))

    def heard(self, text: str) -> bool:
        while not self.said.empty():
            self.seen.append(self.said.get_nowait())
        return any(m.get("from") == "vendor" and m.get("text") == text for m in self.seen)


def test_the_vendor_answers_a_question_from_the_app(
    qtbot: Any, event_loop_qt: Any, room: int, ctx: Any
) -> None:
    panel = VendorChatPanel(ctx, TaskRunner())
    qtbot.addWidget(panel)
    panel.show()
    panel.url.setText(f"ws://127.0.0.1:{room}/vendor")
    panel.secret.setText(SECRET)
    panel.connect_button.click()
    qtbot.waitUntil(lambda: panel.input.isEnabled(), timeout=10_000)
    user = User(f"ws://127.0.0.1:{room}/user", "Is a verbal contract binding?")
    try:
        qtbot.waitUntil(
            lambda: any(line.endswith("] Is a verbal contract binding?") for line in panel.lines())
        )
        assert panel.conversation.currentText().startswith("c")
        panel.input.setText("Often yes, but it is harder to prove.")
        panel.send_button.click()
        qtbot.waitUntil(lambda: user.heard("Often yes, but it is harder to prove."), timeout=10_000)
    finally:
        user.leave()


def test_a_wrong_secret_is_refused_in_words(qtbot: Any, event_loop_qt: Any, room: int, ctx: Any) -> None:
    panel = VendorChatPanel(ctx, TaskRunner())
    qtbot.addWidget(panel)
    panel.url.setText(f"ws://127.0.0.1:{room}/vendor")
    panel.secret.setText("not-the-secret")
    panel.connect_button.click()
    qtbot.waitUntil(lambda: "refused the vendor" in panel.status.text(), timeout=10_000)
    assert panel.connect_button.isEnabled() and not panel.input.isEnabled()
