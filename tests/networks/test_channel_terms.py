"""The withdrawal delay of the app's channels with a provider: the larger of the vault's minimum and the
provider's, never above the vault's 30-day maximum."""

from __future__ import annotations

import pytest

from paygo_desktop.chain.canonical import MAX_WITHDRAW_DELAY
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.channel_terms import channel_withdraw_delay
from paygo_desktop.sessions.plan import SessionError

PAY_TO = "0x" + "11" * 20


def info(minimum: int | None) -> m.ProviderInfo:
    return m.ProviderInfo(
        name="A provider",
        pay_to=PAY_TO,
        networks=[m.NetworkInfo(chain_id=84532, vault="0x" + "22" * 20)],
        assets=[],
        signing_key=PAY_TO,
        min_withdraw_delay=minimum,
    )


def test_the_larger_minimum_wins_and_an_older_provider_gets_the_vaults() -> None:
    assert channel_withdraw_delay(15, info(65)) == 65
    assert channel_withdraw_delay(15, info(11)) == 15
    assert channel_withdraw_delay(15, info(None)) == 15  # an older provider that does not say
    assert channel_withdraw_delay(15, info(MAX_WITHDRAW_DELAY)) == MAX_WITHDRAW_DELAY


def test_a_provider_asking_for_more_than_the_vault_allows_is_refused() -> None:
    with pytest.raises(SessionError, match="longer than the vault allows"):
        channel_withdraw_delay(15, info(MAX_WITHDRAW_DELAY + 1))


def test_the_wire_field_is_a_bounded_integer() -> None:
    data = info(65).model_dump(by_alias=True)
    assert data["minWithdrawDelay"] == 65
    with pytest.raises(ValueError):
        m.ProviderInfo.model_validate({**data, "minWithdrawDelay": -1})
    with pytest.raises(ValueError):
        m.ProviderInfo.model_validate({**data, "minWithdrawDelay": 2**64})
    assert (
        m.ProviderInfo.model_validate(
            {k: v for k, v in data.items() if k != "minWithdrawDelay"}
        ).min_withdraw_delay
        is None
    )
