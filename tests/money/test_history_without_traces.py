"""A node that cannot list native transfers (the embedded py-evm node has no ``trace_filter``, like most
public RPC endpoints): token transfers are still every one, and the history says plainly that ETH from
others is not shown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("eth_tester")

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.deploy import deploy_contract
from paygo_desktop.chain.rpc import async_web3
from paygo_desktop.chain.tx import send
from paygo_desktop.history.account_history import AccountHistory
from paygo_desktop.history.movements import IN, OUT
from paygo_desktop.money import ETH, Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.prices.feeds import FeedBook, currency
from paygo_desktop.sandbox.embedded_node import serve
from paygo_desktop.sandbox.node import rpc
from paygo_desktop.store import Store
from tests.chain.conftest import make_account


@pytest.fixture
def embedded_url() -> Iterator[str]:
    server = serve(0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_tokens_are_listed_and_the_missing_eth_is_said(embedded_url: str, tmp_path: Path) -> None:
    mine, other = make_account("notrace-mine"), make_account("notrace-other")
    deployer = rpc(embedded_url, "eth_accounts")[0]
    for account in (mine, other):
        rpc(embedded_url, "anvil_setBalance", [account.address, hex(10**21)])

    async def scene() -> tuple[str, str, str]:
        w3 = async_web3(embedded_url)
        token = (await deploy_contract(w3, deployer, "TestToken", "Test Gemini Dollar", "GUSD", 2)).address
        contract = w3.eth.contract(address=token, abi=load_artifact("TestToken").abi)
        await send(w3, contract.functions.mint(other.address, 10_000), deployer)
        incoming = await send(w3, contract.functions.transfer(mine.address, 1_234), other)
        outgoing = await send(w3, contract.functions.transfer(other.address, 34), mine)
        rpc(
            embedded_url,
            "eth_sendTransaction",
            [{"from": deployer, "to": mine.address, "value": hex(10**18)}],
        )
        await w3.provider.disconnect()
        return token, "0x" + incoming.tx_hash.hex(), "0x" + outgoing.tx_hash.hex()

    token, incoming, outgoing = asyncio.run(scene())
    network = Network("lab", "Lab node", 31337, embedded_url, is_builtin=False)
    gusd = Asset("GUSD", 2, token)
    history = AccountHistory(
        Store.open(tmp_path / "a.sqlite3"), network, mine.address, (gusd,), FeedBook(), currency("USD")
    )
    report = asyncio.run(history.sync())
    assert report.native is False
    view = asyncio.run(history.view())
    rows = {(m.tx_hash, m.direction): m for m in view.rows}
    assert rows[(incoming, IN)].amount == Amount(gusd, 1_234)
    assert rows[(outgoing, OUT)].amount == Amount(gusd, 34) and rows[(outgoing, OUT)].fee is not None
    assert not [m for m in view.rows if m.asset == ETH and m.direction == IN]  # not visible here
    assert (
        "cannot list plain ETH transfers" in view.note
        and "ETH received from others is not shown" in view.note
    )
