"""Sending a planned transaction flow from a headless command: each step's fee shown and agreed
(``confirm.confirm_fee``), then sent and watched to its end through the same ``chain.tx_flow.TxFlow`` the
window's transaction dialog drives."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from paygo_desktop.chain.transactions import Signer, TransactionManager, TxRequest
from paygo_desktop.commands.confirm import confirm_fee
from paygo_desktop.errors import UserFacingError

POLL_SECONDS = 0.2


async def run_flow(
    manager: TransactionManager,
    sender: str,
    plan: Sequence[TxRequest],
    sign: Signer,
    *,
    assume_yes: bool,
    timeout: float = 600.0,
) -> list[str]:
    """Send every step of ``plan``; the hashes of the transactions that did it. Raises with the flow's
    message if a step fails or is refused."""
    from paygo_desktop.chain.tx_flow import TxFlow

    flow = TxFlow(manager, sender, plan)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not flow.state.is_final:
        state = flow.state
        if loop.time() > deadline:
            raise UserFacingError(
                "The transaction was not confirmed in time; it is kept and watched by the app."
            )
        if state.phase == "quoting":
            await flow.prepare()
        elif state.phase == "review":
            assert state.request is not None and state.quote is not None
            confirm_fee(
                state.request.description, state.quote.likely_fee, state.quote.max_fee, assume_yes=assume_yes
            )
            await flow.send(sign)
            if flow.state.phase == "review":  # signing refused: nothing was sent
                raise UserFacingError(flow.state.message or "The transaction was not signed.")
        else:
            await flow.poll()
            await asyncio.sleep(POLL_SECONDS)
    if flow.state.phase != "done":
        raise UserFacingError(flow.state.message or f"The transaction ended {flow.state.phase}.")
    return [record.tx_hash for record in flow.state.records]


def account_signer(account: Any) -> Signer:
    """A ``Signer`` from an unlocked LocalAccount."""
    return lambda tx: bytes(account.sign_transaction(tx).raw_transaction)
