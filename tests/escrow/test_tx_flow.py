"""The transaction flow against a real anvil: speed-up, cancel, restart, a dead RPC, reorgs, nonce gaps."""

from __future__ import annotations

import time
from typing import Any

import pytest

from paygo_desktop.chain.transactions import RpcUnavailable, TxRequest
from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import ETH, Amount
from tests.escrow.conftest import make_service, run_flow, signer

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def manual_mining(env: Any) -> Any:
    env.rpc("evm_setAutomine", [False])
    yield
    env.rpc("evm_setAutomine", [True])


def send_flow(service: EscrowService, wei: int = 10**15) -> TxFlow:
    plan = [requests.send(Amount(ETH, wei), RECIPIENT)]
    return TxFlow(service.transactions, service.account, plan, explorer=lambda h: f"https://x.test/tx/{h}")


def test_review_shows_likely_and_max_fee_then_pending_then_done(
    env: Any, service: EscrowService, fresh: Any, manual_mining: Any
) -> None:
    flow = send_flow(service)
    state = env.run(flow.prepare())
    assert state.phase == "review" and state.quote is not None
    assert 0 < state.quote.likely_fee <= state.quote.max_fee
    state = env.run(flow.send(signer(fresh)))
    assert state.phase == "pending" and state.can_replace
    assert state.explorer_url == f"https://x.test/tx/{state.record.tx_hash}"  # type: ignore[union-attr]
    assert env.run(flow.poll()).phase == "pending"
    env.rpc("evm_mine")
    state = env.run(flow.poll())
    assert state.phase == "done" and state.confirmations == 1
    assert [r.status for r in state.records] == ["confirmed"]


def test_confirmations_are_counted_before_done(env: Any, store: Any, fresh: Any) -> None:
    service = make_service(env, store, fresh, confirmations=3)
    flow = send_flow(service)
    env.run(flow.prepare())
    env.run(flow.send(signer(fresh)))
    state = env.run(flow.poll())
    deadline = time.monotonic() + 10  # anvil mines a sent transaction just after answering, not before
    while state.phase == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        state = env.run(flow.poll())
    assert (state.phase, state.confirmations, state.required_confirmations) == ("mined", 1, 3)
    env.rpc("evm_mine")
    env.rpc("evm_mine")
    state = env.run(flow.poll())
    assert (state.phase, state.confirmations) == ("done", 3)


def test_speed_up_follows_the_replacement(
    env: Any, service: EscrowService, fresh: Any, manual_mining: Any
) -> None:
    before = env.eth(RECIPIENT)
    flow = send_flow(service)
    env.run(flow.prepare())
    first = env.run(flow.send(signer(fresh))).record
    state = env.run(flow.speed_up(signer(fresh)))
    assert state.record.nonce == first.nonce and state.record.tx_hash != first.tx_hash  # type: ignore[union-attr]
    env.rpc("evm_mine")
    state = env.run(flow.poll())
    assert state.phase == "done"
    assert env.eth(RECIPIENT) == before + 10**15  # paid once
    statuses = {r.tx_hash: r.status for r in service.transactions.repository.recent()}
    assert statuses == {first.tx_hash: "replaced", state.record.tx_hash: "confirmed"}  # type: ignore[union-attr]


def test_cancel_ends_the_flow_and_moves_no_value(
    env: Any, service: EscrowService, fresh: Any, manual_mining: Any
) -> None:
    before = env.eth(RECIPIENT)
    plan = [requests.send(Amount(ETH, 10**18), RECIPIENT), requests.send(Amount(ETH, 1), RECIPIENT)]
    flow = TxFlow(service.transactions, service.account, plan)
    env.run(flow.prepare())
    env.run(flow.send(signer(fresh)))
    env.run(flow.cancel(signer(fresh)))
    env.rpc("evm_mine")
    state = env.run(flow.poll())
    assert state.phase == "cancelled" and "Cancelled" in state.message
    assert state.step == 0  # the second step was never started
    assert env.eth(RECIPIENT) == before


def test_a_pending_transaction_is_resumed_after_a_restart(
    env: Any, store: Any, fresh: Any, manual_mining: Any
) -> None:
    first = make_service(env, store, fresh)
    flow = send_flow(first)
    env.run(flow.prepare())
    record = env.run(flow.send(signer(fresh))).record
    env.rpc("anvil_dropTransaction", [record.tx_hash])  # the app died and the node forgot it
    again = make_service(env, store, fresh)
    overview = env.run(again.overview())  # rebroadcasts the very same bytes
    assert [r.tx_hash for r in overview.open_transactions] == [record.tx_hash]
    resumed = TxFlow.resume(again.transactions, overview.open_transactions[0])
    assert resumed.state.phase == "pending" and resumed.state.can_replace
    env.rpc("evm_mine")
    assert env.run(resumed.poll()).phase == "done"
    assert len(again.transactions.repository.recent()) == 1


def test_rpc_down_at_broadcast_keeps_the_transaction_and_sends_it_later(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    flow = send_flow(service)
    env.run(flow.prepare())
    real_send = service.w3.eth.send_raw_transaction

    async def unreachable(_raw: Any) -> Any:
        raise ConnectionRefusedError("connection refused")  # the node went away mid-broadcast

    service.w3.eth.send_raw_transaction = unreachable
    try:
        state = env.run(flow.send(signer(fresh)))
    finally:
        service.w3.eth.send_raw_transaction = real_send
    assert state.phase == "pending" and "kept and will be sent again" in state.message
    state = run_flow(env, flow, fresh)  # the node answers again: refresh rebroadcasts, it confirms
    assert state.phase == "done"
    assert len(service.transactions.repository.recent()) == 1


def test_a_reorg_sends_a_confirmed_transaction_back_and_it_confirms_once(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    before = env.eth(RECIPIENT)
    snapshot = env.rpc("evm_snapshot")
    state = run_flow(env, send_flow(service), fresh)
    assert state.phase == "done"
    record = state.records[0]
    env.rpc("evm_revert", [snapshot])  # the block that held it is gone, and the payment with it
    assert env.eth(RECIPIENT) == before
    overview = env.run(service.overview())  # notices, puts it back to pending, sends the same bytes
    repo = service.transactions.repository
    assert repo.get(record.tx_hash).status in ("pending", "confirmed")  # type: ignore[union-attr]
    again = TxFlow.resume(service.transactions, repo.get(record.tx_hash))  # type: ignore[arg-type]
    assert run_flow(env, again, fresh).phase == "done"
    assert env.eth(RECIPIENT) == before + 10**15  # paid exactly once
    assert [r.tx_hash for r in repo.recent()] == [record.tx_hash]
    assert overview.open_transactions == [] or overview.open_transactions[0].tx_hash == record.tx_hash


def test_a_nonce_gap_is_filled_through_a_flow(
    env: Any, service: EscrowService, fresh: Any, manual_mining: Any
) -> None:
    manager = service.transactions
    base = env.run(manager.next_nonce(fresh.address))
    held = TxFlow(manager, fresh.address, [requests.send(Amount(ETH, 1), RECIPIENT)], nonce=base + 1)
    env.run(held.prepare())
    env.run(held.send(signer(fresh)))
    assert env.run(service.overview()).nonce_gaps == [base]
    filler = TxRequest(to=fresh.address, kind="fill-gap", description=f"Fill nonce gap at {base}")
    fill = TxFlow(manager, fresh.address, [filler], nonce=base)
    env.run(fill.prepare())
    env.run(fill.send(signer(fresh)))
    env.rpc("evm_mine")
    assert env.run(fill.poll()).phase == "done"
    assert env.run(held.poll()).phase == "done"
    assert env.run(service.overview()).nonce_gaps == []


def test_a_revert_in_review_names_its_reason_and_nothing_is_stored(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    channel = env.run(service.new_channel(env.provider.address, ETH))
    request = requests.finalize_withdrawal(service.vault, channel, Amount(ETH, 0))  # type: ignore[arg-type]
    state = env.run(TxFlow(service.transactions, fresh.address, [request]).prepare())
    assert state.phase == "failed" and "NoPendingWithdraw" in state.message
    assert service.transactions.repository.recent() == []


def test_a_transaction_stored_but_never_sent_goes_out_before_the_dialogs_next_one(
    env: Any, service: EscrowService, fresh: Any, monkeypatch: Any
) -> None:
    """Issue 18, item 5, through the GUI's entry point (every transaction dialog runs a TxFlow): a kill
    between storing a signed transaction and sending it left a nonce gap every later one waited behind."""
    before = env.eth(RECIPIENT)
    manager = service.transactions

    async def dies_here(raw: bytes) -> Any:
        raise OSError("the app was killed before the broadcast")

    monkeypatch.setattr(manager.w3.eth, "send_raw_transaction", dies_here)
    request = requests.send(Amount(ETH, 10**15), RECIPIENT)
    quote = env.run(manager.quote(service.account, request))
    with pytest.raises(RpcUnavailable):
        env.run(manager.send(service.account, request, quote, signer(fresh)))
    monkeypatch.undo()
    [stored] = manager.repository.open(env.chain_id)
    assert env.rpc("eth_getTransactionByHash", [stored.tx_hash]) is None  # the node never saw it

    flow = send_flow(service)
    state = env.run(flow.prepare())
    assert state.phase == "review"
    assert "Sent again a transaction an earlier run stored but never sent: Send" in state.message
    env.run(flow.send(signer(fresh)))
    for _ in range(50):
        state = env.run(flow.poll())
        if state.is_final:
            break
    assert state.phase == "done", state.message
    assert env.run(manager.refresh(stored)).status == "confirmed"
    assert env.eth(RECIPIENT) == before + 2 * 10**15  # each sent once
