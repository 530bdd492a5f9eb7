"""The most the provider signs per unit of gas, whatever its node quotes: ``max_fee_per_gas_gwei`` in its
config (``ProviderConfig.max_fee_per_gas``; by default the ceiling the app has for the built-in network on
the configured chain: Base 5 gwei, Base Sepolia 10, a local chain or any other 100).

Every transaction the provider sends from its key (its claims, its jobs' releases and deliveries) is priced
here: the node's quote (``chain.fees.quote_fees``: its tip plus twice the latest base fee) held to the
ceiling, and passed to web3 as explicit fee fields, so web3 never picks a price by itself. A node that
misreports its fees (a public RPC, a broken or hostile one) would otherwise have the provider sign a claim
at any price its ETH can pay, every claim round, unattended. A quote above the ceiling is refused
(``FeeAboveCeiling``): nothing is signed, the round tries again at the next one, a vendor's route answers
503 ``fee_above_ceiling``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paygo_desktop.chain.fees import FeeQuote, quote_fees
from paygo_desktop.errors import UserFacingError
from paygo_desktop.networks import format_gwei

if TYPE_CHECKING:
    from web3 import AsyncWeb3

SETTING = "max_fee_per_gas_gwei"  # where the vendor raises it: the provider's config file
API_CODE = "fee_above_ceiling"  # the code of a vendor route's 503 when a send is refused here


class FeeAboveCeiling(UserFacingError):
    """The node asks more per unit of gas than the provider's fee ceiling: nothing was signed."""

    def __init__(self, asked: int, ceiling: int) -> None:
        self.asked = asked  # wei per gas
        self.ceiling = ceiling  # wei per gas
        super().__init__(  # at most 300 characters: what the app's client keeps of an error's message
            f"The provider's chain node asks up to {_shown(asked)} gwei per unit of gas, above its fee "
            f"ceiling of {format_gwei(ceiling)} gwei: the node may be misreporting fees, or the chain is "
            f"unusually busy. Nothing was sent. If fees really are this high, raise {SETTING} in the "
            "provider's config file."
        )


def _shown(wei: int) -> str:
    """Gwei, exactly, up to a trillion (a hostile node's figure can be any length)."""
    return format_gwei(wei) if wei <= 10**21 else "over 1000000000000"


def held_to(quote: FeeQuote, ceiling: int) -> FeeQuote:
    """``quote`` if neither its fee per gas (maxFeePerGas, or a legacy gas price) nor its tip is above
    ``ceiling`` (wei per gas); else ``FeeAboveCeiling``."""
    asked = max(quote.max_fee, quote.priority or 0)
    if asked > ceiling:
        raise FeeAboveCeiling(asked, ceiling)
    return quote


async def capped_fees(w3: AsyncWeb3, ceiling: int) -> FeeQuote:
    """The node's fee quote now, held to ``ceiling`` (``held_to``); node errors propagate. Its ``params()``
    are the explicit fee fields to send with."""
    return held_to(await quote_fees(w3), ceiling)


def signed_fee_per_gas(raw: bytes) -> int:
    """The most a signed transaction pays per unit of gas: a typed one's maxFeePerGas (an EIP-2930 one's
    gasPrice), a legacy one's gasPrice. ``ValueError`` for bytes that are none of these."""
    if not raw:
        raise ValueError("an empty transaction")
    if raw[0] >= 0xC0:  # legacy: rlp([nonce, gasPrice, gas, to, value, data, v, r, s])
        import rlp

        fields = rlp.decode(raw)
        if not isinstance(fields, list) or len(fields) != 9 or not isinstance(fields[1], bytes):
            raise ValueError("not a legacy transaction")
        return int.from_bytes(fields[1], "big")
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    try:
        tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a transaction this provider signs ({type(exc).__name__})") from None
    fee = tx.get("maxFeePerGas", tx.get("gasPrice"))
    if not isinstance(fee, int):
        raise ValueError("a transaction without a fee per gas")
    return fee


def send_guard(ceiling: int) -> type[Any]:
    """A web3 middleware (sync and async) that refuses to broadcast (``eth_sendRawTransaction``) a signed
    transaction paying more than ``ceiling`` per unit of gas: ``FeeAboveCeiling``, nothing leaves. For a
    sender whose price this code does not set (the x402 SDK's facilitator prices its settlements with the
    node's ``eth_gasPrice``)."""
    from hexbytes import HexBytes
    from web3.middleware import Web3Middleware

    def check(method: str, params: Any) -> None:
        if method != "eth_sendRawTransaction":
            return
        fee = signed_fee_per_gas(bytes(HexBytes(params[0])))
        if fee > ceiling:
            raise FeeAboveCeiling(fee, ceiling)

    class SendGuard(Web3Middleware):
        def request_processor(self, method: Any, params: Any) -> Any:
            check(str(method), params)
            return method, params

        async def async_request_processor(self, method: Any, params: Any) -> Any:
            check(str(method), params)
            return method, params

    return SendGuard
