"""Starting a session as a Qt-free state machine, in the manner of Electrum's wizard: a navmap says which
step follows which, the GUI draws the current step, runs the I/O it names, and hands the outcome back.

Paths through the steps::

    PLANNING ─planned()→ CHOOSING ─chosen()─┬─ no deposit ──────────────┬→ STARTING ─started()→ RUNNING
                                            └─ DEPOSIT_REVIEW ─deposited()┘
    any step before RUNNING ─failed(text)→ FAILED     CHOOSING, DEPOSIT_REVIEW ─cancelled()→ CANCELLED

PLANNING asks the provider for its terms (``SessionEngine.plan``); CHOOSING is the start dialog
(``StartChoice``); DEPOSIT_REVIEW prepares the deposit's transactions (``EscrowChain.deposit_requests``)
and sends them through the shared transaction dialog, nothing before the user presses Send; STARTING
starts the session (``SessionEngine.start``), the deposit already made. ``message`` is what the Sessions
page says at each step; every text is written here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from paygo_desktop.sessions.plan import SessionPlan, StartOptions
from paygo_desktop.sessions.start_choice import StartChoice

if TYPE_CHECKING:
    from paygo_desktop.sessions.live import LiveSession


class Step(enum.Enum):
    PLANNING = "planning"
    CHOOSING = "choosing"
    DEPOSIT_REVIEW = "deposit_review"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (Step.RUNNING, Step.FAILED, Step.CANCELLED)


# Which step comes after each, given the flow so far (Electrum's navmap: "next" of each view).
NAVMAP: dict[Step, Callable[[StartFlow], Step]] = {
    Step.PLANNING: lambda flow: Step.CHOOSING,
    Step.CHOOSING: lambda flow: Step.DEPOSIT_REVIEW if flow.options.deposit else Step.STARTING,
    Step.DEPOSIT_REVIEW: lambda flow: Step.STARTING,
    Step.STARTING: lambda flow: Step.RUNNING,
}
# Sending transactions out of the review leaves a deposit on its way: saying so is not an error.
ON_ITS_WAY = ("pending", "mined")


class FlowError(RuntimeError):
    """A step was asked for out of order: a bug in whoever drives the flow."""


class StartFlow:
    def __init__(self, provider_url: str, service_id: str) -> None:
        self.provider_url = provider_url
        self.service_id = service_id
        self.step = Step.PLANNING
        self.message = "Asking the provider for its terms…"
        self.is_error = False
        self._plan: SessionPlan | None = None
        self._options: StartOptions | None = None
        self.choice: StartChoice | None = None
        self.deposit_steps: list[Any] = []  # the deposit's TxRequests, for the transaction dialog
        self.live: LiveSession | None = None

    @property
    def plan(self) -> SessionPlan:
        if self._plan is None:
            raise FlowError("there is no plan before PLANNING is done")
        return self._plan

    @property
    def options(self) -> StartOptions:
        """The user's choice; once the deposit went through, with no deposit left to make."""
        if self._options is None:
            raise FlowError("nothing was chosen yet")
        return self._options

    def _expect(self, *steps: Step) -> None:
        if self.step not in steps:
            raise FlowError(f"{self.step.value}: not a step for this")

    def _next(self, message: str = "") -> Step:
        self.step = NAVMAP[self.step](self)
        self.message, self.is_error = message, False
        return self.step

    # -- the steps' outcomes ---------------------------------------------------------------------------
    def planned(self, plan: SessionPlan) -> Step:
        self._expect(Step.PLANNING)
        self._plan = plan
        self.choice = StartChoice(plan)
        return self._next()

    def chosen(self, options: StartOptions | None = None) -> Step:
        """The user pressed Start in the dialog (``options``: the dialog's choice, by default the flow's
        own ``choice``)."""
        self._expect(Step.CHOOSING)
        assert self.choice is not None
        self._options = options or self.choice.options()
        if self.options.deposit:
            return self._next("Preparing the deposit…")
        return self._next("Starting the session…")

    def deposit_prepared(self, steps: list[Any]) -> None:
        self._expect(Step.DEPOSIT_REVIEW)
        self.deposit_steps = steps
        self.message, self.is_error = "Review the deposit: nothing is sent before you press Send.", False

    def deposited(self, phase: str, why: str = "") -> Step:
        """The transaction dialog's flow ended: "done" starts the session, any other ``phase`` does not."""
        self._expect(Step.DEPOSIT_REVIEW)
        if phase != "done":
            return self._fail(f"Not started: the deposit did not go through. {why}".strip())
        self._options = replace(self.options, deposit=0)
        return self._next("Starting the session…")

    def review_closed(self, phase: str) -> Step:
        """The transaction dialog was closed before its flow ended."""
        self._expect(Step.DEPOSIT_REVIEW)
        if phase in ON_ITS_WAY:
            return self.cancelled(
                "The deposit is on its way; the Escrow page follows it. Start the session again: it counts "
                "the deposit and waits for it, nothing is deposited twice."
            )
        return self.cancelled("Not started: no deposit was sent.")

    def started(self, live: LiveSession) -> Step:
        self._expect(Step.STARTING)
        self.live = live
        return self._next(f"{live.terms.service_name} is running. Stop it at any time.")

    def failed(self, text: str) -> Step:
        """The step's work failed with ``text``, a message for the user."""
        if self.step.is_final:
            raise FlowError(f"{self.step.value}: the flow is over")
        if self.step is Step.DEPOSIT_REVIEW and not self.deposit_steps:
            text = f"Not started: {text}"  # preparing the deposit failed
        return self._fail(text)

    def cancelled(self, message: str = "") -> Step:
        self._expect(Step.CHOOSING, Step.DEPOSIT_REVIEW)
        self.step, self.message, self.is_error = Step.CANCELLED, message, False
        return self.step

    def _fail(self, text: str) -> Step:
        self.step, self.message, self.is_error = Step.FAILED, text, True
        return self.step
