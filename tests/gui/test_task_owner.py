"""A task whose owner (the widget that started it) is deleted while it waits is cancelled and ends in silence:
nothing is emitted into the deleted widget, and nothing is logged as an error ("Signal source has been
deleted" was, when a window went away under a waiting task)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from paygo_desktop.gui.async_tasks import TaskRunner


class Asker(QWidget):
    """A widget that starts work and takes its answer in a method of its own, as the views do."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[object] = []

    def answered(self, value: object) -> None:
        self.answers.append(value)


def ends(task: Any) -> list[object]:
    seen: list[object] = []
    task.succeeded.connect(lambda value: seen.append(("succeeded", value)))
    task.failed.connect(lambda message: seen.append(("failed", message)))
    task.finished.connect(lambda: seen.append("finished"))
    return seen


def errors(caplog: Any) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_waiting_coroutine_whose_owner_is_deleted_is_cancelled_and_emits_nothing(
    qtbot: Any, event_loop_qt: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    runner = TaskRunner()
    owner = Asker()
    release = asyncio.Event()
    started: list[bool] = []

    async def waits() -> str:
        started.append(True)
        await release.wait()
        return "too late"

    task = runner.run(waits(), on_success=owner.answered, on_error=owner.answered, name="waits")
    seen = ends(task)
    qtbot.waitUntil(lambda: bool(started), timeout=5_000)
    shiboken6.delete(owner)  # the window closed while the task waits
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5_000)
    qtbot.wait(50)
    assert seen == []
    assert errors(caplog) == []
    assert task.orphaned and task.cancelled


def test_a_blocking_call_whose_named_owner_is_deleted_finishes_unheard(
    qtbot: Any, event_loop_qt: Any, caplog: Any
) -> None:
    """The owner named with ``owner=`` (the callbacks are closures); the thread runs to its end, its result
    is dropped."""
    caplog.set_level(logging.DEBUG)
    runner = TaskRunner()
    owner = QWidget()
    answers: list[object] = []
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(5)
        done.set()
        return "too late"

    task = runner.run(work, on_success=answers.append, on_error=answers.append, owner=owner)
    seen = ends(task)
    qtbot.waitUntil(started.is_set, timeout=5_000)
    shiboken6.delete(owner)
    release.set()
    qtbot.waitUntil(done.is_set, timeout=5_000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5_000)
    qtbot.wait(50)
    assert answers == [] and seen == []
    assert errors(caplog) == []
    assert task.orphaned and task.cancelled


def test_a_runner_deleted_with_its_window_drops_its_tasks_in_silence(
    qtbot: Any, event_loop_qt: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    window = QWidget()
    runner = TaskRunner(window)
    release = asyncio.Event()
    answers: list[object] = []
    started: list[bool] = []

    async def waits() -> str:
        started.append(True)
        await release.wait()
        return "too late"

    task = runner.run(waits(), on_success=answers.append)
    seen = ends(task)
    qtbot.waitUntil(lambda: bool(started), timeout=5_000)
    shiboken6.delete(window)  # and the runner, its child, with it
    assert not shiboken6.isValid(runner)
    release.set()
    qtbot.waitUntil(lambda: task.future is not None and task.future.done(), timeout=5_000)
    qtbot.wait(50)
    assert answers == [] and seen == []
    assert errors(caplog) == []
    assert task.orphaned and task.cancelled


def test_a_task_whose_owner_lives_still_answers(qtbot: Any, event_loop_qt: Any) -> None:
    runner = TaskRunner()
    owner = Asker()
    qtbot.addWidget(owner)
    runner.run(lambda: 42, on_success=owner.answered)
    qtbot.waitUntil(lambda: owner.answers == [42], timeout=5_000)
    assert not runner.busy


def test_a_runner_deleted_after_its_loop_has_closed_cancels_nothing_and_raises_nothing() -> None:
    """At exit the window's runner can go after the event loop has closed, with a task still waiting (a
    script that stopped its loop early did): cancelling then would schedule on a dead loop and print a
    traceback. There is nothing left to run, so there is nothing to cancel."""
    from paygo_desktop.gui.async_tasks import Task

    loop = asyncio.new_event_loop()
    task = Task("left waiting")
    task.future = loop.create_future()
    loop.close()
    task.orphan()  # before: RuntimeError("Event loop is closed")
    assert task.orphaned and not task.future.done()
