"""A running session as the GUI sees it, and the events the engine reports.

``LiveSession`` is read about 30 times a second by the live meter view: every attribute is a plain value
or the ``Meter``, which computes from a clock; nothing here does I/O. Only the engine writes to it, on the
event loop thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paygo_desktop.metering.meter import Meter, Price
from paygo_desktop.money import Asset
from paygo_desktop.protocol import models as m

STATUSES = ("starting", "running", "stopping", "stopped", "failed", "receipt_invalid")
"""``receipt_invalid``: stopped, but the provider's receipt was forged, disagreed with the meter or never
came."""
EVENT_KINDS = (
    "started",
    "voucher",
    "acked",
    "low_funds",
    "stopped",
    "failed",
    "receipt_invalid",
    "claimed",
    "fallback",
    "transaction",
)
"""``fallback``: a Zcash permission ran out and the session continues on the escrow channel (the event
names the new escrow session). ``receipt_invalid``: a session's end, as its status. ``transaction``: a
deposit's progress, or an earlier transaction sent again (no session yet: an empty local id)."""


@dataclass
class LiveSession:
    local_id: str
    service_name: str
    provider_name: str
    asset: Asset
    price: Price
    budget: int  # the cap the meter stops at: the user's budget, or less when the channel holds less
    tick_seconds: int
    grace_seconds: int
    meter: Meter
    funding: str = "escrow"
    status: str = "starting"
    signed: int = 0  # cumulative amounts for this session, not channel-wide
    acked: int = 0
    claimed: int = 0
    access: m.Access | None = None
    stop_reason: str | None = None
    provider_url: str = ""
    service_id: str = ""
    remote_id: str | None = None
    channel_id: str | None = None
    permission_id: str | None = None
    low_funds_warned: bool = field(default=False)

    @property
    def is_active(self) -> bool:
        return self.status in ("starting", "running", "stopping")


@dataclass(frozen=True)
class SessionEvent:
    kind: str  # one of EVENT_KINDS
    local_id: str
    message: str
