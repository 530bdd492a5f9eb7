"""The live meter shows exactly what the session's meter says, never backwards, and warns when funds run low.

The view is driven by a real ``Meter`` on an injected clock; the full flow with the session engine, the
sandbox chain and the reference provider is in test_session_flow.py.
"""

from __future__ import annotations

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
        assert view.cost.text() == Amount(USDC, expected).format()
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
