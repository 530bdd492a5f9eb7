"""The one way a view starts background work, like Anki's CollectionOp.

``runner.run(work, on_success=..., on_error=...)`` takes a coroutine (network I/O on the asyncio loop
that qasync runs inside Qt) or a blocking callable (run with ``asyncio.to_thread``). The work never
touches widgets; its outcome reaches the GUI through the ``Task`` signals. A ``UserFacingError`` is
delivered as its own message; anything else is logged in full and reported as a generic message.

asyncio is imported when the first task starts, not with this module: the window paints first.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

from PySide6.QtCore import QObject, Signal

from paygo_desktop.errors import UserFacingError, describe_error

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong; details are in the log."


class Task(QObject):
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.future: asyncio.Future[Any] | None = None

    def cancel(self) -> None:
        if self.future is not None and not self.future.done():
            self.future.cancel()


class TaskRunner(QObject):
    """Starts background work for the views and keeps each task alive until it is done."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[Task] = set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def run(
        self,
        work: Awaitable[Any] | Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        name: str | None = None,
    ) -> Task:
        # No Qt parent: the runner keeps the task alive in ``_tasks`` and Python frees it when it is done.
        # As a child of the runner, a task could be deleted twice: a finished task's slots (closures)
        # may hold the last reference to the runner's owner, whose release deletes the runner and its
        # children while that very task is being destroyed (heap corruption, seen in the GUI tests).
        task = Task(name or str(getattr(work, "__qualname__", type(work).__name__)))
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_error is not None:
            task.failed.connect(on_error)
        import asyncio

        was_busy = self.busy
        self._tasks.add(task)
        task.future = asyncio.ensure_future(self._drive(task, work, args))
        # done however it ends: a task cancelled before it first ran never enters ``_drive``'s ``finally``
        task.future.add_done_callback(lambda _future: self._done(task, work))
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _done(self, task: Task, work: object = None) -> None:
        if inspect.iscoroutine(work):
            work.close()  # never awaited if cancelled first: closed, not left to warn when collected
        if task not in self._tasks:
            return
        self._tasks.discard(task)
        task.finished.emit()
        if not self._tasks:
            self.busy_changed.emit(False)

    async def _drive(
        self, task: Task, work: Awaitable[Any] | Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        import asyncio

        try:
            if inspect.isawaitable(work):
                result = await work
            else:
                result = await asyncio.to_thread(work, *args)
        except asyncio.CancelledError:
            log.debug("task %s cancelled", task.name)
        except UserFacingError as exc:
            log.info("task %s: %s", task.name, exc)
            task.failed.emit(describe_error(exc, GENERIC_ERROR))
        except Exception:
            log.exception("task %s failed", task.name)
            task.failed.emit(GENERIC_ERROR)
        else:
            task.succeeded.emit(result)
        finally:
            self._done(task)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
