"""The Settings page's changes written off the GUI thread, one after the other, in the order they were made.

A change takes effect in the app at once, on the GUI thread (a theme applied, the idle time used, the
network switched once its record is read); what it leaves on disk, the settings file and an activity line,
is written in a worker. ``save`` takes the settings' snapshot where the change is made (``Settings.snapshot``:
no I/O) and queues its write; ``run`` queues any other blocking step (the network's record read before a
switch). The queue's steps run one at a time through the page's ``TaskRunner``, so two quick changes reach
the file and the activity log in the order they were made, and the last one is what is on disk.

A write that fails (a settings file or folder that cannot be written) is said on the page in plain words
(``SettingsNotSaved``); the change stays in use until the app closes, and later writes are tried as usual.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import QObject

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import Task, TaskRunner

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.settings import SettingsSnapshot

log = logging.getLogger(__name__)


class SettingsNotSaved(UserFacingError):
    """The settings file could not be written."""


class ActivityLine(NamedTuple):
    kind: str
    message: str
    network: str | None = None


def write_settings(ctx: AppContext, snapshot: SettingsSnapshot, line: ActivityLine | None = None) -> None:
    """In a worker: the settings file (atomically; left out if a later snapshot is on disk already), then the
    activity line, which is recorded even if the file could not be written (the change was made)."""
    failure: OSError | None = None
    try:
        ctx.settings.write(snapshot)
    except OSError as exc:
        log.warning("the settings could not be written to %s", ctx.settings.path, exc_info=True)
        failure = exc
    if line is not None:
        ctx.activity.record(line.kind, line.message, network=line.network)
    if failure is not None:
        reason = failure.strerror or type(failure).__name__
        raise SettingsNotSaved(
            f"The change is used now but could not be saved ({reason}: {ctx.settings.path}); "
            "it will be forgotten when the app closes."
        )


class _Step(NamedTuple):
    work: Callable[[], Any]
    on_success: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    name: str


class SettingsWrites(QObject):
    """The queue of a page's blocking steps, run in a worker one after the other (a child of the page and
    the owner of its tasks: deleted with the page, what it still has ends in silence)."""

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._steps: deque[_Step] = deque()
        self._out: Task | None = None

    @property
    def busy(self) -> bool:
        return self._out is not None or bool(self._steps)

    def save(
        self,
        failed: Callable[[str], None],
        line: ActivityLine | None = None,
        saved: Callable[[], None] | None = None,
    ) -> None:
        """Write the settings as they are now (and ``line`` in the activity log) after what was asked before;
        ``failed`` gets the words if it could not be done, ``saved`` is called (on the GUI thread) once it
        was."""
        snapshot = self.ctx.settings.snapshot()
        self.run(
            partial(write_settings, self.ctx, snapshot, line),
            on_success=(lambda _result: saved()) if saved is not None else None,
            on_error=failed,
            name="save-settings",
        )

    def run(
        self,
        work: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        name: str = "settings-step",
    ) -> None:
        """Run the blocking ``work`` in a worker once every step asked before has ended."""
        self._steps.append(_Step(work, on_success, on_error, name))
        if self._out is None:
            self._next()

    def _next(self) -> None:
        if not self._steps:
            return
        step = self._steps.popleft()
        self._out = self.runner.run(
            step.work, on_success=step.on_success, on_error=step.on_error, name=step.name, owner=self
        )
        self._out.finished.connect(self._ended)

    def _ended(self) -> None:
        task, self._out = self._out, None
        if not (task is not None and task.cancelled):  # cancelled: the window is closing
            self._next()
