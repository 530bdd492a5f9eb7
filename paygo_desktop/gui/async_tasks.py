"""The one way a view starts background work, like Anki's CollectionOp.

``runner.run(work, on_success=..., on_error=...)`` takes a coroutine (network I/O on the asyncio loop
that qasync runs inside Qt) or a blocking callable (run with ``asyncio.to_thread``). The work never
touches widgets; its outcome reaches the GUI through the ``Task`` signals. A ``UserFacingError`` is
delivered as its own message; anything else is logged in full and reported as a generic message.

A task belongs to an owner, the widget that started it (``owner=``, or the QObject whose method is
``on_success``/``on_error``): when the owner is deleted first, the task is cancelled and ends in silence,
none of its signals emitted, since whatever they would reach is gone. A runner deleted with its window
does the same for every task it still has.

``NewestRead`` is the one way a page reads what it shows when reads may overlap (a change announced while
one is out, a filter typed): only the newest read fills the page, and every next step asked for runs
after it.

asyncio is imported when the first task starts, not with this module: the window paints first.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import asyncio

import shiboken6
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
        self.orphaned = False  # its owner is gone: it emits nothing more
        self.cancelled = False  # its work was cancelled (before it ran, or while it waited)

    def cancel(self) -> None:
        future = self.future
        if future is None or future.done():
            return
        if future.get_loop().is_closed():  # the app has exited its loop: nothing runs to be cancelled
            return
        future.cancel()

    def orphan(self, *_destroyed: object) -> None:
        """Its owner was deleted: cancel the work and never emit its end (a blocking callable already
        running in a thread finishes there; its result is dropped)."""
        self.orphaned = True
        self.cancel()

    def emit_end(self, signal: Any, *value: object) -> None:
        """Emit ``signal`` (one of this task's) unless the task was orphaned or is itself deleted."""
        if not self.orphaned and shiboken6.isValid(self):
            signal.emit(*value)


class TaskRunner(QObject):
    """Starts background work for the views and keeps each task alive until it is done."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[Task] = set()
        # deleted with its parent window: its tasks have nobody left to report to (bound to the set, not to
        # self, whose Python side must not be called while Qt destroys it)
        self.destroyed.connect(lambda *_a, tasks=self._tasks: [task.orphan() for task in list(tasks)])

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
        owner: QObject | None = None,
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
        owner = owner if owner is not None else _owner_of(on_success, on_error)
        if owner is not None:
            owner.destroyed.connect(task.orphan)
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
        if task.future is not None and task.future.cancelled():
            task.cancelled = True
        if inspect.iscoroutine(work):
            work.close()  # never awaited if cancelled first: closed, not left to warn when collected
        if task not in self._tasks:
            return
        self._tasks.discard(task)
        task.emit_end(task.finished)
        if not self._tasks and shiboken6.isValid(self):
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
            task.cancelled = True
            log.debug("task %s cancelled", task.name)
        except UserFacingError as exc:
            log.info("task %s: %s", task.name, exc)
            task.emit_end(task.failed, describe_error(exc, GENERIC_ERROR))
        except Exception:
            log.exception("task %s failed", task.name)
            task.emit_end(task.failed, GENERIC_ERROR)
        else:
            task.emit_end(task.succeeded, result)
        finally:
            self._done(task)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


MAX_DROPPED = 3  # overtaken results dropped in a row before one fills the page anyway


class NewestRead(QObject):
    """Reads of what a page shows, of which only the newest fills it.

    ``request(read, fill, then=...)``: ``read`` (a blocking callable, run in a worker thread, or an async
    function, awaited on the loop; called when its turn comes) runs through the page's ``TaskRunner``;
    ``fill`` gets its result on the GUI thread; then every ``then`` asked for since the last fill runs, in
    the order asked.

    One read is out at a time. A request made while one is out waits, in place of any request already
    waiting (whose ``then`` is kept): when the read out returns, its result is dropped (a newer request
    came meanwhile) and the waiting one starts. So results never arrive out of order, only the newest
    fills, and a burst of requests costs two reads, not one each. Requests that keep coming faster than a
    read takes (a change announced during every read) would then leave the page unfilled for ever: after
    ``MAX_DROPPED`` results dropped in a row the next one fills it anyway (still newer than what it shows;
    the ``then`` steps wait for the newest).

    A read that fails fills nothing and runs no ``then``: its message goes to the request's ``failed``
    (else the ``failed`` given here), unless a newer request waits, whose read starts at once and speaks for
    itself. The ``then`` steps are kept, not dropped and never run as if the read had succeeded: they run
    after the next read that fills (the next request: a change announced, the page shown, Refresh). A read
    cancelled (the window closing) ends like a failed one, in silence, and starts nothing more.

    A child of the page (``parent``) and the owner of its tasks: deleted with the page, its reads end in
    silence."""

    def __init__(
        self,
        runner: TaskRunner,
        name: str,
        *,
        failed: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.name = name
        self.failed = failed
        self._out: Task | None = None  # the read out now
        self._out_request: _Request | None = None
        self._waiting: _Request | None = None  # the newest request, waiting for the read out
        self._then: list[Callable[[], None]] = []  # what waits for the next fill
        self._dropped = 0  # results dropped in a row, overtaken by a newer request

    @property
    def busy(self) -> bool:
        """A read is out or waiting."""
        return self._out is not None or self._waiting is not None

    def request(
        self,
        read: Callable[[], Any],
        fill: Callable[[Any], None],
        *,
        then: Callable[[], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        if then is not None:
            self._then.append(then)
        self._waiting = _Request(read, fill, failed or self.failed)
        if self._out is None:
            self._start()

    def _start(self) -> None:
        request, self._waiting = self._waiting, None
        assert request is not None
        work: Any = request.read() if inspect.iscoroutinefunction(request.read) else request.read
        self._out_request = request
        self._out = self.runner.run(
            work, on_success=self._returned, on_error=self._failed, name=self.name, owner=self
        )
        self._out.finished.connect(self._ended)

    def _returned(self, result: object) -> None:
        request = self._out_request
        if request is None:
            return
        if self._waiting is not None:  # overtaken: the waiting request fills the page and runs what waits
            self._dropped += 1
            if self._dropped > MAX_DROPPED:  # ... unless requests never stop coming: fill with this one
                self._dropped = 0
                request.fill(result)
            return
        self._dropped = 0
        request.fill(result)
        steps, self._then = self._then, []
        for step in steps:
            step()

    def _failed(self, message: str) -> None:
        request = self._out_request
        if request is not None and self._waiting is None and request.failed is not None:
            request.failed(message)

    def _ended(self) -> None:
        task, self._out, self._out_request = self._out, None, None
        if self._waiting is not None and not (task is not None and task.cancelled):
            self._start()


class _Request(NamedTuple):
    read: Callable[[], Any]
    fill: Callable[[Any], None]
    failed: Callable[[str], None] | None


def _owner_of(*callbacks: Callable[..., Any] | None) -> QObject | None:
    """The QObject whose bound method is one of ``callbacks`` (the widget that asked), if any."""
    for callback in callbacks:
        receiver = getattr(callback, "__self__", None)
        if isinstance(receiver, QObject):
            return receiver
    return None
