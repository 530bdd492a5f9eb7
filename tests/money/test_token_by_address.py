"""A token added by its address: what the contract says is read within bounds, shown with look-alike
warnings, kept once confirmed; hostile contracts get a clear refusal, never a crash or a guess."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.token_metadata import TokenMetadataError, selector
from paygo_desktop.context import AppContext
from paygo_desktop.money import Asset
from paygo_desktop.paths import DataDir
from paygo_desktop.store import Store
from paygo_desktop.tokens.adding import TokenRefused, confirm_token, propose_token
from tests.chain.conftest import Env
from tests.escrow.conftest import chain_network
from tests.money.conftest import Tokens


def propose(env: Env, address: str, known: tuple[Asset, ...] = ()) -> Any:
    return env.run(propose_token(env.w3, chain_network(env), address, known, holder=env.payer.address))


def test_a_token_added_by_address_is_read_confirmed_and_listed(
    env: Env, tmp_path: Path, tokens: Tokens
) -> None:
    address = env.deploy("TestToken", "Lab Credit", "LABC", 9)
    proposal = propose(env, address.lower())  # typed in lower case: checksummed here
    assert proposal.asset == Asset("LABC", 9, address)
    assert proposal.name == "Lab Credit" and proposal.warnings == ()
    data = DataDir(tmp_path / "data")
    ctx = AppContext.open(data)
    try:
        network = chain_network(env)
        assert address not in [t.address for t in ctx.known_tokens(network)]  # nothing kept before confirming
        confirm_token(ctx.store, proposal)
        assert ctx.known_tokens(network)[-1] == Asset("LABC", 9, address)
    finally:
        ctx.close()
    reopened = AppContext.open(data)  # kept in the store
    try:
        assert reopened.known_tokens(chain_network(env))[-1] == Asset("LABC", 9, address)
    finally:
        reopened.close()


def test_a_look_alike_usdc_is_flagged(env: Env, tokens: Tokens) -> None:
    fake = env.deploy("TestToken", "USD Coin", "USDС", 6)  # the last letter is Cyrillic
    proposal = propose(env, fake, (tokens.usdc,))
    text = " ".join(proposal.warnings)
    assert "CYRILLIC CAPITAL LETTER ES" in text
    assert "reads like USDC, but it is not the USDC this app knows" in text


def test_an_address_already_listed_is_refused(env: Env, tokens: Tokens) -> None:
    with pytest.raises(TokenRefused, match="already listed, as USDC"):
        propose(env, tokens.usdc.address or "", (tokens.usdc,))


def scripted(env: Env, answers: dict[str, tuple[bytes, bool]]) -> str:
    """A ScriptedContract answering each function with the given bytes (or reverting)."""
    address = env.deploy("ScriptedContract")
    contract = env.w3.eth.contract(address=address, abi=load_artifact("ScriptedContract").abi)
    for signature, (answer, reverts) in answers.items():
        env.transact(contract.functions.script(selector(signature), answer, reverts))
    return address


def string_answer(raw: bytes) -> bytes:
    return abi_encode(["bytes"], [raw])  # a string's encoding, with any bytes in it


def erc20(**overrides: tuple[bytes, bool]) -> dict[str, tuple[bytes, bool]]:
    answers = {
        "symbol()": (string_answer(b"ODD"), False),
        "name()": (string_answer(b"Odd token"), False),
        "decimals()": (abi_encode(["uint8"], [6]), False),
        "balanceOf(address)": (abi_encode(["uint256"], [0]), False),
    }
    answers.update(overrides)
    return answers


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"symbol()": (string_answer(b"\xff\xfe\xfd"), False)}, "not text (not UTF-8)"),
        ({"symbol()": (string_answer(b"A" * 3000), False)}, "ran out of gas"),
        (
            {"symbol()": (abi_encode(["uint256", "uint256"], [32, 3000]) + b"A" * 32, False)},
            "3,000 bytes long",
        ),
        ({"symbol()": (abi_encode(["uint256", "uint256"], [32, 2**200]), False)}, "bytes long; at most 20"),
        ({"symbol()": (abi_encode(["uint256", "uint256"], [2**250, 3]), False)}, "not a well-formed string"),
        ({"symbol()": (abi_encode(["uint256", "uint256"], [32, 12]) + b"ABC", False)}, "not a string"),
        ({"symbol()": (string_answer(b"USD\xe2\x80\xaeC"), False)}, "invisible or control characters"),
        ({"symbol()": (string_answer(b"000 USD"), False)}, "spaces or markup"),  # "5 000 USD"
        ({"symbol()": (string_answer(b"PTS<br><!--"), False)}, "spaces or markup"),
        ({"symbol()": (b"", True)}, "symbol call failed"),
        ({"symbol()": (b"\x00" * 7, False)}, "not a string"),
        (
            {"decimals()": (abi_encode(["uint256"], [255]), False)},
            "255 decimals; the app handles tokens with at most 36",
        ),
        ({"decimals()": (abi_encode(["uint256"], [37]), False)}, "37 decimals"),
        ({"decimals()": (abi_encode(["uint256"], [2**255]), False)}, "more than a million decimals"),
        ({"decimals()": (b"", True)}, "decimals call failed"),
        ({"balanceOf(address)": (b"", False)}, "does not behave like an ERC-20"),
    ],
)
def test_hostile_metadata_is_refused_in_words(env: Env, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(TokenMetadataError, match=re.escape(message)):
        propose(env, scripted(env, erc20(**overrides)))


def test_a_bytes32_symbol_like_mkr_is_read(env: Env) -> None:
    address = scripted(env, erc20(**{"symbol()": (b"MKR".ljust(32, b"\0"), False)}))
    assert propose(env, address).asset.symbol == "MKR"


def test_an_address_without_code_or_malformed_is_refused(env: Env) -> None:
    with pytest.raises(TokenMetadataError, match="no contract at this address"):
        propose(env, "0x" + "12" * 20)
    with pytest.raises(TokenRefused, match="0x followed by 40"):
        propose(env, "0x1234")
    with pytest.raises(TokenRefused, match="0x followed by 40"):
        propose(env, "0x" + "zz" * 20)


def test_a_token_store_round_trip(tmp_path: Path) -> None:
    from paygo_desktop.store.custom_tokens import CustomTokenRepository

    repo = CustomTokenRepository(Store.open(tmp_path / "s.sqlite3"))
    asset = Asset("LABC", 9, "0x" + "ab" * 20)
    repo.add("sandbox", 31337, asset, "Lab")
    repo.add("sandbox", 31337, Asset("LABC2", 9, "0x" + "ab" * 20), "Lab")  # replaced, not doubled
    assert repo.assets("sandbox", 31337) == (Asset("LABC2", 9, "0x" + "ab" * 20),)
    assert repo.assets("base", 8453) == ()
    repo.remove("sandbox", 31337, "0x" + "ab" * 20)
    assert repo.assets("sandbox", 31337) == ()
