"""The transaction manager against a real anvil: fees, reverts, nonce gaps, replacement, drops, reorgs."""

from __future__ import annotations

import time

import pytest

from paygo_desktop.chain.transactions import (
    InsufficientFunds,
    Reverted,
    RpcUnavailable,
    TransactionManager,
    TxRequest,
    WrongNetwork,
)
from paygo_desktop.store import Store
from paygo_desktop.store.transactions import TransactionRepository

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def repo(tmp_path):
    return TransactionRepository(Store.open(tmp_path / "db.sqlite3"))


@pytest.fixture
def manager(env, repo):
    return TransactionManager(env.w3, env.chain_id, repo)


@pytest.fixture
def manual_mining(env):
    env.rpc("evm_setAutomine", [False])
    yield
    env.rpc("evm_setAutomine", [True])


def signer(account):
    return lambda tx: account.sign_transaction(tx).raw_transaction


def transfer(env, manager, wei=10**15, **kw):
    request = TxRequest(to=RECIPIENT, value=wei, kind="send", description="Send ETH")
    quote = env.run(manager.quote(env.payer.address, request))
    return env.run(manager.send(env.payer.address, request, quote, signer(env.payer), **kw))


def test_send_is_stored_before_broadcast_and_confirms(env, manager, repo, tmp_path):
    before = env.eth(RECIPIENT)
    request = TxRequest(to=RECIPIENT, value=12345, kind="send", description="Send ETH")
    quote = env.run(manager.quote(env.payer.address, request))
    assert quote.gas_limit == 21_000
    assert quote.max_fee >= quote.likely_fee > 0
    record = env.run(manager.send(env.payer.address, request, quote, signer(env.payer)))
    assert repo.get(record.tx_hash).status == "pending"
    done = env.run(manager.wait(record))
    assert done.status == "confirmed" and done.gas_used == 21_000
    assert env.eth(RECIPIENT) == before + 12345
    # after a restart the store still knows it, settled
    again = TransactionRepository(Store.open(tmp_path / "db.sqlite3"))
    assert again.get(record.tx_hash).status == "confirmed"
    assert again.open() == []


def test_revert_reason_is_readable_before_anything_is_sent(env, manager, repo):
    fn = env.vault.contract.functions.finalizeWithdraw(env.channel().as_tuple())
    data = bytes.fromhex(fn._encode_transaction_data()[2:])
    with pytest.raises(Reverted) as info:
        env.run(manager.quote(env.payer.address, TxRequest(to=env.vault.address, data=data)))
    assert info.value.reason  # a custom error's name, not raw hex
    assert not info.value.reason.startswith("0x")
    assert repo.recent() == []


def test_insufficient_funds_is_explained(env, manager):
    with pytest.raises(InsufficientFunds, match="enough ETH"):
        env.run(manager.quote(env.payer.address, TxRequest(to=RECIPIENT, value=10**30)))


def test_wrong_network_and_dead_rpc_send_nothing(env, repo):
    wrong = TransactionManager(env.w3, 1, repo)
    with pytest.raises(WrongNetwork, match="chain 31337, not 1"):
        env.run(wrong.check_network())
    from web3 import AsyncHTTPProvider, AsyncWeb3

    dead = TransactionManager(AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9")), 31337, repo)
    with pytest.raises(RpcUnavailable):
        env.run(dead.check_network())
    assert repo.recent() == []


def test_nonce_gap_is_found_and_filled(env, manager, manual_mining):
    base = env.run(manager.next_nonce(env.payer.address))
    later = transfer(env, manager, nonce=base + 1)
    assert env.run(manager.nonce_gaps(env.payer.address)) == [base]
    env.rpc("evm_mine")
    assert env.run(manager.refresh(later)).status == "pending"  # held back by the gap
    filler = env.run(manager.fill_gap(env.payer.address, base, signer(env.payer)))
    env.rpc("evm_mine")
    assert env.run(manager.refresh(filler)).status == "confirmed"
    assert env.run(manager.refresh(later)).status == "confirmed"
    assert env.run(manager.nonce_gaps(env.payer.address)) == []


def test_speed_up_replaces_and_the_original_is_marked(env, manager, repo, manual_mining):
    original = transfer(env, manager)
    faster = env.run(manager.speed_up(original, signer(env.payer)))
    assert faster.nonce == original.nonce and faster.tx_hash != original.tx_hash
    assert faster.max_fee_per_gas > original.max_fee_per_gas
    assert faster.replaces == original.tx_hash
    env.rpc("evm_mine")
    assert env.run(manager.refresh(faster)).status == "confirmed"
    assert repo.get(original.tx_hash).status == "replaced"
    assert env.run(manager.refresh(repo.get(original.tx_hash))).status == "replaced"


def test_the_original_of_a_speed_up_waiting_for_a_block_is_not_called_dropped(
    env, manager, repo, manual_mining
):
    """The node forgets the original once the speed-up takes its place; a refresh of the original before the
    speed-up is in a block must not send it again (refused as underpriced) and call it dropped."""
    original = transfer(env, manager)
    faster = env.run(manager.speed_up(original, signer(env.payer)))
    assert env.run(manager.refresh(repo.get(original.tx_hash))).status == "pending"
    env.rpc("evm_mine")
    env.run(manager.refresh_all())
    assert repo.get(faster.tx_hash).status == "confirmed"
    assert repo.get(original.tx_hash).status == "replaced"


def test_cancel_takes_the_nonce_back_and_moves_no_value(env, manager, repo, manual_mining):
    before = env.eth(RECIPIENT)
    original = transfer(env, manager, wei=10**18)
    cancel = env.run(manager.cancel(original, signer(env.payer)))
    assert cancel.to_address == env.payer.address and cancel.value == 0
    env.rpc("evm_mine")
    env.run(manager.refresh_all())
    assert repo.get(cancel.tx_hash).status == "confirmed"
    assert repo.get(original.tx_hash).status == "replaced"
    assert env.eth(RECIPIENT) == before


def test_dropped_transaction_is_sent_again_with_the_same_hash(env, manager, repo, manual_mining):
    record = transfer(env, manager)
    env.rpc("anvil_dropTransaction", [record.tx_hash])
    assert env.run(manager.refresh(record)).status == "pending"  # rebroadcast, same bytes
    env.rpc("evm_mine")
    assert env.run(manager.refresh(record)).status == "confirmed"
    assert len(repo.recent()) == 1  # never duplicated


def test_dropped_and_no_longer_payable_is_marked_dropped(env, manager, repo, manual_mining):
    record = transfer(env, manager, wei=10**20)
    env.rpc("anvil_dropTransaction", [record.tx_hash])
    env.rpc("anvil_setBalance", [env.payer.address, hex(10**15)])
    refreshed = env.run(manager.refresh(record))
    assert refreshed.status == "dropped"
    assert "enough ETH" in refreshed.error


def test_reorg_moves_a_mined_transaction_back_and_it_confirms_again(env, manager, repo):
    snapshot = env.rpc("evm_snapshot")
    record = env.run(manager.wait(transfer(env, manager)))
    assert record.status == "confirmed"
    first_block = record.block_number
    env.rpc("evm_revert", [snapshot])  # the block holding it is gone
    env.rpc("evm_mine")
    again = env.run(manager.refresh(record))
    assert again.status in ("pending", "confirmed")
    final = env.run(manager.wait(again))
    assert final.status == "confirmed"
    assert final.tx_hash == record.tx_hash
    assert final.block_number is not None and final.block_number >= first_block
    assert len(repo.recent()) == 1


def test_pending_transactions_survive_a_restart(env, tmp_path, manual_mining):
    store_path = tmp_path / "restart.sqlite3"
    first = TransactionManager(env.w3, env.chain_id, TransactionRepository(Store.open(store_path)))
    record = transfer(env, first)
    # the app dies; the node forgets the transaction meanwhile
    env.rpc("anvil_dropTransaction", [record.tx_hash])
    second = TransactionManager(env.w3, env.chain_id, TransactionRepository(Store.open(store_path)))
    reopened = env.run(second.refresh_all())
    assert [r.tx_hash for r in reopened] == [record.tx_hash]
    env.rpc("evm_mine")
    assert env.run(second.refresh(reopened[0])).status == "confirmed"


def test_confirmations_are_counted_until_the_required_depth(env, repo):
    careful = TransactionManager(env.w3, env.chain_id, repo, confirmations=3)
    record = transfer(env, careful)
    mined = env.run(careful.refresh(record))
    deadline = time.monotonic() + 10  # anvil mines a sent transaction just after answering, not before
    while mined.status == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        mined = env.run(careful.refresh(mined))
    assert mined.status == "mined"
    assert env.run(careful.confirmation_count(mined)) == 1
    env.rpc("evm_mine")
    env.rpc("evm_mine")
    done = env.run(careful.refresh(mined))
    assert done.status == "confirmed"
    assert env.run(careful.confirmation_count(done)) == 3
