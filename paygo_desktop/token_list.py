"""The tokens the app knows on each built-in network, with where each address comes from.

Plain data (no imports of the app): ``networks`` turns these into ``Asset``s. An address here is only ever
the token's own contract as its issuer (or the network's official token list) publishes it; a token that
does not exist on a network is left out rather than guessed. Tokens a user adds by address live in the
store (``store.custom_tokens``), never here.

Checked on 2026-12-06:

* Circle's USDC contract addresses, https://developers.circle.com/stablecoins/usdc-contract-addresses
  (Base: 0x8335…2913; Base Sepolia: 0x036C…dCF7e), also in the Superchain token list below.
* Circle's EURC contract addresses, https://developers.circle.com/stablecoins/eurc-contract-addresses
  (Base: 0x60a3…db42; Base Sepolia: 0x8084…359F).
* The Superchain token list (ethereum-optimism.github.io, data/USDT/data.json and data/DAI/data.json):
  the USDT and DAI that Base's standard bridge mints for Ethereum's USDT and DAI. Tether issues no
  USDT of its own on Base, and MakerDAO/Sky no DAI: these bridged ones are the tokens called USDT and DAI
  there. Neither has a Base Sepolia deployment in any official list, so Base Sepolia has none.
"""

from __future__ import annotations

from typing import NamedTuple


class KnownToken(NamedTuple):
    symbol: str
    decimals: int
    address: str  # EIP-55 checksummed
    name: str
    source: str  # where the address was taken from


CIRCLE_USDC = "Circle, USDC contract addresses (developers.circle.com/stablecoins/usdc-contract-addresses)"
CIRCLE_EURC = "Circle, EURC contract addresses (developers.circle.com/stablecoins/eurc-contract-addresses)"
SUPERCHAIN_LIST = (
    "Superchain token list (ethereum-optimism.github.io), bridged from Ethereum by Base's bridge"
)

BASE_CHAIN_ID = 8453
BASE_SEPOLIA_CHAIN_ID = 84532

TOKENS_BY_CHAIN: dict[int, tuple[KnownToken, ...]] = {
    BASE_CHAIN_ID: (
        KnownToken("USDC", 6, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", CIRCLE_USDC),
        KnownToken("USDT", 6, "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2", "Tether USD", SUPERCHAIN_LIST),
        KnownToken(
            "DAI", 18, "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb", "Dai Stablecoin", SUPERCHAIN_LIST
        ),
        KnownToken("EURC", 6, "0x60a3E35Cc302bFA44Cb288Bc5a4F316Fdb1adb42", "EURC", CIRCLE_EURC),
    ),
    BASE_SEPOLIA_CHAIN_ID: (
        KnownToken("USDC", 6, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USD Coin", CIRCLE_USDC),
        KnownToken("EURC", 6, "0x808456652fdb597867f38412077A9182bf77359F", "EURC", CIRCLE_EURC),
    ),
}

# The set the sandbox deploys on its local chain (test tokens, freely mintable, worthless): the same
# symbols and decimals as above, and a 2-decimal token (Gemini's GUSD has 2) so that every path is tried
# with few decimals too. Deployed by ``chain.deploy.deploy_sandbox_tokens``.
SANDBOX_TOKENS: tuple[tuple[str, int, str], ...] = (
    ("USDC", 6, "Test USD Coin"),
    ("USDT", 6, "Test Tether USD"),
    ("DAI", 18, "Test Dai Stablecoin"),
    ("EURC", 6, "Test EURC"),
    ("GUSD", 2, "Test Gemini Dollar"),
)


def tokens_for(chain_id: int) -> tuple[KnownToken, ...]:
    return TOKENS_BY_CHAIN.get(chain_id, ())
