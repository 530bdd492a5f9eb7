"""Each network's fee ceiling, against a real anvil: the most the app signs per unit of gas there whatever
the node quotes (``Network.max_fee_per_gas_ceiling``), and the user's own for a network
(``Settings.fee_ceilings``) carried by ``AppContext`` to the transaction manager every service builds
(``TransactionManager.for_network``).

The built-in networks run here on the test chain (their chain id swapped for anvil's): what is tested is the
ceiling each one holds the manager to, behind a node that lies about fees (``lying_rpc``) or a chain whose
fees really are high (anvil_setNextBlockBaseFeePerGas)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from paygo_desktop.chain.transactions import FeeTooHigh, TransactionManager, TxRequest, format_gwei
from paygo_desktop.context import AppContext
from paygo_desktop.networks import BASE, BUILTIN_NETWORKS, CUSTOM_FEE_CEILING, GWEI, Network, custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.store import Store
from paygo_desktop.store.transactions import TransactionRepository
from tests.chain.lying_rpc import lying_rpc

RECIPIENT = "0x000000000000000000000000000000000000dEaD"
TIP = 10**6  # wei per gas: the app's priority fee floor (0.001 gwei), what the lying node quotes as the tip


@pytest.fixture
def repo(tmp_path):
    return TransactionRepository(Store.open(tmp_path / "db.sqlite3"))


def signer(account):
    return lambda tx: account.sign_transaction(tx).raw_transaction


def quoting(base_fee: int):
    """A rewrite of eth_feeHistory: every block's base fee ``base_fee``, every tip ``TIP``. The app then
    asks maxFeePerGas = 2 × base_fee + TIP."""

    def rewrite(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        result = dict(answer["result"])
        result["baseFeePerGas"] = [hex(base_fee)] * len(result["baseFeePerGas"])
        result["reward"] = [[hex(TIP), hex(TIP)] for _ in result["gasUsedRatio"]]
        return {**answer, "result": result}

    return rewrite


def mined(env, tx_hash: str) -> bool:
    """Whether anvil mined it, successfully (it mines on arrival, its receipt may lag the send a moment)."""
    deadline = time.monotonic() + 10
    while (
        receipt := env.rpc("eth_getTransactionReceipt", [tx_hash])
    ) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return receipt is not None and int(receipt["status"], 16) == 1


@pytest.mark.parametrize("network", BUILTIN_NETWORKS, ids=lambda n: n.key)
def test_a_networks_ceiling_refuses_a_lying_nodes_fee_above_it_and_sends_one_below(env, repo, network):
    """A node that misreports eth_feeHistory gets nothing signed above the network's own ceiling (on Base 5
    gwei, not the 100 gwei the app had for every network), and the refusal says which network, the node's
    fee, the ceiling and where to raise it; a fee at the ceiling is sent and mined."""
    ceiling = network.max_fee_per_gas_ceiling
    request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
    with lying_rpc(env.url) as (url, proxy):
        w3 = AsyncWeb3(AsyncHTTPProvider(url))
        manager = TransactionManager.for_network(
            w3, replace(network, chain_id=env.chain_id, rpc_url=url), repo
        )
        above = ceiling // 2  # 2 × (ceiling / 2) + the tip: just above it
        proxy.rewrites["eth_feeHistory"] = quoting(above)
        before = env.eth(env.payer.address)
        with pytest.raises(FeeTooHigh) as refused:
            quote = env.run(manager.quote(env.payer.address, request))
            env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        message = str(refused.value)
        assert f"The {network.name} node asks up to {format_gwei(2 * above + TIP)} gwei" in message
        assert f"fee ceiling of {format_gwei(ceiling)} gwei set for {network.name}" in message
        assert "Settings → Network → Fee ceiling" in message
        assert f"paygo-desktop network fee-ceiling {network.key} GWEI" in message
        assert "eth_sendRawTransaction" not in proxy.calls
        assert repo.recent() == []
        assert env.eth(env.payer.address) == before

        proxy.rewrites["eth_feeHistory"] = quoting((ceiling - TIP) // 2)  # at most the ceiling
        quote = env.run(manager.quote(env.payer.address, request))
        assert ceiling - 2 <= quote.max_fee_per_gas <= ceiling
        record = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        assert mined(env, record.tx_hash)


def test_base_is_held_far_below_the_old_single_ceiling():
    """Base's fees are a fraction of a gwei: its ceiling is a few gwei, not the 100 a custom network has."""
    assert BASE.max_fee_per_gas_ceiling <= 10 * GWEI < CUSTOM_FEE_CEILING


@pytest.fixture
def high_fees(env):
    """The test chain's next base fee at 300 gwei, as a busy chain's might be (put back after)."""
    latest = env.rpc("eth_getBlockByNumber", ["latest", False])
    env.rpc("anvil_setNextBlockBaseFeePerGas", [hex(300 * GWEI)])
    try:
        yield 300 * GWEI
    finally:
        env.rpc("anvil_setNextBlockBaseFeePerGas", [latest["baseFeePerGas"]])


def test_a_custom_networks_raised_ceiling_lets_a_send_through_on_a_chain_whose_fees_are_high(
    env, tmp_path, high_fees
):
    """A custom network whose fees really are above 100 gwei: the app refused to send there, with no way out.
    Raised in the settings (kept in the file, read again by the next start), the send goes through; nothing
    is signed above the raised ceiling either."""
    data_dir = DataDir(tmp_path / "data")
    ctx = AppContext.open(data_dir)
    request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
    try:
        network = custom_network("Busy chain", env.url, env.chain_id)
        ctx.networks.save_custom(network)
        found = ctx.find_network(network.key)
        assert found.max_fee_per_gas_ceiling == CUSTOM_FEE_CEILING
        manager = _manager(env, ctx, found)
        with pytest.raises(FeeTooHigh, match="fee ceiling of 100 gwei set for Busy chain"):
            env.run(manager.quote(env.payer.address, request))

        ctx.set_fee_ceiling(network.key, 1000 * GWEI)
        ctx.settings.save()
    finally:
        ctx.close()

    ctx = AppContext.open(data_dir)  # the next start
    try:
        found = ctx.find_network(network.key)
        assert found.max_fee_per_gas_ceiling == 1000 * GWEI
        manager = _manager(env, ctx, found)
        quote = env.run(manager.quote(env.payer.address, request))
        assert 2 * high_fees <= quote.max_fee_per_gas <= 1000 * GWEI
        record = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        assert mined(env, record.tx_hash)
        other = replace(found, max_fee_per_gas_ceiling=quote.max_fee_per_gas - 1)
        with pytest.raises(FeeTooHigh):  # held to exactly what is set: that quote is refused below it
            env.run(_manager(env, ctx, other).send(env.payer.address, request, quote, signer(env.payer)))
    finally:
        ctx.close()


def test_the_network_in_use_takes_a_new_ceiling_at_once(tmp_path):
    """``AppContext.set_fee_ceiling``: the network in use has it at once (a service built after it holds
    to it), and None gives the network its own again."""
    ctx = AppContext.open(DataDir(tmp_path / "data"))
    try:
        ctx.switch_network(BASE.key, ctx.find_network(BASE.key))
        assert ctx.network.max_fee_per_gas_ceiling == BASE.max_fee_per_gas_ceiling
        ctx.set_fee_ceiling(BASE.key, 2 * GWEI)
        assert ctx.network.max_fee_per_gas_ceiling == 2 * GWEI
        ctx.set_fee_ceiling(BASE.key, None)
        assert ctx.network.max_fee_per_gas_ceiling == BASE.max_fee_per_gas_ceiling
    finally:
        ctx.close()


def _manager(env, ctx: AppContext, network: Network) -> TransactionManager:
    return TransactionManager.for_network(env.w3, network, TransactionRepository(ctx.store))
