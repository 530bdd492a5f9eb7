"""What the user is told when a session ends and when a crashed one is reconciled."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.sessions.status import SessionStatus


class RecoveryOutcome(StrEnum):
    SETTLED = "settled"  # it had ended at the provider; settled at what the provider holds
    STILL_RUNNING_STOPPED = "still_running_stopped"  # still live at the provider: stopped now
    UNKNOWN = "unknown"  # the provider could not be asked (or the wallet is locked): tried again later


@dataclass(frozen=True)
class SessionSummary:
    local_id: str
    seconds: int  # by our meter
    cost: int  # what this session paid: the cumulative the provider holds minus the channel's base
    rate: Price
    asset: Asset
    receipt_ok: bool  # the receipt's signature is the provider's and it agrees with our meter and vouchers
    receipt: m.Receipt | zm.ZcashSession | None
    message: str
    metered: int = 0  # rate × elapsed by our meter; cost - metered was paid ahead for the last tick
    status: SessionStatus = SessionStatus.STOPPED
    # what the chain paid the provider on the channel beyond the settled sessions when this one ended (a
    # voucher one tick ahead claimed before the session settled lower): the next session uses it first
    paid_ahead_credit: int = 0

    @property
    def paid_ahead(self) -> int:
        return max(0, self.cost - self.metered)

    def as_json(self) -> dict[str, object]:
        """The summary as the headless command prints it (amounts as decimal strings and base units)."""
        credit = Amount(self.asset, self.paid_ahead_credit)
        return {
            "localId": self.local_id,
            "status": self.status,
            "seconds": self.seconds,
            "asset": self.asset.symbol,
            "cost": Amount(self.asset, self.cost).format(symbol=False, grouping=False),
            "costUnits": str(self.cost),
            "metered": Amount(self.asset, self.metered).format(symbol=False, grouping=False),
            "meteredUnits": str(self.metered),
            "rate": {"amount": str(self.rate.amount), "unit": self.rate.unit},
            "paidAheadCredit": credit.format(symbol=False, grouping=False),
            "paidAheadCreditUnits": str(self.paid_ahead_credit),
            "receiptOk": self.receipt_ok,
            "receipt": None if self.receipt is None else self.receipt.model_dump(mode="json", by_alias=True),
            "message": self.message,
        }


@dataclass(frozen=True)
class RecoveryReport:
    local_id: str
    service_name: str
    outcome: RecoveryOutcome
    cost: int | None  # base units of ``asset``; None while unknown
    message: str
    asset: Asset | None = None
