"""What a failed send means: the errors the transaction manager raises (each one a sentence a person can
read, without the endpoint's URL) and how a node's error or a contract's revert is read into one."""

from __future__ import annotations

import asyncio

from paygo_desktop.chain.rpc_errors import rpc_message, short_rpc_message
from paygo_desktop.errors import UserFacingError
from paygo_desktop.networks import format_gwei as format_gwei  # imported from here by the callers


class TransactionError(UserFacingError):
    """A transaction that cannot be sent or went wrong, with a message for the user."""


class Reverted(TransactionError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The transaction would fail: {reason}.")
        self.reason = reason


class InsufficientFunds(TransactionError):
    pass


class RpcUnavailable(TransactionError):
    pass


class WrongNetwork(TransactionError):
    pass


class FeeTooHigh(TransactionError):
    pass


def revert_reason(exc: BaseException) -> str:
    """A readable reason from a web3 revert exception (Error(string) text or a custom error's name)."""
    from paygo_desktop.chain.vault import revert_error_name

    name = revert_error_name(exc)
    if name:
        return name
    message = str(exc.args[0] if exc.args else exc)
    for prefix in ("execution reverted: ", "execution reverted"):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            break
    return message.strip(" :") or "the contract refused it without a reason"


def explain(exc: BaseException) -> TransactionError:
    """What a node's error means for a transaction: a revert, too little ETH, a nonce or fee the node
    refused, or no answer at all (kept pending: a broadcast may have reached it)."""
    from web3.exceptions import ContractCustomError, ContractLogicError

    if isinstance(exc, TransactionError):
        return exc
    if isinstance(exc, ContractLogicError | ContractCustomError):
        return Reverted(revert_reason(exc))
    message = rpc_message(exc)
    lowered = message.lower()
    if "insufficient funds" in lowered or "lack of funds" in lowered:
        return InsufficientFunds("The account does not hold enough ETH for this amount plus the network fee.")
    if "nonce too low" in lowered:
        return TransactionError("The account's nonce moved on (was this account used elsewhere?). Try again.")
    if "replacement transaction underpriced" in lowered or "underpriced" in lowered:
        return TransactionError("The node wants a higher fee to replace the pending transaction.")
    from aiohttp import ClientError
    from web3.exceptions import BadResponseFormat

    if isinstance(exc, OSError | asyncio.TimeoutError | ClientError | BadResponseFormat):
        # No answer from the node itself (unreachable, an HTTP error status from whatever stands in front
        # of it, an answer that cannot be read): a broadcast may still have reached it, so nothing
        # here is a refusal; a transaction sent is kept pending and looked for again.
        return RpcUnavailable(f"The network's RPC endpoint is unreachable ({short_rpc_message(exc)}).")
    return TransactionError(f"The node refused the transaction: {message[:200]}")
