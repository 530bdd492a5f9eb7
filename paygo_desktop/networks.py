"""The networks the app knows: the local sandbox, Base Sepolia, Base, and custom RPC endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

from paygo_desktop import bounded_json
from paygo_desktop.answer_limits import PLAIN, Compressed, refuse_compressed
from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import ETH, Asset
from paygo_desktop.settings import FeeCeilingError, check_fee_ceiling
from paygo_desktop.token_list import tokens_for

GWEI = 10**9
# Where the user raises a network's fee ceiling (a refused fee says so), besides the command line's
# ``paygo-desktop network fee-ceiling KEY GWEI``.
FEE_CEILING_PLACE = "Settings → Network → Fee ceiling"

# The fee ceilings (wei per unit of gas: the most the app ever signs, whatever the node quotes; the user may
# set another per network in Settings: ``Settings.fee_ceilings``). The app quotes maxFeePerGas as twice the
# next base fee plus the tip, so a ceiling leaves room for the base fee to reach about half of it.
#
# Base: 5 gwei. Base's base fee is a few thousandths of a gwei on a normal day and rarely above a few tenths
# of a gwei when busy; 5 gwei is still more than ten times a busy day's quote, yet a node misreporting fees
# can make a deposit (about 150,000 gas) cost at most 0.00075 ETH, not the 0.015 ETH 100 gwei allowed.
BASE_FEE_CEILING = 5 * GWEI
# Base Sepolia: 10 gwei. Its fees are Base's, but test networks see bursts of spam, and test ETH is worth
# nothing: refusing to send there costs the user more than paying over the odds.
BASE_SEPOLIA_FEE_CEILING = 10 * GWEI
# A local chain (the sandbox's anvil, py-evm when there is no anvil): 100 gwei. Its base fee starts at 1
# gwei and falls while blocks are empty; a developer may raise it (anvil --base-fee) to rehearse busy
# times, and its ETH is not real.
LOCAL_FEE_CEILING = 100 * GWEI
# A network the user added: 100 gwei, the single ceiling the app had before it had one per network. Some
# chains need more (raise it in Settings); on a cheap L2 a lower one is safer.
CUSTOM_FEE_CEILING = 100 * GWEI


@dataclass(frozen=True)
class Network:
    key: str
    name: str
    chain_id: int
    rpc_url: str
    explorer_url: str | None = None
    is_local: bool = False
    is_builtin: bool = True
    tokens: tuple[Asset, ...] = field(default=())
    native: Asset = ETH
    # a PayGoVault configured explicitly for this network (tests); None: PayGo's canonical vault, at the
    # same address on every chain (chain.canonical). Either is used only once its code is checked.
    vault_address: str | None = None
    # wei per unit of gas: the most any of the app's transactions on this network is signed at (maxFeePerGas),
    # whatever its node quotes (``chain.transactions``); the network's own, or what the user set for its key
    # in the settings (``AppContext.configured``).
    max_fee_per_gas_ceiling: int = CUSTOM_FEE_CEILING

    def explorer_tx_url(self, tx_hash: str) -> str | None:
        return f"{self.explorer_url.rstrip('/')}/tx/{tx_hash}" if self.explorer_url else None

    def explorer_address_url(self, address: str) -> str | None:
        return f"{self.explorer_url.rstrip('/')}/address/{address}" if self.explorer_url else None


def known_assets(chain_id: int) -> tuple[Asset, ...]:
    """The tokens ``token_list`` knows on ``chain_id``, as assets (the first is the network's USDC)."""
    return tuple(Asset(t.symbol, t.decimals, t.address) for t in tokens_for(chain_id))


SANDBOX = Network(
    key="sandbox",
    name="Sandbox (local)",
    chain_id=31337,
    rpc_url="http://127.0.0.1:8545",
    is_local=True,
    max_fee_per_gas_ceiling=LOCAL_FEE_CEILING,
)
BASE_SEPOLIA = Network(
    key="base-sepolia",
    name="Base Sepolia",
    chain_id=84532,
    rpc_url="https://sepolia.base.org",
    explorer_url="https://sepolia.basescan.org",
    tokens=known_assets(84532),
    max_fee_per_gas_ceiling=BASE_SEPOLIA_FEE_CEILING,
)
BASE = Network(
    key="base",
    name="Base",
    chain_id=8453,
    rpc_url="https://mainnet.base.org",
    explorer_url="https://basescan.org",
    tokens=known_assets(8453),
    max_fee_per_gas_ceiling=BASE_FEE_CEILING,
)
BUILTIN_NETWORKS: tuple[Network, ...] = (SANDBOX, BASE_SEPOLIA, BASE)


def with_fee_ceiling(network: Network, ceilings: Mapping[str, int]) -> Network:
    """``network`` with the fee ceiling the user set for its key in ``ceilings`` (``Settings.fee_ceilings``,
    checked when the settings were read), or its default (``default_fee_ceiling``) when none was set."""
    chosen = ceilings.get(network.key, default_fee_ceiling(network))
    if chosen == network.max_fee_per_gas_ceiling:
        return network
    return replace(network, max_fee_per_gas_ceiling=chosen)


def default_fee_ceiling(network: Network) -> int:
    """The ceiling ``network`` has when the user has set none: a built-in network's own, else the custom
    networks'."""
    builtin = next((n for n in BUILTIN_NETWORKS if n.key == network.key), None)
    return builtin.max_fee_per_gas_ceiling if builtin is not None else CUSTOM_FEE_CEILING


def fee_ceiling_for_chain(chain_id: int) -> int:
    """The fee ceiling of the built-in network on ``chain_id`` (Base 5 gwei, Base Sepolia 10, a local chain
    100), else the custom networks' (100 gwei): for a party that knows a chain only by its id (the reference
    provider's ``max_fee_per_gas_gwei`` default)."""
    builtin = next((n for n in BUILTIN_NETWORKS if n.chain_id == chain_id), None)
    return builtin.max_fee_per_gas_ceiling if builtin is not None else CUSTOM_FEE_CEILING


def format_gwei(wei: int) -> str:
    """Wei per gas as gwei, exactly (integer arithmetic, up to 9 decimals)."""
    whole, rest = divmod(wei, GWEI)
    return f"{whole}.{rest:09d}".rstrip("0").rstrip(".") if rest else str(whole)


def parse_gwei(text: str) -> int:
    """A fee ceiling typed in gwei ("5", "0.05", "1,000", "5 gwei") as wei, checked (``check_fee_ceiling``):
    read with Decimal, never a float."""
    from decimal import Decimal, InvalidOperation, localcontext

    cleaned = text.strip().replace(",", "").replace("_", "")
    if cleaned.lower().endswith("gwei"):
        cleaned = cleaned[:-4].strip()
    if not cleaned:
        raise FeeCeilingError("Enter the fee ceiling in gwei, e.g. 5.")
    wrong = FeeCeilingError(f"“{text.strip()[:40]}” is not a number of gwei (e.g. 5 or 0.5).")
    if len(cleaned) > 40 or not all(c in "0123456789." for c in cleaned):
        raise wrong
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise wrong from None
    with localcontext() as ctx:
        ctx.prec = 80
        wei = value.scaleb(9)
        if wei != wei.to_integral_value():
            raise FeeCeilingError("A gwei has at most 9 decimal places (1 wei is 0.000000001 gwei).")
        return check_fee_ceiling(int(wei))


def on_this_computer(network: Network) -> bool:
    """A local network (the sandbox), or any whose node runs on this computer (its RPC on loopback)."""
    from urllib.parse import urlsplit

    host = (urlsplit(network.rpc_url).hostname or "").lower()
    return network.is_local or host in ("localhost", "::1") or host.startswith("127.")


def confirmations_for(network: Network) -> int:
    """Blocks to wait before a transaction counts as done: one on a local chain (the sandbox, or any node
    on this computer: a development chain mines only when a transaction arrives, so more would never
    come), three elsewhere."""
    return 1 if on_this_computer(network) else 3


class NetworkError(UserFacingError):
    """An RPC endpoint that cannot be used as the network the user asked for."""


def custom_network(
    name: str, rpc_url: str, chain_id: int, explorer_url: str | None = None, vault_address: str | None = None
) -> Network:
    rpc_url = rpc_url.strip()
    if not rpc_url.startswith(("http://", "https://")):
        raise NetworkError("The RPC address must start with http:// or https://.")
    if not name.strip():
        raise NetworkError("Give the network a name.")
    if chain_id <= 0:
        raise NetworkError("The chain id must be a positive number.")
    slug = "".join(c if c.isalnum() else "-" for c in name.strip().lower()).strip("-")[:40] or "custom"
    return Network(
        key=f"custom-{slug}",
        name=name.strip(),
        chain_id=chain_id,
        rpc_url=rpc_url,
        explorer_url=(explorer_url or None),
        is_builtin=False,
        tokens=known_assets(chain_id),  # a node of Base (or Base Sepolia) has their tokens
        vault_address=(vault_address or None),
    )


MAX_RPC_ANSWER_BYTES = 64 * 1024  # an eth_chainId answer is a few dozen bytes


def _http_client_parts() -> tuple[Any, ssl.SSLContext]:
    import httpx

    from paygo_desktop.tls import tls_context

    return httpx, tls_context()


async def fetch_chain_id(rpc_url: str, *, timeout: float = 5.0) -> int:
    """Ask an endpoint for its chain id (eth_chainId) without loading web3. httpx and the TLS context are
    loaded in a worker thread (the status bar polls this every few seconds on the GUI's event loop: a new
    TLS context each time was a 25 ms stall)."""
    import asyncio

    httpx, verify = await asyncio.to_thread(_http_client_parts)
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:  # the whole answer within ``timeout`` (httpx's limits are per read) and read to its bound only
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, verify=verify, headers=PLAIN) as client,
            client.stream("POST", rpc_url, json=payload) as response,
        ):
            response.raise_for_status()
            refuse_compressed(response.headers)
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_RPC_ANSWER_BYTES:
                    raise NetworkError(f"{rpc_url} answered with far more than a chain id.")
            body = bounded_json.loads(bytes(raw), max_bytes=MAX_RPC_ANSWER_BYTES)
    except (httpx.TimeoutException, TimeoutError):
        raise NetworkError(f"{rpc_url} did not answer within {timeout:g} seconds.") from None
    except httpx.HTTPError as exc:
        raise NetworkError(f"Could not reach {rpc_url}: {exc.__class__.__name__}.") from None
    except Compressed as exc:
        raise NetworkError(exc.told(rpc_url)) from None
    except ValueError:
        raise NetworkError(f"{rpc_url} did not answer with JSON-RPC.") from None
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, str) or not result.startswith("0x"):
        raise NetworkError(f"{rpc_url} did not return a chain id.")
    try:
        return int(result, 16)
    except ValueError:
        raise NetworkError(f"{rpc_url} returned a malformed chain id.") from None


async def verify_custom_network(network: Network) -> Network:
    """Check a custom network's chain id against what its endpoint reports; raise if they differ."""
    actual = await fetch_chain_id(network.rpc_url)
    if actual != network.chain_id:
        raise NetworkError(
            f"{network.rpc_url} reports chain id {actual}, not {network.chain_id}. "
            "Check the address or the id."
        )
    return network
