"""Money tests run on the real anvil of tests/chain: test tokens of 6, 18 and 2 decimals, price feeds
(MockAggregator) moved and let go stale, the app's store in a temporary SQLite file."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from paygo_desktop.money import Asset
from paygo_desktop.prices.feeds import FEED_DECIMALS, Feed, FeedBook
from tests.chain.conftest import Env
from tests.escrow.conftest import (  # noqa: F401 - fixtures re-exported for this package
    _deployed,
    anvil_url,
    env,
    fresh,
    runner,
    service,
    store,
)


@dataclass
class Tokens:
    usdc: Asset  # 6 decimals
    dai: Asset  # 18
    gusd: Asset  # 2


def mint(env: Env, asset: Asset, to: str, whole: int) -> None:  # noqa: F811
    assert asset.address is not None
    env.transact(env.token(asset.address, "TestToken").functions.mint(to, whole * asset.one))


@pytest.fixture(scope="session")
def _tokens(_deployed: Env) -> Tokens:  # noqa: F811
    dai = _deployed.deploy("TestToken", "Test Dai Stablecoin", "DAI", 18)
    gusd = _deployed.deploy("TestToken", "Test Gemini Dollar", "GUSD", 2)
    return Tokens(Asset("USDC", 6, _deployed.usdc), Asset("DAI", 18, dai), Asset("GUSD", 2, gusd))


@pytest.fixture
def tokens(_tokens: Tokens, env: Env) -> Tokens:  # noqa: F811
    return _tokens


def price_answer(price: str) -> int:
    return int(Decimal(price).scaleb(FEED_DECIMALS))


def deploy_feed(env: Env, pair: str, price: str, heartbeat: int = 3600) -> Feed:  # noqa: F811
    address = env.deploy("MockAggregator", FEED_DECIMALS, pair, price_answer(price))
    return Feed(pair, address, heartbeat, "test feed")


def feed_contract(env: Env, feed: Feed) -> Any:  # noqa: F811
    from paygo_desktop.chain.artifacts import load_artifact

    return env.w3.eth.contract(address=feed.address, abi=load_artifact("MockAggregator").abi)


def book(assets: dict[str, Feed], currencies: dict[str, Feed] | None = None) -> FeedBook:
    return FeedBook(dict(assets), dict(currencies or {}))
