"""Spending amounts survive SQLite's 64-bit integers exactly, even summed over many wei-sized rows."""

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from paygo_desktop.store import Store
from paygo_desktop.store.models import SpendingRow
from paygo_desktop.store.spending import SpendingEntry, SpendingLog, join_amount, split_amount


@given(st.integers(min_value=0, max_value=10**40))
def test_split_and_join_are_exact(amount):
    giga, rem = split_amount(amount)
    assert 0 <= rem < 10**9
    assert join_amount(giga, rem) == amount


def test_sql_sum_of_wei_amounts_is_exact_past_64_bits(tmp_path):
    store = Store.open(tmp_path / "paygo.db")
    log = SpendingLog(store)
    amounts = [5 * 10**18 + 123, 7 * 10**18 + 999_999_999, 3 * 10**18 + 1]  # 15 ETH: past 2**63 wei
    for amount in amounts:
        log.record(
            SpendingEntry(
                account="0x" + "1" * 40,
                network="sandbox",
                funding="escrow",
                asset_symbol="ETH",
                asset_address=None,
                decimals=18,
                provider_url="http://127.0.0.1:1",
                provider_name="P",
                service_id="s",
                service_name="S",
                category="c",
                amount=amount,
            )
        )
    with store.session() as s:
        sums = select(func.sum(SpendingRow.amount_giga), func.sum(SpendingRow.amount_rem))
        giga, rem = s.execute(sums).one()
    assert join_amount(giga, rem) == sum(amounts)
    assert sum(amounts) > 2**63
    store.close()
