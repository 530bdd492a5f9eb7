"""Tables of the local store. Only public data lives here: no key, mnemonic or password, ever.

One declarative base (base.py) for every table, one module per domain: the wallet's own records
(wallet.py), what the app sent to and read from chains (chain.py), providers (providers.py), metered
sessions (sessions.py), spending and its 15-minute totals (spending.py), each session's spending per slot
and per day (spending_sessions.py), an account's on-chain movements (transfers.py), Zcash permissions
(zcash.py), jobs (jobs.py), x402 (x402.py). Every table is imported here, so ``Base.metadata`` holds them
all (``Store._create_at_head``, the schema test) and every name is imported from
``paygo_desktop.store.models`` as before.
"""

from paygo_desktop.store.models.base import Base, utcnow
from paygo_desktop.store.models.chain import (
    DeploymentRow,
    FeedReadingRow,
    SyncCursorRow,
    TransactionRow,
    VaultEventRow,
)
from paygo_desktop.store.models.jobs import JobRow
from paygo_desktop.store.models.providers import ProviderNoteRow, RegistryEntryRow
from paygo_desktop.store.models.sessions import (
    OPEN_STATUSES,
    Funding,
    SessionRow,
    SessionStatus,
    SessionVoucherRow,
)
from paygo_desktop.store.models.spending import (
    SLOT_SECONDS,
    SPENDING_SLOT_TRIGGERS,
    SpendingRow,
    SpendingSlotRow,
)
from paygo_desktop.store.models.spending_sessions import (
    DAY_SECONDS,
    NO_SESSION,
    SPENDING_SESSION_SPAN_TRIGGERS,
    SpendingSessionSpanRow,
)
from paygo_desktop.store.models.transfers import AccountTxRow, TransferCursorRow, TransferRow
from paygo_desktop.store.models.wallet import (
    AccountRow,
    ActivityRow,
    CustomTokenRow,
    NetworkRow,
    NoticeRow,
)
from paygo_desktop.store.models.x402 import X402PaymentRow, X402PolicyRow
from paygo_desktop.store.models.zcash import ZcashPermissionRow

__all__ = [
    "DAY_SECONDS",
    "NO_SESSION",
    "OPEN_STATUSES",
    "SLOT_SECONDS",
    "SPENDING_SESSION_SPAN_TRIGGERS",
    "SPENDING_SLOT_TRIGGERS",
    "AccountRow",
    "AccountTxRow",
    "ActivityRow",
    "Base",
    "CustomTokenRow",
    "DeploymentRow",
    "FeedReadingRow",
    "Funding",
    "JobRow",
    "NetworkRow",
    "NoticeRow",
    "ProviderNoteRow",
    "RegistryEntryRow",
    "SessionRow",
    "SessionStatus",
    "SessionVoucherRow",
    "SpendingRow",
    "SpendingSessionSpanRow",
    "SpendingSlotRow",
    "SyncCursorRow",
    "TransactionRow",
    "TransferCursorRow",
    "TransferRow",
    "VaultEventRow",
    "X402PaymentRow",
    "X402PolicyRow",
    "ZcashPermissionRow",
    "utcnow",
]
