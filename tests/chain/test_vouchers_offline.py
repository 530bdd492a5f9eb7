"""Pure-Python voucher logic (no chain)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from paygo_desktop.chain.vouchers import (
    Channel,
    VaultDomain,
    VoucherChecker,
    _signable,
    channel_id,
    recover_close_signer,
    sign_close,
    sign_voucher,
    verify_close,
    verify_voucher,
    voucher_digest,
    voucher_typed_data,
)

PAYER = Account.from_key(keccak(text="offline-payer"))
PROVIDER = Account.from_key(keccak(text="offline-provider"))
DOMAIN = VaultDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
CH = Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=60)


def test_package_import_does_not_import_web3() -> None:
    import subprocess
    import sys

    code = "import sys, paygo_desktop.chain, paygo_desktop.chain.artifacts; print('web3' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**128 - 1))
def test_voucher_roundtrip(amount: int) -> None:
    sig = sign_voucher(PAYER, DOMAIN, CH, amount)
    assert len(sig) == 65
    assert verify_voucher(DOMAIN, CH, amount, sig)
    assert verify_voucher(DOMAIN, CH, amount, "0x" + sig.hex())
    if amount < 2**128 - 1:
        assert not verify_voucher(DOMAIN, CH, amount + 1, sig)
    assert not verify_voucher(VaultDomain(1, DOMAIN.vault), CH, amount, sig)


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < 2**255),
    amount=st.integers(0, 2**128 - 1),
    chain_id=st.integers(1, 2**64),
    salt=st.binary(min_size=32, max_size=32),
    form=st.sampled_from(["account", "bytes", "hex", "0xhex", "eth_keys", "channel_id"]),
)
def test_a_voucher_is_signed_exactly_as_eth_accounts_typed_data_signs_it(
    key: bytes, amount: int, chain_id: int, salt: bytes, form: str
) -> None:
    """The engine's short way to sign (digest built directly, libsecp256k1 called directly) gives the very
    bytes eth-account's EIP-712 encoder and signer give, for every key form the callers pass."""
    from eth_keys import keys

    account = Account.from_key(key)
    ch = Channel(payer=account.address, provider=PROVIDER.address, withdraw_delay=60, salt=salt)
    domain = VaultDomain(chain_id, DOMAIN.vault)
    expected = bytes(Account.sign_message(_signable(voucher_typed_data(domain, ch, amount)), key).signature)
    signer: object = {
        "account": account,
        "bytes": key,
        "hex": key.hex(),
        "0xhex": "0x" + key.hex(),
        "eth_keys": keys.PrivateKey(key),
        "channel_id": account,
    }[form]
    target: Channel | bytes = ch.id if form == "channel_id" else ch
    assert sign_voucher(signer, domain, target, amount) == expected


def test_close_roundtrip_and_bad_inputs() -> None:
    deadline = 1_900_000_000
    sig = sign_close(PROVIDER, DOMAIN, CH, 100, deadline)
    assert verify_close(DOMAIN, CH, 100, deadline, sig)
    assert not verify_close(DOMAIN, CH, 100, deadline + 1, sig)  # another deadline
    assert not verify_close(DOMAIN, CH, 101, deadline, sig)
    assert not verify_close(DOMAIN, Channel(payer=PAYER.address, provider=PAYER.address), 100, deadline, sig)
    assert recover_close_signer(DOMAIN, CH, 100, deadline, sig[:64]) is None
    with pytest.raises(ValueError):
        sign_voucher(PAYER, DOMAIN, CH, 2**128)
    with pytest.raises(TypeError):
        sign_voucher(PAYER, DOMAIN, CH, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sign_close(PROVIDER, DOMAIN, CH, 1, 2**64)


def test_channel_id_depends_on_every_field() -> None:
    base = channel_id(CH)
    variants = [
        Channel(payer=PROVIDER.address, provider=PROVIDER.address, withdraw_delay=60),
        Channel(payer=PAYER.address, provider=PAYER.address, withdraw_delay=60),
        Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=61),
        Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=60, token=PAYER.address),
        Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=60, signer=PAYER.address),
        Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=60, salt=b"\x01" * 32),
    ]
    assert len({base, *(channel_id(c) for c in variants)}) == 7


@settings(max_examples=40, deadline=None)
@given(
    amount=st.integers(0, 2**128 - 1),
    signed=st.integers(0, 2**128 - 1),
    salt=st.binary(min_size=32, max_size=32),
    tamper=st.sampled_from(["none", "high_s", "bad_v", "short", "flip"]),
)
def test_the_provider_checker_gives_verify_vouchers_verdicts(
    amount: int, signed: int, salt: bytes, tamper: str
) -> None:
    """The provider's fast check (separator computed once, digest built directly) agrees with the
    eth-account typed-data path on every voucher: right or wrong amount, non-canonical and malformed
    signatures."""
    ch = Channel(payer=PAYER.address, provider=PROVIDER.address, withdraw_delay=60, salt=salt)
    sig = bytearray(sign_voucher(PAYER, DOMAIN, ch, signed))
    if (
        tamper == "high_s"
    ):  # the same signature with s' = n - s and v flipped: valid ECDSA, refused as malleable
        n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
        s_value = int.from_bytes(sig[32:64], "big")
        sig[32:64] = (n - s_value).to_bytes(32, "big")
        sig[64] = 55 - sig[64]
    elif tamper == "bad_v":
        sig[64] = 29
    elif tamper == "short":
        sig = sig[:64]
    elif tamper == "flip":
        sig[5] ^= 0x01
    checker = VoucherChecker(DOMAIN)
    assert checker.digest(ch.id, amount) == voucher_digest(DOMAIN, ch, amount)
    assert checker.verify(ch, amount, bytes(sig)) == verify_voucher(DOMAIN, ch, amount, bytes(sig))
    assert checker.verify(ch, amount, "0x" + bytes(sig).hex()) == verify_voucher(
        DOMAIN, ch, amount, bytes(sig)
    )
    if tamper == "none" and amount == signed:
        assert checker.verify(ch, amount, bytes(sig))
