"""The live cost meter of one running session.

It reads the session's ``Meter`` on a 50 ms timer (20 updates a second) and never does I/O: every
number is already in memory. The timer runs only while some of the card is on screen: it stops when the
card is hidden (another page, a minimised window) or scrolled out of view, and starts again when the card
is shown or painted again; numbers nobody can see cost no CPU. While the card's window is not the active
one (the user works in another application, or a dialog is in front) it reads 4 times a second: the cost
still visibly counts, for a fifth of the CPU; it is back at 20 the moment the window is active again.
The cost comes from ``Meter.cost()``, which never goes backwards. Stop is one click away; the service is
opened from its local URL (the controller's ``sessions.access_proxy``: the browser for an HTTP service,
the URL copied for a feed, the chat pane for a consultation), or the access token copied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.format import clock_duration, duration_words
from paygo_desktop.gui.widgets.live_number import LiveNumber
from paygo_desktop.gui.widgets.steady_label import SteadyLabel
from paygo_desktop.money import Amount
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding

if TYPE_CHECKING:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.sessions.chat_pane import ChatPane
    from paygo_desktop.gui.sessions.feed_view import FeedView
    from paygo_desktop.prices.fiat import FiatPrice
    from paygo_desktop.sessions.access_proxy import AccessProxy
    from paygo_desktop.sessions.live import LiveSession

NS_PER_SECOND = 1_000_000_000
REPAINT_MS = 50  # 20 updates a second: the 20 issue 5 asks for, and each costs CPU (issue 21)
BEHIND_REPAINT_MS = 250  # 4 a second while another window is active: still counting, a fifth of the cost
PROGRESS_STEPS = 1000
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
COPYABLE_FIELDS = ("rate", "signed", "claimed")  # the rest change every second (_build_fields)
LOOK_EVERY_TICKS = 5  # whether any of the card is on screen: asked every 200 ms, not on every tick
ENDED = (SessionStatus.STOPPED, SessionStatus.FAILED, SessionStatus.RECEIPT_INVALID)
RUNNING = (SessionStatus.STARTING, SessionStatus.RUNNING)
STATUS_WORDS = {
    SessionStatus.STARTING: "Starting…",
    SessionStatus.RUNNING: "Running",
    SessionStatus.STOPPING: "Stopping…",
    SessionStatus.STOPPED: "Stopped",
    SessionStatus.FAILED: "Stopped",
    SessionStatus.RECEIPT_INVALID: "Stopped: no valid receipt",
}


class MeterView(QFrame):
    """One session's meter. ``stop_requested(local_id)`` asks the controller to stop it."""

    stop_requested = Signal(str)
    dismissed = Signal(str)  # an ended session's card is put away
    close_requested = Signal(str)  # an ended escrow session: close its channel, the unused funds come back

    def __init__(
        self,
        live: LiveSession,
        parent: QWidget | None = None,
        access_of: Callable[[str], AccessProxy | None] = lambda _local_id: None,
        runner: TaskRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self.access_of = access_of  # the session's local proxy, once it listens (the controller's)
        self.runner = runner  # reads a feed the session delivers, for the live view
        self.feed: FeedView | None = None
        self.chat: ChatPane | None = None  # a consultation's chat, once opened
        self.setObjectName("Card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        terms = live.terms
        self.setAccessibleName(f"Session: {terms.service_name}")
        self.repaints = 0  # how many times the numbers were refreshed (read by the repaint benchmark)
        # the cost as shown: by its label (every tick), by its value in your currency and the budget bar (each
        # second, and in which); and the meter's elapsed time at which the clock shows its next second
        self._shown_cost, self._valued_cost, self._valued_second, self._next_second_ns = -1, -1, -1, 0
        self._shown_state: tuple[Any, ...] = ()
        self._local_url: str | None = None
        self._chat = False  # the service is a consultation: Open service opens the chat pane

        outer = self._build_card()
        head = QHBoxLayout()
        title = QLabel(f"{terms.service_name} — {terms.provider_name}")
        title.setObjectName("CardTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        head.addWidget(title, 1)
        self.status = QLabel()
        self.status.setAccessibleName("Session status")
        head.addWidget(self.status)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("Danger")
        self.stop_button.setAccessibleName(f"Stop {terms.service_name}")
        self.stop_button.clicked.connect(self._stop_clicked)
        head.addWidget(self.stop_button)
        outer.addLayout(head)

        self._build_cost(outer)

        self.progress = self._budget_bar()
        outer.addWidget(self.progress)

        self.warning = QLabel()
        self.warning.setTextFormat(Qt.TextFormat.PlainText)  # a stop reason may quote the provider
        self.warning.setObjectName("WarningText")
        self.warning.setAccessibleName("Low funds warning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        outer.addWidget(self.warning)

        self._build_fields(outer)
        self.fields["rate"].setText(terms.rate_text)

        self._build_access_row(outer)

        self.timer = QTimer(self)
        self._ticks_to_look = 0
        self.timer.timeout.connect(self._tick)
        self._follow_the_active_window()
        self.update_numbers()  # the timer starts when the card is shown

    def _build_card(self) -> QVBoxLayout:
        """The meter's column, and beside it ``side_box``: a consultation's chat, once opened."""
        self._columns = QHBoxLayout(self)
        outer = QVBoxLayout()
        self._columns.addLayout(outer, 3)
        self.side_box = QVBoxLayout()
        self._columns.addLayout(self.side_box, 0)  # no room kept for a chat that is not open
        return outer

    @staticmethod
    def _budget_bar() -> QProgressBar:
        bar = QProgressBar()
        bar.setObjectName("BudgetBar")  # the theme draws it: Fusion's bar costs ten times as much a repaint
        bar.setRange(0, PROGRESS_STEPS)
        bar.setTextVisible(False)
        bar.setAccessibleName("Budget used")
        return bar

    def _build_cost(self, outer: QVBoxLayout) -> None:
        """The cost so far, and its value in the display currency beside it once the price is read."""
        self.cost = LiveNumber()  # repaints 20 times a second without re-laying out the card
        self.cost.setObjectName("BigNumber")
        self.cost.setAccessibleName("Cost so far")
        outer.addWidget(self.cost, 0, LEFT)  # steady labels are as wide as their text: at the start
        self.price: FiatPrice | None = None  # the asset's price (prices.fiat), set once read
        self.cost_value = SteadyLabel("—")  # changes each second: repainted, never laid out again
        self.cost_value.setObjectName("Hint")
        self.cost_value.setAccessibleName("Cost so far in your currency")
        outer.addWidget(self.cost_value, 0, LEFT)

    def _build_fields(self, outer: QVBoxLayout) -> None:
        """The figures: elapsed, rate, signed, claimed, budget left, time left. Each keeps its size while
        its text changes (``SteadyLabel``: a second turning repaints the figures, it does not lay the card
        and its page out again). The amounts that change only with a voucher or a claim can be selected to
        copy; a selectable label is drawn through a text document, which the clock and the budget, new
        every second, are not worth."""
        grid = QGridLayout()
        self.fields: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        names = (
            ("elapsed", "Elapsed"),
            ("rate", "Rate"),
            ("signed", "Signed in vouchers"),
            ("claimed", "Claimed on-chain"),
            ("remaining", "Budget left"),
            ("time_left", "Time left at this rate"),
        )
        for i, (key, label) in enumerate(names):
            caption = QLabel(label)
            caption.setObjectName("Hint")
            value = SteadyLabel()
            value.setAccessibleName(label)
            if key in COPYABLE_FIELDS:
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, i // 3 * 2, i % 3)
            grid.addWidget(value, i // 3 * 2 + 1, i % 3, LEFT)  # a layout centres a fixed-size widget
            self.fields[key] = value
            self.captions[key] = caption
        outer.addLayout(grid)

    def _build_access_row(self, outer: QVBoxLayout) -> None:
        """The access the provider granted (open it, copy its token) and, once ended, Close channel."""
        access_row = QHBoxLayout()
        self.access_label = QLabel()
        self.access_label.setObjectName("Hint")
        self.access_label.setTextFormat(Qt.TextFormat.PlainText)
        self.access_label.setWordWrap(True)  # the local URL on a line of its own when the card is narrow
        self.access_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy
        self.open_button = QPushButton("Open service")
        self.open_button.setAccessibleName("Open the service")
        self.open_button.clicked.connect(self._open_access)
        self.copy_button = QPushButton("Copy access token")
        self.copy_button.setAccessibleName("Copy the access token")
        self.copy_button.clicked.connect(self._copy_token)
        self.close_button = QPushButton("Close channel")
        self.close_button.setAccessibleName("Close the channel and take back the unused deposit")
        self.close_button.setToolTip(
            "Settle with the provider now: it is paid what you signed, the rest of the deposit comes back "
            "to your wallet at once. The next session with this provider then needs a new deposit."
        )
        self.close_button.clicked.connect(lambda: self._close_clicked())
        self.close_button.hide()
        access_row.addWidget(self.access_label, 1)
        access_row.addWidget(self.open_button)
        access_row.addWidget(self.copy_button)
        access_row.addWidget(self.close_button)
        outer.addLayout(access_row)
        self.feed_box = QVBoxLayout()  # the live view of a feed the session delivers
        outer.addLayout(self.feed_box)
        outer.addStretch(1)  # a card made taller by the chat beside it: the room goes below the meter

    # -- when to read: only while the card can be seen --------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # also when the minimised window is restored
        super().showEvent(event)
        self.update_numbers()
        self._resume()

    def hideEvent(self, event: QHideEvent) -> None:  # another page, or the window minimised
        super().hideEvent(event)
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self and event.type() == QEvent.Type.Paint:  # scrolled back into view
            self.removeEventFilter(self)
            self._resume()
        return False

    def _follow_the_active_window(self) -> None:
        """Paced now, and again at each change of the active window: a Qt signal, not an event filter
        (which would run Python for every event of the window); disconnected by Qt when the card is gone."""
        self._pace()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._pace)

    def _pace(self, *_window: object) -> None:
        """20 updates a second while the card's window is the active one, 4 while another is."""
        in_front = self.isActiveWindow()
        interval = REPAINT_MS if in_front else BEHIND_REPAINT_MS
        if self.timer.interval() != interval:
            self.timer.setInterval(interval)  # (a running timer restarts with it)
            if in_front and self.timer.isActive():
                self.update_numbers()  # back in front: the figures now, not at the next tick

    def _resume(self) -> None:
        if not self.timer.isActive() and self.live.status not in ENDED and self.isVisible():
            self._ticks_to_look = 0  # the first tick looks whether it is on screen
            self._pace()
            self.timer.start()

    def _tick(self) -> None:
        """The cost on every tick; the rest of the card when a whole second turns, and otherwise a few times
        a second (a voucher, a claim, a status change shows within 250 ms)."""
        self._ticks_to_look -= 1
        if self._ticks_to_look <= 0:  # a few times a second is soon enough to notice it scrolled away
            self._ticks_to_look = LOOK_EVERY_TICKS
            if self.visibleRegion().isEmpty() or self.window().isMinimized():
                self.timer.stop()  # nothing of it on screen: it resumes when shown, or painted again
                self.installEventFilter(self)  # (watched only while stopped: no cost on every repaint)
                return
            self.update_numbers()
            return
        meter = self.live.meter
        if meter.elapsed_ns() >= self._next_second_ns:  # a second turned: the whole card, the cost with it
            self.update_numbers()
            return
        cost = meter.cost()
        self.repaints += 1
        if cost != self._shown_cost:
            self._shown_cost = cost
            self.cost.setText(self.cost_text(cost))

    # -- reading the session -------------------------------------------------------------------------
    def amount(self, units: int) -> str:
        return self.live.terms.amount(units)

    def cost_text(self, units: int) -> str:
        """The running cost with every decimal of its asset, so its width does not jump as it counts."""
        return Amount(self.live.terms.asset, units).format(fixed=True)

    def update_numbers(self) -> None:
        """Everything the card shows; each label only when what it shows has changed (a whole second, a
        voucher, a claim, a status): repainting unchanged labels 20 times a second costs CPU for nothing."""
        live = self.live
        meter = live.meter
        cost = meter.cost()
        self.repaints += 1
        running = live.status in RUNNING
        seconds = meter.elapsed_ns() // NS_PER_SECOND
        self._next_second_ns = (seconds + 1) * NS_PER_SECOND
        proxy = self.access_of(live.local_id) if running else None
        state = (
            seconds,
            live.signed,
            live.claimed,
            live.status,
            live.stop_reason,
            live.access is not None,
            proxy,
        )
        if cost != self._shown_cost:
            self._shown_cost = cost
            self.cost.setText(self.cost_text(cost))
        if cost != self._valued_cost and (seconds != self._valued_second or not running):
            # the value and the bar once a second: a changed QProgressBar repaints itself and everything
            # under it at once (the card, the page, the window), 2–5 ms each time
            self._valued_cost, self._valued_second = cost, seconds
            self._show_value(cost)
            self._move_bar(min(PROGRESS_STEPS, cost * PROGRESS_STEPS // max(1, live.terms.cap)))
        if state != self._shown_state:
            self._shown_state = state
            self._update_details(live, seconds, running, proxy)
        if live.status in ENDED:  # "stopping" still changes (the receipt, the reason): keep reading
            self.timer.stop()

    def _move_bar(self, steps: int) -> None:
        """The budget bar at ``steps``, repainted with the figures that change in the same second, not on
        its own: ``QProgressBar.setValue`` repaints at once (the bar and the card beneath it, a paint pass
        of its own), which updates turned off make a no-op; turning them on again asks for the repaint."""
        bar = self.progress
        if bar.value() == steps:
            return
        bar.setUpdatesEnabled(False)
        bar.setValue(steps)
        bar.setUpdatesEnabled(True)

    def set_price(self, price: FiatPrice | None, note: str) -> None:
        """The session asset's price in the display currency (None: none, "—"), and where it came from."""
        self.price = price
        self.cost_value.setToolTip(note)
        self._show_value(max(0, self._valued_cost))

    def _show_value(self, cost: int) -> None:
        if self.price is not None:
            self.cost_value.setText(self.price.text(Amount(self.live.terms.asset, cost)))

    def _update_details(
        self, live: LiveSession, seconds: int, running: bool, proxy: AccessProxy | None = None
    ) -> None:
        meter = live.meter
        f = self.fields
        f["elapsed"].setText(clock_duration(seconds))
        f["signed"].setText(self.amount(live.signed))
        f["claimed"].setText(self.amount(live.claimed))
        f["remaining"].setText(f"{self.amount(meter.remaining())} of {self.amount(live.terms.cap)}")
        if running:
            f["time_left"].setText(duration_words(meter.seconds_left()))
        else:  # nothing runs any more: no rate to extrapolate
            self.captions["time_left"].setText("Time left")
            f["time_left"].setText("— (ended)" if live.status in ENDED else "—")
        self.status.setText(STATUS_WORDS.get(live.status, live.status.value.capitalize()))
        if meter.is_low() and running:
            self.warning.setText(
                f"Less than 20% of this session's budget is left ({duration_words(meter.seconds_left())} "
                "at this rate). It stops by itself when the budget is used up."
            )
            self.warning.show()
        elif not running and live.stop_reason:
            self.warning.setText(live.stop_reason)
            self.warning.show()
        else:
            self.warning.hide()
        if running:
            self.stop_button.setEnabled(live.status in RUNNING)
        elif live.status in ENDED and self.stop_button.text() != "Dismiss":
            # ended: the card stays, with its numbers, until put away
            self.stop_button.setText("Dismiss")
            self.stop_button.setObjectName("")
            self.stop_button.setAccessibleName(f"Dismiss {live.terms.service_name}")
            self.stop_button.style().unpolish(self.stop_button)
            self.stop_button.style().polish(self.stop_button)
            self.stop_button.setEnabled(True)
            if live.terms.funding is Funding.ESCROW and live.status is SessionStatus.STOPPED:
                self.close_button.show()
        self._update_access(live, running, proxy)

    def _update_access(self, live: LiveSession, running: bool, proxy: AccessProxy | None) -> None:
        """Open service: the session's local URL (sessions.access_proxy) while it runs, in the browser for
        an HTTP service, in the system's handler of its file for a media service (the video's own local
        URL, shown to copy into any player: Qt Multimedia is not in the bundle); a feed's ws:// URL is
        copied instead (a browser does not open one)."""
        access = live.access
        has_access = access is not None and running
        self.copy_button.setEnabled(has_access and bool(getattr(access, "token", "")))
        self._local_url = proxy.open_url if proxy is not None and running else None
        websocket = proxy is not None and proxy.url.startswith("ws")
        self._chat = websocket and live.terms.service_type == "consultation"
        self.open_button.setText(
            "Open chat" if self._chat else "Copy service URL" if websocket else "Open service"
        )
        if (
            websocket
            and not self._chat
            and proxy is not None
            and self.feed is None
            and self.runner is not None
        ):
            from paygo_desktop.gui.sessions.feed_view import FeedView

            self.feed = FeedView()
            self.feed_box.addWidget(self.feed)
            self.feed.follow(self.runner, proxy.url)
        self.open_button.setEnabled(self._local_url is not None)
        if self._local_url is not None and proxy is not None and proxy.delivery == "media":
            self.access_label.setText(f"Play it in any media player: {self._local_url}")
        elif self._local_url is not None:
            self.access_label.setText(f"Service on this computer: {self._local_url}")
        elif has_access and access is not None and access.service_url:
            self.access_label.setText("Opening the service on this computer…")
        elif has_access:
            self.access_label.setText("This provider delivers nothing through its gateway for this service.")
        else:
            self.access_label.setText("")

    # -- actions -------------------------------------------------------------------------------------
    def _stop_clicked(self) -> None:
        if self.live.status in RUNNING:
            self.stop_button.setEnabled(False)
            self.stop_requested.emit(self.live.local_id)
        else:
            self.dismissed.emit(self.live.local_id)

    def _close_clicked(self) -> None:
        self.close_button.setEnabled(False)
        self.close_button.setText("Closing…")
        self.close_requested.emit(self.live.local_id)

    def close_failed(self) -> None:
        self.close_button.setEnabled(True)
        self.close_button.setText("Close channel")

    def _open_access(self) -> None:
        url = self._local_url
        if url is None:
            return
        if self._chat:
            self.open_chat(url)
        elif url.startswith("ws"):
            QGuiApplication.clipboard().setText(url)
        else:
            QDesktopServices.openUrl(QUrl(url))

    def open_chat(self, url: str) -> None:
        """A consultation's chat pane under the meter, talking through the session's local proxy."""
        if self.chat is not None:
            self.chat.input.setFocus()
            return
        if self.runner is None:
            return
        from paygo_desktop.gui.sessions.chat_pane import ChatPane

        self.chat = ChatPane()
        self.side_box.addWidget(self.chat)
        self._columns.setStretch(1, 2)  # the chat beside the meter: two fifths of the card
        self.chat.follow(self.runner, url)

    def _copy_token(self) -> None:
        if self.live.access is not None:
            QGuiApplication.clipboard().setText(str(self.live.access.token))
