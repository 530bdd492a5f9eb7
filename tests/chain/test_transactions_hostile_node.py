"""The transaction manager against a node that lies or lags: a real anvil behind a loopback JSON-RPC proxy
(``lying_rpc``) that rewrites some of its answers, as a public RPC endpoint the user configured might."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from paygo_desktop.chain.transactions import (
    MAX_FEE_PER_GAS_CEILING,
    FeeTooHigh,
    RpcUnavailable,
    TransactionManager,
    TxRequest,
    WrongNetwork,
)
from paygo_desktop.store import Store
from paygo_desktop.store.transactions import TransactionRepository
from tests.chain.lying_rpc import LyingRpc, lying_rpc

RECIPIENT = "0x000000000000000000000000000000000000dEaD"
ABSURD_TIP = 10**15  # wei per gas: a million gwei


@pytest.fixture
def repo(tmp_path):
    return TransactionRepository(Store.open(tmp_path / "db.sqlite3"))


@pytest.fixture
def node(env) -> Iterator[tuple[Any, LyingRpc]]:
    """A web3 through the lying proxy, and the proxy."""
    with lying_rpc(env.url) as (url, proxy):
        yield AsyncWeb3(AsyncHTTPProvider(url)), proxy


def signer(account):
    return lambda tx: account.sign_transaction(tx).raw_transaction


def absurd_tips(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """eth_feeHistory whose every block's tips are a million gwei."""
    result = dict(answer["result"])
    result["reward"] = [[hex(ABSURD_TIP)] * len(row) for row in result.get("reward", [])] or [
        [hex(ABSURD_TIP), hex(ABSURD_TIP)]
    ] * len(result["gasUsedRatio"])
    return {**answer, "result": result}


def test_a_node_quoting_an_absurd_fee_gets_nothing_signed(env, repo, node):
    """A deposit sent headless (`session start --deposit`) quotes and sends without a review: a node that
    reports tips of a million gwei would have the account pay them (here: about 21 ETH for a plain transfer,
    the account holding enough). The manager refuses any fee per gas above its ceiling."""
    w3, proxy = node
    proxy.rewrites["eth_feeHistory"] = absurd_tips
    manager = TransactionManager(w3, env.chain_id, repo)
    before = env.eth(env.payer.address)
    request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
    with pytest.raises(FeeTooHigh, match="gwei per unit of gas"):
        quote = env.run(manager.quote(env.payer.address, request))
        env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
    assert "eth_sendRawTransaction" not in proxy.calls
    assert repo.recent() == []
    assert env.eth(env.payer.address) == before


def test_a_speed_up_is_bounded_by_the_same_ceiling(env, repo, node):
    """A speed-up is signed at the node's current tip if that is higher than the bump: not reviewed either."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo)
    env.rpc("evm_setAutomine", [False])
    try:
        request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
        quote = env.run(manager.quote(env.payer.address, request))
        assert quote.max_fee_per_gas <= MAX_FEE_PER_GAS_CEILING
        original = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        proxy.rewrites["eth_feeHistory"] = absurd_tips
        with pytest.raises(FeeTooHigh):
            env.run(manager.speed_up(original, signer(env.payer)))
        with pytest.raises(FeeTooHigh):
            env.run(manager.cancel(original, signer(env.payer)))
        assert [r.tx_hash for r in repo.recent()] == [original.tx_hash]
        assert proxy.calls.count("eth_sendRawTransaction") == 1
    finally:
        env.rpc("evm_setAutomine", [True])


def hiding(tx_hash: str):
    """A rewrite for a node that does not know ``tx_hash`` yet (a load balancer's lagging backend)."""

    def rewrite(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        if str(request["params"][0]).lower() == tx_hash.lower():
            return {**answer, "result": None}
        return answer

    return rewrite


def test_a_node_lagging_on_the_receipt_does_not_make_a_mined_payment_replaced(env, repo, node):
    """A public RPC behind a load balancer: the nonce is read from a backend that has the new block, the
    receipt from one that has not yet. The transfer was mined; calling it replaced (final) told the user
    "this one was not sent. Nothing was paid", and a user who sends it again pays twice. The manager waits
    until the nonce is used ``confirmations`` blocks deep before it believes another transaction took it."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    request = TxRequest(to=RECIPIENT, value=10**15, kind="send", description="Send ETH")
    before = env.eth(RECIPIENT)
    quote = env.run(manager.quote(env.payer.address, request))
    record = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
    for method in ("eth_getTransactionReceipt", "eth_getTransactionByHash"):
        proxy.rewrites[method] = hiding(record.tx_hash)
    env.rpc("evm_mine")  # anvil mines on arrival; make sure it is in a block
    assert env.eth(RECIPIENT) == before + 10**15  # paid
    seen = env.run(manager.refresh(record))
    assert seen.status == "pending", seen.error
    assert proxy.calls.count("eth_sendRawTransaction") == 1  # not sent again either
    proxy.rewrites.clear()  # the lagging backend catches up
    env.rpc("evm_mine")
    assert env.run(manager.refresh(seen)).status == "confirmed"


def test_a_nonce_taken_by_another_wallet_is_replaced_once_it_is_deep(env, repo, node):
    """The real case the rule above must still catch: the same key used elsewhere took the nonce."""
    w3, _proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record, winner = taken_by_another_wallet(env, manager)
    assert env.run(manager.refresh(record)).status == "pending"  # one block: not sure yet
    env.rpc("evm_mine")
    env.rpc("evm_mine")
    replaced = env.run(manager.refresh(record))
    assert replaced.status == "replaced"
    assert winner in (replaced.error or "")  # which transaction took it


def taken_by_another_wallet(env, manager) -> tuple[Any, str]:
    """A payment dropped from the pool, its nonce taken by the same key's transaction sent elsewhere, mined
    in the block after it. (The record, the winner's hash.)"""
    env.rpc("evm_setAutomine", [False])
    try:
        request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
        quote = env.run(manager.quote(env.payer.address, request))
        record = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        env.rpc("anvil_dropTransaction", [record.tx_hash])
        other = env.payer.sign_transaction(
            {
                "type": 2,
                "chainId": env.chain_id,
                "nonce": record.nonce,
                "gas": 21_000,
                "maxFeePerGas": quote.max_fee_per_gas,
                "maxPriorityFeePerGas": quote.max_priority_fee_per_gas,
                "to": env.payer.address,
                "value": 0,
            }
        )
        env.rpc("eth_sendRawTransaction", ["0x" + bytes(other.raw_transaction).hex()])
        env.rpc("evm_mine")
    finally:
        env.rpc("evm_setAutomine", [True])
    return record, "0x" + bytes(other.hash).hex()


def lagging_far_behind(proxy: LyingRpc, tx_hash: str) -> None:
    """A load balancer whose receipts and transactions by hash come from a backend more than
    ``confirmations`` blocks behind: ``tx_hash`` is not found there; every block-pinned answer is true."""
    for method in ("eth_getTransactionReceipt", "eth_getTransactionByHash"):
        proxy.rewrites[method] = hiding(tx_hash)


def answered_null(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "result": None}


def method_not_found(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": answer.get("id"),
        "error": {"code": -32601, "message": "Method not found"},
    }


def send_payment(env, manager) -> Any:
    request = TxRequest(to=RECIPIENT, value=10**15, kind="send", description="Send ETH")
    quote = env.run(manager.quote(env.payer.address, request))
    return env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))


def test_a_payment_mined_deep_behind_a_far_lagging_backend_is_not_called_replaced(env, repo, node):
    """The receipt comes from a backend that lags more than ``confirmations`` blocks, the head and the nonce
    count from one ahead: the nonce is used ``confirmations`` deep and the receipt is still missing. That
    was taken for another transaction on the nonce: replaced, final, "nothing was paid"; a user who sends it
    again pays twice. The block that used the nonce, read with its transactions, holds this very one: it is
    confirmed there (its receipt read by block), not replaced."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    before = env.eth(RECIPIENT)
    record = send_payment(env, manager)
    lagging_far_behind(proxy, record.tx_hash)
    env.rpc("anvil_mine", [hex(300)])  # the block that used the nonce is found however far back
    assert env.eth(RECIPIENT) == before + 10**15  # paid
    seen = env.run(manager.refresh(record))
    assert seen.status == "confirmed", seen.error
    mined_in = int(env.rpc("eth_getTransactionReceipt", [record.tx_hash])["blockNumber"], 16)
    assert seen.block_number == mined_in
    assert proxy.calls.count("eth_sendRawTransaction") == 1  # not sent again either


def test_without_its_receipt_by_block_a_payment_found_in_its_block_stays_pending(env, repo, node):
    """The block shows the payment on its nonce, but no receipt can be had (the node lacks
    eth_getBlockReceipts, the lagging backend has none by hash): pending until one can, neither replaced
    nor sent again; and the search for the block stays a few calls, however far back it is."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record = send_payment(env, manager)
    lagging_far_behind(proxy, record.tx_hash)
    proxy.rewrites["eth_getBlockReceipts"] = method_not_found
    env.rpc("anvil_mine", [hex(1000)])
    proxy.calls.clear()
    seen = env.run(manager.refresh(record))
    assert seen.status == "pending", seen.error
    assert proxy.calls.count("eth_getTransactionCount") <= 2 + 2 * 10  # ~2 per doubling of 1000 blocks
    assert "eth_sendRawTransaction" not in proxy.calls
    proxy.rewrites.clear()  # the lagging backend catches up
    assert env.run(manager.refresh(seen)).status == "confirmed"


def test_a_nonce_block_the_node_cannot_give_keeps_it_pending(env, repo, node):
    """The block that used the nonce, asked for with its transactions, comes back null (a backend that
    has not got it): no evidence of who took the nonce, so nothing final."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record = send_payment(env, manager)
    lagging_far_behind(proxy, record.tx_hash)
    proxy.rewrites["eth_getBlockByNumber"] = answered_null
    env.rpc("anvil_mine", [hex(5)])
    assert env.run(manager.refresh(record)).status == "pending"
    proxy.rewrites["eth_getBlockByNumber"] = method_not_found  # or answers with an error
    assert env.run(manager.refresh(record)).status == "pending"
    assert proxy.calls.count("eth_sendRawTransaction") == 1  # not sent again
    proxy.rewrites.clear()
    assert env.run(manager.refresh(record)).status == "confirmed"


def test_a_speed_up_mined_in_its_place_names_the_winner(env, repo, node):
    """A real speed-up: the original's nonce is taken by the faster one, as its block shows; the original
    is replaced, and says by which transaction."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    env.rpc("evm_setAutomine", [False])
    try:
        original = send_payment(env, manager)
        faster = env.run(manager.speed_up(original, signer(env.payer)))
        env.rpc("anvil_mine", [hex(3)])
        lagging_far_behind(proxy, faster.tx_hash)  # so the original is settled from the block alone
        seen = env.run(manager.refresh(repo.get(original.tx_hash)))
        assert seen.status == "replaced"
        assert faster.tx_hash.lower() in (seen.error or "")
    finally:
        env.rpc("evm_setAutomine", [True])


def test_a_node_on_another_chain_does_not_rewrite_the_records(env, repo):
    """The network's RPC endpoint now serves another chain (a custom network's node repointed; a URL
    that was checked only when the network was added). Healing against it took every transaction it
    could not find there for gone: a confirmed one went back to pending, was sent again (refused: wrong
    chain) and was marked dropped, a pending one too, final both, while they are in a block, or still on
    their way, on the network's own chain."""
    from tests.chain.conftest import running_anvil

    manager = TransactionManager(env.w3, env.chain_id, repo)
    request = TxRequest(to=RECIPIENT, value=1, kind="send", description="Send ETH")
    quote = env.run(manager.quote(env.payer.address, request))
    done = env.run(manager.wait(env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))))
    assert done.status == "confirmed"
    env.rpc("evm_setAutomine", [False])
    try:
        on_its_way = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        with running_anvil(chain_id=999) as other_url:
            elsewhere = TransactionManager(AsyncWeb3(AsyncHTTPProvider(other_url)), env.chain_id, repo)
            with pytest.raises(WrongNetwork, match="chain 999"):
                env.run(elsewhere.heal(env.payer.address))
            with pytest.raises(WrongNetwork, match="chain 999"):
                env.run(elsewhere.refresh(repo.get(on_its_way.tx_hash)))
            with pytest.raises(WrongNetwork, match="chain 999"):
                env.run(elsewhere.refresh_all())
        assert repo.get(done.tx_hash).status == "confirmed"
        assert repo.get(on_its_way.tx_hash).status == "pending"
        env.rpc("evm_mine")
        assert env.run(manager.refresh(repo.get(on_its_way.tx_hash))).status == "confirmed"
    finally:
        env.rpc("evm_setAutomine", [True])


def test_a_broadcast_answered_with_an_http_error_is_not_taken_for_refused(env, repo):
    """A load balancer answers 502 (or 429) after its backend took the transaction: the node did not say
    no, the transaction may well be on its way. It was marked dropped (final, never looked at again) and
    the user told the node refused it; sent again, both were mined: paid twice. It is kept pending, found
    in its block by the next refresh. The message does not carry the endpoint's address (a key in its
    path, as hosted RPCs have)."""
    with lying_rpc(env.url) as (url, proxy):
        w3 = AsyncWeb3(AsyncHTTPProvider(url + "/v2/secret-api-key"))
        manager = TransactionManager(w3, env.chain_id, repo)
        request = TxRequest(to=RECIPIENT, value=10**15, kind="send", description="Send ETH")
        before = env.eth(RECIPIENT)
        quote = env.run(manager.quote(env.payer.address, request))
        proxy.http_errors["eth_sendRawTransaction"] = 502
        with pytest.raises(RpcUnavailable) as info:
            env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
        assert "secret-api-key" not in str(info.value)
        assert env.eth(RECIPIENT) == before + 10**15  # it went through
        (record,) = repo.recent()
        assert record.status == "pending"
        assert env.run(manager.wait(record)).status == "confirmed"


STATE_KEPT = 128  # blocks of state a pruning full node keeps (geth's default)


def pruning(proxy: LyingRpc, env, indexed: tuple[str, ...] = ()) -> None:
    """A full node that keeps only the last ``STATE_KEPT`` blocks of state: a nonce count at an older
    block is refused ("missing trie node"); blocks, receipts and transactions by hash are kept. Its index by
    sender and nonce (erigon's, kept apart from the state) knows the ``indexed`` transactions, answered
    here from what anvil says of them now (anvil's own answer searches its historical state, which a long
    chain of the test run no longer has: it would make the test depend on the tests before it)."""
    oldest = int(env.rpc("eth_blockNumber"), 16) - STATE_KEPT

    def rewrite(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        at = request["params"][1] if len(request["params"]) > 1 else "latest"
        if isinstance(at, str) and at.startswith("0x") and int(at, 16) < oldest:
            error = {"code": -32000, "message": f"missing trie node (block {int(at, 16)})"}
            return {"jsonrpc": "2.0", "id": answer.get("id"), "error": error}
        return answer

    proxy.rewrites["eth_getTransactionCount"] = rewrite
    index = {}
    for tx_hash in indexed:
        tx = env.rpc("eth_getTransactionByHash", [tx_hash])
        index[(tx["from"].lower(), int(tx["nonce"], 16))] = tx

    def by_nonce(whole: bool) -> Any:
        def answer_it(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
            sender, nonce = request["params"]
            tx = index.get((str(sender).lower(), int(nonce, 16)))
            return {
                "jsonrpc": "2.0",
                "id": answer.get("id"),
                "result": tx if whole or tx is None else tx["hash"],
            }

        return answer_it

    proxy.rewrites["eth_getTransactionBySenderAndNonce"] = by_nonce(True)
    proxy.rewrites["ots_getTransactionBySenderAndNonce"] = by_nonce(False)


def test_on_a_pruning_node_a_nonce_taken_long_ago_is_found_by_the_nodes_index(env, repo, node):
    """The app was closed while another wallet on the same key took the nonce, 300 blocks ago: a pruning
    node refuses the nonce counts that far back, so the search for the block found nothing and the payment
    stayed pending for ever, every later session start waiting on it. The node's index by sender and nonce
    names the block; the block, read with its transactions, shows the winner: replaced."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record, winner = taken_by_another_wallet(env, manager)
    env.rpc("anvil_mine", [hex(300)])
    pruning(proxy, env, indexed=(winner,))
    replaced = env.run(manager.refresh(record))
    assert replaced.status == "replaced", replaced.error
    assert winner in (replaced.error or "")
    assert "eth_getTransactionBySenderAndNonce" in proxy.calls


def test_on_a_pruning_node_an_index_pointing_at_the_wrong_block_is_not_believed(env, repo, node):
    """The index is a pointer, not evidence: one naming a block that does not hold the sender's transaction
    on that nonce (a lying or broken node) leaves the payment pending. So does a node with no index."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record, winner = taken_by_another_wallet(env, manager)
    env.rpc("anvil_mine", [hex(300)])
    pruning(proxy, env, indexed=(winner,))
    index, ots = (
        proxy.rewrites["eth_getTransactionBySenderAndNonce"],
        proxy.rewrites["ots_getTransactionBySenderAndNonce"],
    )

    def wrong_block(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        told = index(request, answer)
        return {**told, "result": {**told["result"], "blockNumber": hex(5)}}

    proxy.rewrites["eth_getTransactionBySenderAndNonce"] = wrong_block
    proxy.rewrites["ots_getTransactionBySenderAndNonce"] = method_not_found
    assert env.run(manager.refresh(record)).status == "pending"
    proxy.rewrites["eth_getTransactionBySenderAndNonce"] = method_not_found  # geth: no index at all
    assert env.run(manager.refresh(record)).status == "pending"
    proxy.rewrites["ots_getTransactionBySenderAndNonce"] = ots  # erigon's: a hash, its block read from it
    assert env.run(manager.refresh(record)).status == "replaced"


def test_on_a_pruning_node_a_payment_mined_long_ago_behind_a_lagging_backend_is_confirmed(env, repo, node):
    """Our own payment, mined 300 blocks ago; the receipt by hash comes from a backend far behind and the
    counts are pruned: the index names its block, which holds it: confirmed, never replaced."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record = send_payment(env, manager)
    lagging_far_behind(proxy, record.tx_hash)
    env.rpc("anvil_mine", [hex(300)])
    pruning(proxy, env, indexed=(record.tx_hash,))
    seen = env.run(manager.refresh(record))
    assert seen.status == "confirmed", seen.error
    assert proxy.calls.count("eth_sendRawTransaction") == 1


def test_an_index_answering_infinity_for_the_block_keeps_it_pending_without_a_traceback(env, repo, node):
    """Python's JSON reads ``Infinity``: a hostile node's index naming block Infinity (or a block whose
    transaction's nonce is Infinity) is no evidence; the payment stays pending, nothing raises."""
    w3, proxy = node
    manager = TransactionManager(w3, env.chain_id, repo, confirmations=3)
    record, winner = taken_by_another_wallet(env, manager)
    env.rpc("anvil_mine", [hex(300)])
    pruning(proxy, env, indexed=(winner,))
    index = proxy.rewrites["eth_getTransactionBySenderAndNonce"]

    def infinite(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        told = index(request, answer)
        return {**told, "result": {**told["result"], "blockNumber": float("inf")}}

    proxy.rewrites["eth_getTransactionBySenderAndNonce"] = infinite
    proxy.rewrites["ots_getTransactionBySenderAndNonce"] = method_not_found
    assert env.run(manager.refresh(record)).status == "pending"
    proxy.rewrites["eth_getTransactionBySenderAndNonce"] = index

    def infinite_nonces(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        block = answer.get("result")
        if not isinstance(block, dict):
            return answer
        txs = [{**tx, "nonce": float("inf")} if isinstance(tx, dict) else tx for tx in block["transactions"]]
        return {**answer, "result": {**block, "transactions": txs}}

    proxy.rewrites["eth_getBlockByNumber"] = infinite_nonces
    assert env.run(manager.refresh(record)).status == "pending"
    del proxy.rewrites["eth_getBlockByNumber"]
    assert env.run(manager.refresh(record)).status == "replaced"
