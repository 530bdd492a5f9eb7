"""Which price feed gives which price, per network, and the display currencies.

Every price is a feed's answer in US dollars (``X / USD``); a value in another currency divides by that
currency's own feed (``EUR / USD``). A feed counts as stale once its last round is older than its
heartbeat plus ``stale_margin`` (Chainlink's advice: check ``updatedAt`` against the feed's heartbeat).

Base (chain 8453): the proxies of Chainlink's Data Feeds, from Chainlink's feed directory
(docs.chain.link/data-feeds/price-feeds/addresses?network=base and data.chain.link/feeds/base/mainnet/<pair>),
checked on 2026-12-06 against the same addresses in several projects' published configurations (the
directory page itself renders its table at run time). All answer with 8 decimals. Heartbeats: ETH / USD
updates at least every 20 minutes there, the stablecoin and currency feeds every 24 hours. EURC has no
Chainlink feed on Base that could be confirmed: its value shows "—".

Base Sepolia has no feeds here on purpose: test tokens have no financial value (Circle's and Chainlink's
testnet notes), so no fiat value is shown for them. The sandbox deploys its own feeds (made-up prices that
it moves) and says where they are in its state file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paygo_desktop.money import Asset

HOUR = 3_600
DAY = 86_400
SANDBOX_HEARTBEAT = HOUR  # the sandbox moves its feeds every few minutes (sandbox.price_mover)


@dataclass(frozen=True)
class Currency:
    code: str
    sign: str
    name: str
    minor_digits: int = 2  # what a value is rounded to for display (cents)


CURRENCIES: tuple[Currency, ...] = (
    Currency("USD", "$", "US dollar"),
    Currency("EUR", "€", "euro"),
    Currency("GBP", "£", "pound sterling"),
)
DEFAULT_CURRENCY = "USD"


def currency(code: str) -> Currency:
    return next((c for c in CURRENCIES if c.code == code), CURRENCIES[0])


@dataclass(frozen=True)
class Feed:
    pair: str  # "ETH / USD"
    address: str
    heartbeat: int  # seconds between rounds at most, as published
    source: str = "Chainlink"

    @property
    def stale_after(self) -> int:
        """Seconds after its last round from which the feed's answer is not used: heartbeat + margin."""
        return self.heartbeat + stale_margin(self.heartbeat)


def stale_margin(heartbeat: int) -> int:
    """A round may land a little after its heartbeat (congestion): a tenth of it, 5 minutes at least."""
    return max(300, heartbeat // 10)


CHAINLINK_BASE = "Chainlink Data Feeds on Base"
BASE_FEEDS: dict[str, Feed] = {
    "ETH": Feed("ETH / USD", "0x71041dddad3595F9CEd3DcCFBe3D1F4b0a16Bb70", 20 * 60, CHAINLINK_BASE),
    "USDC": Feed("USDC / USD", "0x7e860098F58bBFC8648a4311b374B1D669a2bc6B", DAY, CHAINLINK_BASE),
    "USDT": Feed("USDT / USD", "0xf19d560eB8d2ADf07BD6D13ed03e1D11215721F9", DAY, CHAINLINK_BASE),
    "DAI": Feed("DAI / USD", "0x591e79239a7d679378eC8c847e5038150364C78F", DAY, CHAINLINK_BASE),
}
BASE_CURRENCY_FEEDS: dict[str, Feed] = {
    "EUR": Feed("EUR / USD", "0xc91D87E81faB8f93699ECf7Ee9B44D11e1D53F0F", DAY, CHAINLINK_BASE),
    "GBP": Feed("GBP / USD", "0xCceA6576904C118037695eB71195a5425E69Fa15", DAY, CHAINLINK_BASE),
}

# The sandbox's feeds: the pair, its made-up starting price in US dollars, and how far it moves each step.
SANDBOX_FEEDS: tuple[tuple[str, str, str], ...] = (
    ("ETH", "3000.00", "0.005"),
    ("USDC", "1.0000", "0.0005"),
    ("USDT", "1.0002", "0.0005"),
    ("DAI", "0.9998", "0.0005"),
    ("EURC", "1.0800", "0.001"),
    ("GUSD", "1.0000", "0.0005"),
    ("EUR", "1.0800", "0.001"),
    ("GBP", "1.2700", "0.001"),
)
FEED_DECIMALS = 8


@dataclass(frozen=True)
class FeedBook:
    """The feeds of one network: each asset's ``X / USD`` feed (by token address; "native" for the
    network's coin) and each display currency's ``CUR / USD`` feed."""

    asset_feeds: dict[str, Feed] = field(default_factory=dict)
    currency_feeds: dict[str, Feed] = field(default_factory=dict)

    def for_asset(self, asset: Asset) -> Feed | None:
        return self.asset_feeds.get(_key(asset))

    def for_currency(self, code: str) -> Feed | None:
        return self.currency_feeds.get(code)

    @property
    def empty(self) -> bool:
        return not self.asset_feeds


def _key(asset: Asset) -> str:
    return asset.address.lower() if asset.address else "native"


def base_book(tokens: tuple[Asset, ...]) -> FeedBook:
    """Base's feeds, each tied to the token at its listed address (never to a symbol alone: a token added
    by address that calls itself USDC gets no USDC price)."""
    from paygo_desktop.token_list import BASE_CHAIN_ID, tokens_for

    listed = {t.symbol: t.address.lower() for t in tokens_for(BASE_CHAIN_ID)}
    assets: dict[str, Feed] = {"native": BASE_FEEDS["ETH"]}
    for symbol, feed in BASE_FEEDS.items():
        if symbol in listed:
            assets[listed[symbol]] = feed
    return FeedBook(assets, dict(BASE_CURRENCY_FEEDS))


def sandbox_book(feeds: dict[str, str], tokens: dict[str, str]) -> FeedBook:
    """The sandbox's feeds (``feeds``: symbol or currency -> feed address; ``tokens``: symbol -> token)."""
    assets: dict[str, Feed] = {}
    currencies: dict[str, Feed] = {}
    for symbol, address in feeds.items():
        feed = Feed(f"{symbol} / USD", address, SANDBOX_HEARTBEAT, "the sandbox's own feed (made-up prices)")
        if symbol == "ETH":
            assets["native"] = feed
        elif symbol in tokens:
            assets[tokens[symbol].lower()] = feed
        elif any(c.code == symbol for c in CURRENCIES):
            currencies[symbol] = feed
    return FeedBook(assets, currencies)
