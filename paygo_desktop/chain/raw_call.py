"""``eth_call`` as the node answers it: bytes within a bound, decoded by the caller, never by web3's ABI code.

Token contracts added by address and price feeds are other people's contracts: their answers are taken as
raw bytes under a gas limit (a contract cannot hand back megabytes) and a size limit, and each caller
decodes exactly the words it expects (``chain.token_metadata``, ``prices.aggregator``).
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.chain.rpc_errors import short_rpc_message

CALL_GAS = 200_000
MAX_ANSWER_BYTES = 4096


class CallFailed(Exception):
    """The call reverted, or the node did not answer, or answered with something that is no call result.
    ``reverted`` tells the first apart (the contract said no) from the others (the node failed)."""

    def __init__(self, message: str, *, reverted: bool) -> None:
        super().__init__(message)
        self.reverted = reverted


async def raw_call(
    w3: Any, to: str, data: bytes, *, block: int | str = "latest", max_bytes: int = MAX_ANSWER_BYTES
) -> bytes:
    from web3.types import RPCEndpoint

    tx = {"to": to, "data": "0x" + data.hex(), "gas": hex(CALL_GAS)}
    at = hex(block) if isinstance(block, int) else block
    try:
        response = await w3.provider.make_request(RPCEndpoint("eth_call"), [tx, at])
    except Exception as exc:
        raise CallFailed(f"the network did not answer ({short_rpc_message(exc)})", reverted=False) from None
    if "error" in response:
        error = response["error"]
        message = str(error.get("message", error) if isinstance(error, dict) else error)[:200]
        reverted = "revert" in message.lower() or (isinstance(error, dict) and error.get("code") == 3)
        raise CallFailed(message, reverted=reverted)
    result = response.get("result")
    if not isinstance(result, str) or not result.startswith("0x") or len(result) > 2 + 2 * max_bytes:
        raise CallFailed("the answer is too long or malformed", reverted=False)
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        raise CallFailed("the answer is not hex", reverted=False) from None
