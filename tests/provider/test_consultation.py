"""The consultation over loopback: the sandbox's real chat room (sandbox.chat_room) behind the real
provider's gateway (anvil, real vouchers), and its vendor answering from the real ``paygo-desktop provider
chat`` process on stdin/stdout. The user's question reaches the vendor, the answer comes back, and the
chat is cut by the gateway when the session stops; the vendor's side takes only the room's secret and is
never reachable through the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from paygo_desktop.sandbox.chat_access import CHAT_SECRET_ENV
from paygo_desktop.sandbox.chat_room import chat_app
from tests.chain.conftest import Env, _free_port
from tests.provider.chat_world import SECRET, VendorProcess
from tests.provider.conftest import Server, provider_server, run_server
from tests.provider.gateway_world import CHAT, CUT_WITHIN, WATCH, astop, bearer, start


@pytest.fixture(scope="module")
def room() -> Iterator[int]:
    port = _free_port()
    server, thread = run_server(chat_app(SECRET), port)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def gateway(env: Env, tmp_path: Path, room: int) -> Iterator[Server]:
    services = {CHAT: {"upstream": f"ws://127.0.0.1:{room}/user", "delivery": "websocket"}}
    with provider_server(env, tmp_path, services=services, gateway_watch_interval=WATCH) as s:
        yield s


def test_a_paid_question_reaches_the_vendor_and_the_answer_comes_back_until_the_session_stops(
    gateway: Server, room: int, tmp_path: Path
) -> None:
    vendor = VendorProcess(f"ws://127.0.0.1:{room}/vendor", tmp_path / "vendor-data")
    try:
        vendor.expect("connected to")
        started = start(gateway, CHAT)
        ws_url = "ws" + started.access.service_url.removeprefix("http")

        async def go() -> float:
            async with connect(ws_url, additional_headers=bearer(started)) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert hello["from"] == "room" and "consultant is here" in hello["text"]
                await ws.send("May I sublet my flat?")
                heard = await asyncio.to_thread(vendor.expect, "May I sublet")
                assert heard.startswith("[c") and heard.endswith("] May I sublet my flat?")
                vendor.say("Yes, with the landlord's written consent.")
                answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert answer["from"] == "vendor"
                assert answer["text"] == "Yes, with the landlord's written consent."
                await astop(gateway, started)
                stopped = time.monotonic()
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
                return time.monotonic() - stopped

        assert gateway.env.run(go()) < CUT_WITHIN
        assert vendor.expect("] left")

        async def again() -> None:  # the stopped session's token opens nothing
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws_url, additional_headers=bearer(started)):
                    pass
            assert refused.value.response.status_code == 410

        gateway.env.run(again())
    finally:
        vendor.close()


def test_the_vendor_side_needs_the_rooms_secret_and_is_not_reachable_through_the_gateway(
    gateway: Server, room: int
) -> None:
    started = start(gateway, CHAT)
    base = "ws" + started.access.service_url.removeprefix("http")

    async def go() -> None:
        for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://127.0.0.1:{room}/vendor", additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 403
        for path, status in (
            ("../vendor", 400),
            ("%2e%2e/vendor", 400),
            ("vendor", 502),
        ):  # /user/vendor: no such room path
            with pytest.raises(InvalidStatus) as refused:
                async with connect(base + path, additional_headers=bearer(started)):
                    pass
            assert refused.value.response.status_code == status, path

    gateway.env.run(go())


def test_the_vendor_command_says_what_is_wrong_without_a_traceback(room: int, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(tmp_path), "provider", "chat"]
    env = {k: v for k, v in os.environ.items() if k != CHAT_SECRET_ENV}
    no_sandbox = subprocess.run(base, capture_output=True, text=True, env=env, timeout=60, input="")
    assert no_sandbox.returncode == 2 and "no sandbox consultation here" in no_sandbox.stderr
    wrong = subprocess.run(
        [*base, "--url", f"ws://127.0.0.1:{room}/vendor"],
        capture_output=True,
        text=True,
        env={**env, CHAT_SECRET_ENV: "wrong-secret"},
        timeout=60,
        input="",
    )
    assert wrong.returncode == 2 and "refused the vendor" in wrong.stderr
    assert "Traceback" not in wrong.stderr + no_sandbox.stderr


def test_a_binary_message_ends_only_its_own_conversation(room: int) -> None:
    async def go() -> None:
        async with connect(f"ws://127.0.0.1:{room}/user") as other:
            await asyncio.wait_for(other.recv(), 10)  # the room's hello
            async with connect(f"ws://127.0.0.1:{room}/user") as rude:
                await asyncio.wait_for(rude.recv(), 10)
                await rude.send(b"\x00\x01")
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(rude.recv(), 10)
            await other.send("still there?")
            reply = json.loads(await asyncio.wait_for(other.recv(), 10))
            assert reply["from"] == "room" and "No consultant" in reply["text"]  # the room still answers

    asyncio.run(go())


def test_the_vendor_side_cancelled_leaves_no_task_behind(room: int) -> None:
    """Quitting the app (the Vendor page's chat) or Ctrl-C in the terminal cancels the vendor's relay: its
    reader and writer end with it, and none is left failing where nobody reads it (asyncio then logs
    "Task exception was never retrieved" with a traceback)."""
    import contextlib
    import gc

    from paygo_desktop.vendor.chat import relay

    async def cancelled_while_connected() -> tuple[list[str], list[dict[str, object]]]:
        unread: list[dict[str, object]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: unread.append(context))
        heard: list[str] = []

        async def nothing_to_say() -> AsyncIterator[str]:
            await asyncio.Event().wait()
            yield ""

        url = f"ws://127.0.0.1:{room}/vendor"
        task = asyncio.ensure_future(relay(url, SECRET, nothing_to_say(), heard.append))
        while not heard:
            await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)
        gc.collect()  # a task whose exception nobody read reports it when it is collected
        await asyncio.sleep(0)
        return heard, unread

    heard, unread = asyncio.run(cancelled_while_connected())
    assert heard[0].startswith("connected to")
    assert unread == []
