"""Every movement of an account, synced from a real anvil: tokens of 6, 18 and 2 decimals and ETH received
from another account, the account's own sends and fees, a resumed sync after the app restarted (nothing
missed, nothing doubled), values at the time from the chain's price feeds, and the CSV read back as an
accountant's tool would."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.history.account_history import AccountHistory
from paygo_desktop.history.csv_export import COLUMNS
from paygo_desktop.history.movements import FEE_ONLY, IN, OUT
from paygo_desktop.money import ETH, Amount, Asset
from paygo_desktop.prices.feeds import currency
from paygo_desktop.store import Store
from tests.chain.conftest import Env, make_account
from tests.escrow.conftest import chain_network
from tests.money.conftest import Tokens, book, deploy_feed, mint

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def send_token(env: Env, asset: Asset, sender: Any, to: str, units: int) -> str:
    from paygo_desktop.chain.tx import send

    token = env.token(str(asset.address), "TestToken")
    return "0x" + env.run(send(env.w3, token.functions.transfer(to, units), sender)).tx_hash.hex()


def send_eth(env: Env, sender: Any, to: str, wei: int) -> str:
    tx = {
        "to": to,
        "value": wei,
        "gas": 21_000,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 1,
        "nonce": int(env.rpc("eth_getTransactionCount", [sender.address, "pending"]), 16),
        "chainId": env.chain_id,
        "type": 2,
    }
    raw = sender.sign_transaction(tx).raw_transaction
    return str(env.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()]))


@pytest.fixture
def people(env: Env, tokens: Tokens) -> tuple[Any, Any]:
    """The app's account (fresh, no history) and another account that pays it."""
    mine = make_account(f"history-mine-{env.rpc('eth_blockNumber')}")
    other = make_account(f"history-other-{env.rpc('eth_blockNumber')}")
    for account in (mine, other):
        env.rpc("anvil_setBalance", [account.address, hex(10**21)])
    env.mint_usdc(other.address, 1_000 * 10**6)
    mint(env, tokens.dai, other.address, 1_000)
    mint(env, tokens.gusd, other.address, 1_000)
    return mine, other


def history(
    env: Env, store: Store, account: Any, tokens: Tokens, feeds: Any = None, code: str = "USD"
) -> AccountHistory:
    return AccountHistory(
        store,
        chain_network(env),
        account.address,
        (tokens.usdc, tokens.dai, tokens.gusd),
        feeds or book({}),
        currency(code),
    )


def test_incoming_and_outgoing_movements_of_every_kind(
    env: Env, tmp_path: Path, tokens: Tokens, people: Any
) -> None:
    mine, other = people
    received = {
        "usdc": send_token(env, tokens.usdc, other, mine.address, 12_345_678),
        "dai": send_token(env, tokens.dai, other, mine.address, 3 * 10**18 + 1),
        "gusd": send_token(env, tokens.gusd, other, mine.address, 705),
        "eth": send_eth(env, other, mine.address, 2 * 10**18),
    }
    sent = send_token(env, tokens.dai, mine, RECIPIENT, 10**18)
    sent_eth = send_eth(env, mine, RECIPIENT, 10**17)
    store = Store.open(tmp_path / "app.sqlite3")
    account_history = history(env, store, mine, tokens)
    report = env.run(account_history.sync())
    assert report.native and report.start_block == 0
    view = env.run(account_history.view())
    by_hash = {(m.tx_hash, m.direction): m for m in view.rows}
    assert by_hash[(received["usdc"], IN)].amount == Amount(tokens.usdc, 12_345_678)
    assert by_hash[(received["dai"], IN)].amount == Amount(tokens.dai, 3 * 10**18 + 1)
    assert by_hash[(received["gusd"], IN)].amount_text() == "7.05 GUSD"
    eth_in = by_hash[(received["eth"], IN)]
    assert eth_in.amount == Amount(ETH, 2 * 10**18) and eth_in.counterparty == other.address
    assert eth_in.fee is None  # the sender paid it, not this account
    dai_out = by_hash[(sent, OUT)]
    assert dai_out.amount == Amount(tokens.dai, 10**18) and dai_out.counterparty == RECIPIENT
    assert dai_out.fee is not None and dai_out.fee.units > 0  # the account's own transaction: its fee
    eth_out = by_hash[(sent_eth, OUT)]
    assert eth_out.amount == Amount(ETH, 10**17) and eth_out.fee == Amount(
        ETH, 21_000 * int(env.rpc("eth_getTransactionReceipt", [sent_eth])["effectiveGasPrice"], 16)
    )
    assert len(view.rows) == 6 and view.total == 6
    assert "every ETH movement" in view.note


def test_a_restart_resumes_and_shows_what_arrived_meanwhile_once(
    env: Env, tmp_path: Path, tokens: Tokens, people: Any
) -> None:
    mine, other = people
    first = send_token(env, tokens.usdc, other, mine.address, 1_000_000)
    path = tmp_path / "app.sqlite3"
    store = Store.open(path)
    env.run(history(env, store, mine, tokens).sync())
    store.close()  # the app quits
    later = [
        send_token(env, tokens.gusd, other, mine.address, 250),
        send_eth(env, other, mine.address, 5 * 10**17),
    ]
    stranger = make_account("history-unlisted")
    env.rpc("anvil_setBalance", [stranger.address, hex(10**21)])
    unlisted = env.deploy("TestToken", "Free Money", "USDC", 6)  # a stranger's "USDC": not the listed one
    env.transact(env.token(unlisted, "TestToken").functions.mint(mine.address, 99))
    store = Store.open(path)  # and starts again
    again = history(env, store, mine, tokens)
    report = env.run(again.sync())
    assert report.from_block > 0  # resumed from the cursor, not from the start
    rows = env.run(again.view()).rows
    hashes = [m.tx_hash for m in rows]
    assert hashes.count(first) == 1 and all(hashes.count(h) == 1 for h in later)
    fake = next(m for m in rows if m.token == unlisted)
    assert fake.asset is None and fake.amount_text().startswith("99 base units of an unlisted token")
    assert env.run(again.sync()).added == 0  # a second sync adds nothing


def test_values_then_and_the_csv_read_back(env: Env, tmp_path: Path, tokens: Tokens, people: Any) -> None:
    mine, other = people
    eth_feed = deploy_feed(env, "ETH / USD", "3000")
    usdc_feed = deploy_feed(env, "USDC / USD", "1")
    eur_feed = deploy_feed(env, "EUR / USD", "1.25", heartbeat=86_400)
    feeds = book({"native": eth_feed, str(tokens.usdc.address).lower(): usdc_feed}, {"EUR": eur_feed})
    usdc_in = send_token(env, tokens.usdc, other, mine.address, 1_234_567)
    env.advance(60)
    from tests.money.conftest import feed_contract, price_answer

    env.transact(feed_contract(env, eth_feed).functions.setAnswer(price_answer("4000")))  # ETH moves after
    eth_in = send_eth(env, other, mine.address, 10**18)
    dai_in = send_token(env, tokens.dai, other, mine.address, 10**18)  # DAI: no feed here
    approve = env.token(str(tokens.usdc.address)).functions.approve(RECIPIENT, 1)
    from paygo_desktop.chain.tx import send

    approval = "0x" + env.run(send(env.w3, approve, mine)).tx_hash.hex()  # moves nothing: its fee only
    store = Store.open(tmp_path / "app.sqlite3")
    account_history = history(env, store, mine, tokens, feeds, "EUR")
    env.run(account_history.sync())
    view = {m.tx_hash: m for m in env.run(account_history.view()).rows}
    assert view[usdc_in].value_text() == "≈ €0.99"  # 1.234567 USD / 1.25
    assert view[eth_in].value_text() == "≈ €3,200.00"  # at 4000 USD then, not 3000
    assert view[dai_in].value_text() == "—"
    assert view[approval].direction == FEE_ONLY and view[approval].fee is not None
    out = tmp_path / "movements.csv"
    assert env.run(account_history.export(out)) == 4
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("Date (UTC),Network,") and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0].keys()) == list(COLUMNS)
    by_hash = {r["Tx hash"]: r for r in rows}
    usdc = by_hash[usdc_in]
    assert usdc["Direction"] == "in" and usdc["From"] == other.address and usdc["To"] == mine.address
    assert usdc["Token"] == "USDC" and usdc["Token address"] == tokens.usdc.address
    assert Decimal(usdc["Amount"]) == Decimal("1.234567") and int(usdc["Base units"]) == 1_234_567
    assert usdc["Fiat currency"] == "EUR" and Decimal(usdc["Fiat value"]) == Decimal("0.99")
    assert Decimal(usdc["Price per unit"]) == Decimal("0.8")  # 1 USD / 1.25
    assert "USDC / USD" in usdc["Price source"] and "EUR / USD" in usdc["Price source"]
    assert datetime.strptime(usdc["Date (UTC)"], "%Y-%m-%d %H:%M:%S")  # a spreadsheet's date
    assert datetime.strptime(usdc["Price time (UTC)"], "%Y-%m-%d %H:%M:%S")
    assert Decimal(by_hash[eth_in]["Fiat value"]) == Decimal("3200.00")
    assert by_hash[dai_in]["Fiat value"] == "" and "no fresh price" in by_hash[dai_in]["Note"]
    fee_row = by_hash[approval]
    assert fee_row["Direction"] == "fee" and Decimal(fee_row["Fee (ETH)"]) > 0 and fee_row["Amount"] == "0"
    assert Decimal(fee_row["Fee fiat value"]) >= 0
    # a spreadsheet-style parse: every number column parses, every row has every column
    for row in rows:
        assert None not in row.values() and len(row) == len(COLUMNS)
        for column in ("Block", "Base units"):
            int(row[column])
        for column in ("Amount", "Fee (ETH)", "Fiat value", "Price per unit", "Fee fiat value"):
            if row[column]:
                Decimal(row[column])


def test_a_token_symbol_is_never_a_spreadsheet_formula(
    env: Env, tmp_path: Path, tokens: Tokens, people: Any
) -> None:
    mine, _other = people
    evil = env.deploy("TestToken", "Evil", "=1+1", 6)
    env.transact(env.token(evil, "TestToken").functions.mint(mine.address, 5))
    store = Store.open(tmp_path / "app.sqlite3")
    account_history = AccountHistory(
        store, chain_network(env), mine.address, (Asset("=1+1", 6, evil),), book({}), currency("USD")
    )
    env.run(account_history.sync())
    out = tmp_path / "m.csv"
    env.run(account_history.export(out))
    (row,) = [
        r
        for r in csv.DictReader(io.StringIO(out.read_text("utf-8"), newline=""))
        if r["Token address"] == evil
    ]
    assert row["Token"] == "'=1+1"
