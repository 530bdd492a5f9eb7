"""The live meter shows exactly what the session's meter says, never backwards, and warns when funds run low.

The view is driven by a real ``Meter`` on an injected clock; the full flow with the session engine, the
sandbox chain and the reference provider is in test_session_flow.py.
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.gui.sessions.meter_view import REPAINT_MS, MeterView
from paygo_desktop.metering import meter as metering
from paygo_desktop.money import Amount, Asset
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding, SessionTerms

USDC = Asset("USDC", 6, "0x" + "5" * 40)
SECOND = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * SECOND

    def __call__(self) -> int:
        return self.now


def make(clock: Clock, budget: int = 1_000_000) -> LiveSession:
    """A running session as the engine shows it to the views, on an injected clock."""
    price = metering.Price(3_600_000, "per_hour")  # 3.6 USDC per hour = 1,000 units a second
    terms = SessionTerms(
        account="0x" + "1" * 40, network="sandbox", provider_url="http://p.test",
        provider_name="Sandbox provider", provider_address=None, service_id="svc",
        service_name="Consultation", category="consultation", service_type="consultation", asset=USDC,
        price=price, tick_seconds=5, grace_seconds=3, cap=budget, funding=Funding.ESCROW,
    )  # fmt: skip
    meter = metering.Meter(price, budget, tick_seconds=5, clock=clock)
    return LiveSession("s-1", terms, meter, status=SessionStatus.RUNNING)


def test_repaints_often_enough_for_a_smooth_meter():
    assert 1000 / REPAINT_MS >= 20


def test_cost_matches_the_meter_to_the_base_unit_and_never_goes_back(qtbot):
    clock = Clock()
    session = make(clock)
    view = MeterView(session)
    qtbot.addWidget(view)
    shown = []
    for step_ns in (0, 1, 333_333_333, 999_999_999, 7 * SECOND, 1, 12_345_678):
        clock.now += step_ns
        view.update_numbers()
        expected = session.meter.cost()
        assert view.cost.text() == Amount(USDC, expected).format(fixed=True)
        shown.append(expected)
    assert shown == sorted(shown)
    assert view.fields["elapsed"].text() == "00:08"
    assert view.fields["rate"].text() == "3.6 USDC per hour"


def test_low_funds_warning_appears_under_twenty_percent(qtbot):
    clock = Clock()
    session = make(clock, budget=100_000)  # 100 seconds
    view = MeterView(session)
    qtbot.addWidget(view)
    view.show()
    clock.now += 79 * SECOND
    view.update_numbers()
    assert view.warning.isHidden()
    clock.now += 2 * SECOND
    view.update_numbers()
    assert view.warning.isVisible()
    assert "20%" in view.warning.text()
    assert view.fields["time_left"].text() == "19 seconds"


def test_stop_is_one_click_and_a_stopped_session_says_why(qtbot):
    clock = Clock()
    session = make(clock)
    view = MeterView(session)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.stop_requested) as blocker:
        view.stop_button.click()
    assert blocker.args == ["s-1"]
    session.meter.stop()
    session.status = SessionStatus.FAILED
    session.stop_reason = "The provider did not answer for 8 seconds; the session was stopped."
    view.update_numbers()
    assert view.warning.text() == session.stop_reason
    assert not view.timer.isActive()
    assert view.stop_button.text() == "Dismiss"  # the ended card stays until put away
    # an ended card extrapolates nothing: no "time left at this rate" for a session that no longer runs
    assert view.captions["time_left"].text() == "Time left"
    assert view.fields["time_left"].text() == "— (ended)"
    with qtbot.waitSignal(view.dismissed) as blocker:
        view.stop_button.click()
    assert blocker.args == ["s-1"]


def _shown_in(qtbot: Any, view: MeterView) -> Any:
    """The card on one page of a stacked widget (as on the Sessions page), another page beside it, in a
    scroll area with room to scroll it out of view."""
    from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

    body = QWidget()
    box = QVBoxLayout(body)
    box.addWidget(view)
    filler = QLabel("older cards")
    filler.setMinimumHeight(3000)
    box.addWidget(filler)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(body)
    stack = QStackedWidget()
    stack.addWidget(area)
    stack.addWidget(QLabel("another page"))
    stack.resize(900, 600)
    qtbot.addWidget(stack)
    stack.show()
    qtbot.waitExposed(stack)
    return stack, area


def test_the_meter_reads_only_while_the_card_can_be_seen(qtbot: Any) -> None:
    """No repaints for a card on another page, in a minimised window or scrolled out of view: the timer
    stops, and starts again as soon as the card is back on screen."""
    clock = Clock()
    view = MeterView(make(clock))
    assert not view.timer.isActive()  # not shown yet
    stack, area = _shown_in(qtbot, view)
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)

    stack.setCurrentIndex(1)  # another page
    assert not view.timer.isActive()
    stack.setCurrentIndex(0)
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)

    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())  # scrolled away
    qtbot.waitUntil(lambda: not view.timer.isActive(), timeout=2_000)
    before = view.repaints
    qtbot.wait(5 * REPAINT_MS)
    assert view.repaints == before
    area.verticalScrollBar().setValue(0)  # back in view: painted, so reading again
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)
    qtbot.waitUntil(lambda: view.repaints > before, timeout=2_000)

    stack.showMinimized()
    qtbot.waitUntil(lambda: not view.timer.isActive(), timeout=2_000)
    stack.showNormal()
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)


def test_the_meter_counts_slower_while_another_window_is_in_front(qtbot: Any) -> None:
    """20 readings a second while the card's window is the active one; 4 while another window is (the
    user works elsewhere: the cost still counts, for a fifth of the CPU); 20 again once it is back."""
    from PySide6.QtWidgets import QWidget

    view = MeterView(make(Clock()))
    stack, _area = _shown_in(qtbot, view)
    stack.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=2_000)
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)

    def readings_in(ms: int) -> int:
        before = view.repaints
        qtbot.wait(ms)
        return view.repaints - before

    assert readings_in(1_000) >= 10  # 20 expected; a busy machine drops some

    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not view.isActiveWindow(), timeout=2_000)
    assert view.timer.isActive()  # still on screen: still counting
    assert 1 <= readings_in(1_000) <= 5

    stack.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=2_000)
    assert view.timer.interval() == REPAINT_MS
    assert readings_in(1_000) >= 10


def test_an_ended_session_never_starts_the_timer_again(qtbot: Any) -> None:
    session = make(Clock())
    view = MeterView(session)
    stack, _area = _shown_in(qtbot, view)
    qtbot.waitUntil(view.timer.isActive, timeout=2_000)
    session.status = SessionStatus.STOPPED
    view.update_numbers()
    assert not view.timer.isActive()
    stack.setCurrentIndex(1)
    stack.setCurrentIndex(0)
    qtbot.wait(3 * REPAINT_MS)
    assert not view.timer.isActive()


def test_the_live_cost_paints_the_cards_own_background(qtbot: Any, qapp: Any) -> None:
    """The cost paints its own background (so the card is not repainted under it 20 times a second); it
    must be the card's colour, in the dark theme too."""
    from PySide6.QtCore import Qt

    from paygo_desktop.gui.theme import ThemeManager

    sheet, palette, style = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    try:
        ThemeManager(qapp, "dark")
        view = MeterView(make(Clock()))
        qtbot.addWidget(view)
        view.resize(700, 320)
        view.show()
        qtbot.waitExposed(view)
        assert view.cost.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        image = view.grab().toImage()
        label = view.cost.geometry()
        y = label.center().y()
        inside = image.pixelColor(label.right() - 2, y)  # the label's own background, right of the digits
        outside = image.pixelColor(label.right() + 3, y)  # the card, in its margin beside the label
        assert inside.name() == outside.name() != palette.window().color().name()
    finally:
        qapp.setStyleSheet(sheet)
        qapp.setPalette(palette)
        qapp.setStyle(style)


def test_the_budget_bar_follows_the_cost_once_a_second_and_at_the_end(qtbot):
    """The bar (and the value beside the cost) moves when a second turns, not on every tick: a changed bar
    repaints the card under it at once. It is never more than a second behind, and exact once it ends."""
    clock = Clock()
    session = make(clock, budget=100_000)  # 100 seconds: the bar moves 10 steps a second
    view = MeterView(session)
    qtbot.addWidget(view)
    clock.now += 3 * SECOND + SECOND // 2
    view.update_numbers()
    assert view.progress.value() == 35  # 3,500 of 100,000 units: 35 of 1,000 steps
    clock.now += SECOND // 4  # the same second: the cost moves, the bar waits
    view.update_numbers()
    assert view.cost.text() == "0.003750 USDC" and view.progress.value() == 35
    clock.now += SECOND // 2  # the next second
    view.update_numbers()
    assert view.progress.value() == 42
    clock.now += SECOND // 10
    session.meter.stop()
    session.status = SessionStatus.STOPPED
    view.update_numbers()
    assert view.progress.value() == session.meter.cost() * 1000 // 100_000 == 43


def test_a_second_turning_repaints_the_figures_without_laying_the_card_out(
    qtbot: Any, monkeypatch: Any
) -> None:
    """The clock, the budget, the time left and the bar change every second, and the cost gives its text to
    Qt (for screen readers): each repaints itself, and neither the card nor the page around it is laid out
    again (a layout pass measured the whole card, word-wrapped labels included, every second). The bar is
    repainted with them, not in a pass of its own."""
    from PySide6.QtCore import QEvent, QObject

    from paygo_desktop.gui.widgets import live_number

    monkeypatch.setattr(live_number, "SETTLE_SECONDS", 0.0)  # the cost's once-a-second hand-over, each time

    class Events(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.layouts = self.bar_paints = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.LayoutRequest:
                self.layouts += 1
            elif event.type() == QEvent.Type.Paint and watched is view.progress:
                self.bar_paints += 1
            return False

    clock = Clock()
    session = make(clock, budget=100_000)
    view = MeterView(session)
    view.timer.setInterval(60_000)  # the test turns the seconds itself
    _stack, area = _shown_in(qtbot, view)
    clock.now += 5 * SECOND
    view.update_numbers()
    qtbot.wait(50)  # the first texts' widths are taken
    events = Events()
    for watched in (view, area.widget(), view.progress):
        watched.installEventFilter(events)
    for _ in range(4):
        clock.now += SECOND
        view.update_numbers()
        qtbot.wait(30)
    assert view.fields["elapsed"].text() == "00:09" and view.progress.value() == 90
    assert events.layouts == 0
    assert events.bar_paints >= 4 and view.progress.updatesEnabled()


def test_the_meter_spans_the_card_when_no_chat_is_open(qtbot: Any) -> None:
    """The room beside the meter is the chat's, once a consultation opens it; without one the meter's
    column fills the card (it kept two fifths of the card empty)."""
    view = MeterView(make(Clock()))
    _stack, _area = _shown_in(qtbot, view)
    qtbot.waitUntil(lambda: view.progress.width() > 0.85 * view.width())


def test_the_budget_bar_is_the_themes_in_both_schemes(qtbot: Any, qapp: Any) -> None:
    """The bar is drawn by the theme's style sheet (a flat bar in the accent colour), not by Fusion, whose
    gradients and stripes cost ten times as much to repaint every second; in the dark theme too."""
    from paygo_desktop.gui.theme import ThemeManager, _accent

    sheet, palette, style = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    try:
        for scheme in ("light", "dark"):
            ThemeManager(qapp, scheme)
            clock = Clock()
            session = make(clock, budget=100_000)
            view = MeterView(session)
            qtbot.addWidget(view)
            view.resize(700, 320)
            view.show()
            qtbot.waitExposed(view)
            clock.now += 30 * SECOND  # 30 % of the budget
            session.meter.stop()
            session.status = SessionStatus.STOPPED
            view.update_numbers()
            bar = view.progress
            image = bar.grab().toImage()
            middle = bar.height() // 2
            used = image.pixelColor(int(bar.width() * 0.15), middle).name()
            left = image.pixelColor(int(bar.width() * 0.85), middle).name()
            assert used == _accent(scheme), scheme
            assert left == qapp.palette().base().color().name(), scheme
    finally:
        qapp.setStyleSheet(sheet)
        qapp.setPalette(palette)
        qapp.setStyle(style)
