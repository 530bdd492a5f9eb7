"""``NewestRead``: of a page's reads that overlap, only the newest fills the page, and every next step asked
for runs after that fill (real Qt, the qasync loop, reads in worker threads or on the loop).

Each read here waits for the test to let it return, so the tests choose which read is out when, and in
which order they would return."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import NewestRead, TaskRunner

WAIT = 5_000


class Reads:
    """Blocking reads that return only when let go, each noting that it started and in which thread."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.threads: list[int] = []
        self.gates: dict[str, threading.Event] = {}

    def read(self, name: str, result: object = None, error: Exception | None = None) -> Callable[[], object]:
        gate = self.gates.setdefault(name, threading.Event())

        def read() -> object:
            self.started.append(name)
            self.threads.append(threading.get_ident())
            if not gate.wait(WAIT / 1000):
                raise TimeoutError(name)
            if error is not None:
                raise error
            return result if result is not None else name

        return read

    def let_go(self, name: str) -> None:
        self.gates[name].set()


def page_and_reads(runner: TaskRunner, failed: Callable[[str], None] | None = None) -> tuple[QWidget, Any]:
    page = QWidget()
    return page, NewestRead(runner, "test-read", failed=failed, parent=page)


def test_of_two_overlapping_reads_only_the_newest_fills_and_both_next_steps_run_after_it(
    qtbot: Any, event_loop_qt: Any
) -> None:
    runner, reads, seen = TaskRunner(), Reads(), []
    page, newest = page_and_reads(runner)
    newest.request(
        reads.read("first"), lambda r: seen.append(f"fill {r}"), then=lambda: seen.append("then 1")
    )
    qtbot.waitUntil(lambda: reads.started == ["first"], timeout=WAIT)
    newest.request(
        reads.read("second"), lambda r: seen.append(f"fill {r}"), then=lambda: seen.append("then 2")
    )
    qtbot.wait(50)
    assert reads.started == ["first"]  # one read out at a time: the second waits for the first
    reads.let_go("first")
    qtbot.waitUntil(lambda: reads.started == ["first", "second"], timeout=WAIT)
    assert seen == []  # the first one's result was dropped: a newer request had come
    reads.let_go("second")
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert seen == ["fill second", "then 1", "then 2"]
    assert threading.get_ident() not in reads.threads  # read off the GUI thread
    del page


def test_a_burst_of_requests_costs_two_reads_and_every_next_step_runs_after_the_newest(
    qtbot: Any, event_loop_qt: Any
) -> None:
    runner, reads, seen = TaskRunner(), Reads(), []
    page, newest = page_and_reads(runner)
    for name in ("a", "b", "c"):
        newest.request(
            reads.read(name), lambda r: seen.append(f"fill {r}"), then=lambda n=name: seen.append(n)
        )
    qtbot.waitUntil(lambda: reads.started == ["a"], timeout=WAIT)
    for name in ("a", "b", "c"):
        reads.let_go(name)
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert reads.started == ["a", "c"]  # "b" was overtaken before its turn came: never read
    assert seen == ["fill c", "a", "b", "c"]
    del page


def test_results_cannot_arrive_out_of_order_a_slow_read_never_overwrites_a_newer_one(
    qtbot: Any, event_loop_qt: Any
) -> None:
    """An async read that is slow, then a fast one asked for after it: the fast one is not started beside the
    slow one (where it would return first and be overwritten by the older result); it starts when the slow
    one returns, whose result is dropped, and it alone fills the page."""
    runner, seen, started = TaskRunner(), [], []
    page, newest = page_and_reads(runner)
    slow_gate = asyncio.Event()

    async def slow() -> str:
        started.append("slow")
        await slow_gate.wait()
        return "old figures"

    async def fast() -> str:
        started.append("fast")
        return "new figures"

    newest.request(slow, seen.append)
    qtbot.waitUntil(lambda: started == ["slow"], timeout=WAIT)
    newest.request(fast, seen.append)
    qtbot.wait(50)
    assert started == ["slow"] and seen == []
    slow_gate.set()
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert started == ["slow", "fast"]
    assert seen == ["new figures"]
    qtbot.wait(20)
    assert seen == ["new figures"]  # and nothing older after it
    del page


def test_a_failed_read_fills_nothing_says_why_and_keeps_its_next_step_for_the_next_read(
    qtbot: Any, event_loop_qt: Any
) -> None:
    runner, reads, seen, errors = TaskRunner(), Reads(), [], []
    page, newest = page_and_reads(runner, failed=errors.append)
    broken = reads.read("broken", error=UserFacingError("The store is busy; try again."))
    newest.request(broken, lambda r: seen.append(f"fill {r}"), then=lambda: seen.append("then 1"))
    reads.let_go("broken")
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert errors == ["The store is busy; try again."]
    assert seen == []  # neither filled nor run as if it had succeeded
    newest.request(reads.read("fine"), lambda r: seen.append(f"fill {r}"), then=lambda: seen.append("then 2"))
    reads.let_go("fine")
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert seen == ["fill fine", "then 1", "then 2"]  # the kept step ran after the next read that filled
    assert errors == ["The store is busy; try again."]
    del page


def test_a_failure_overtaken_by_a_newer_request_is_not_shown_and_the_request_s_own_handler_wins(
    qtbot: Any, event_loop_qt: Any
) -> None:
    runner, reads, seen, page_errors, own_errors = TaskRunner(), Reads(), [], [], []
    page, newest = page_and_reads(runner, failed=page_errors.append)
    newest.request(reads.read("old", error=UserFacingError("old trouble")), seen.append)
    qtbot.waitUntil(lambda: reads.started == ["old"], timeout=WAIT)
    newest.request(
        reads.read("new", error=UserFacingError("new trouble")), seen.append, failed=own_errors.append
    )
    reads.let_go("old")
    reads.let_go("new")
    qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
    assert reads.started == ["old", "new"]
    assert (seen, page_errors, own_errors) == ([], [], ["new trouble"])
    del page


def test_a_page_deleted_while_its_read_is_out_is_never_filled(qtbot: Any, event_loop_qt: Any) -> None:
    runner, reads, seen = TaskRunner(), Reads(), []
    page, newest = page_and_reads(runner)
    newest.request(reads.read("late"), seen.append, then=lambda: seen.append("then"))
    qtbot.waitUntil(lambda: reads.started == ["late"], timeout=WAIT)
    shiboken6.delete(page)
    reads.let_go("late")
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    qtbot.wait(20)
    assert seen == []


def test_requests_that_never_stop_coming_still_fill_the_page(qtbot: Any, event_loop_qt: Any) -> None:
    """A request during every read (a change announced faster than a read takes) drops each result in turn;
    after MAX_DROPPED in a row the next fills the page anyway: newer than what it shows, never nothing for
    ever. The next steps still wait for the newest read."""
    from paygo_desktop.gui.async_tasks import MAX_DROPPED

    runner, reads, seen = TaskRunner(), Reads(), []
    page, newest = page_and_reads(runner)
    try:
        rounds = MAX_DROPPED + 2
        newest.request(
            reads.read("read 0"), lambda r: seen.append(f"fill {r}"), then=lambda: seen.append("then")
        )
        for n in range(1, rounds + 1):
            qtbot.waitUntil(lambda n=n: len(reads.started) == n, timeout=WAIT)
            newest.request(reads.read(f"read {n}"), lambda r: seen.append(f"fill {r}"))
            reads.let_go(f"read {n - 1}")
        qtbot.waitUntil(lambda: len(reads.started) == rounds + 1, timeout=WAIT)
        assert seen == [f"fill read {MAX_DROPPED}"]  # the first MAX_DROPPED dropped, the next one shown
        reads.let_go(f"read {rounds}")
        qtbot.waitUntil(lambda: not newest.busy, timeout=WAIT)
        assert seen == [f"fill read {MAX_DROPPED}", f"fill read {rounds}", "then"]
    finally:  # no read left waiting, should an assertion fail
        for gate in reads.gates.values():
            gate.set()
    del page
