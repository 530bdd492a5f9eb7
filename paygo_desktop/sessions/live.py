"""A running session as the GUI sees it.

``LiveSession`` is read about 20 times a second by the live meter view: its terms are frozen, every other
attribute is a plain value or the ``Meter``, which computes from a clock; nothing here does I/O. Only the
engine and the session's payer write to it, on the event loop thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.metering.meter import Meter
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import SessionTerms


@dataclass
class LiveSession:
    local_id: str
    terms: SessionTerms
    meter: Meter
    status: SessionStatus = SessionStatus.STARTING
    signed: int = 0  # cumulative amounts for this session, not channel-wide
    acked: int = 0
    claimed: int = 0
    access: m.Access | None = None
    stop_reason: str | None = None
    remote_id: str | None = None
    low_funds_warned: bool = False

    @property
    def is_active(self) -> bool:
        return self.status.is_active
