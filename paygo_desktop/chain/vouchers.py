"""EIP-712 types of PayGoVault: channel ids, Voucher and Close signing/verification.

Shared by the wallet (payer side) and the provider. Pure eth-account / eth-abi; no web3, no network.

* channelId = hashStruct(Channel) — chain independent (the EIP-712 domain binds chain and vault).
* Voucher(bytes32 channelId,uint128 cumulativeAmount) — signed by the channel signer (payer if signer == 0).
* Close(bytes32 channelId,uint128 finalAmount,uint64 deadline) — signed by the provider; valid on chain until
  ``deadline`` (Unix seconds, inclusive). ``closeCooperative`` also needs the signer's Voucher for exactly
  ``finalAmount``, so a close never pays the provider more than the signer signed.

Verification here covers ECDSA (EOA) signatures only and mirrors the contract: 65 bytes, v in {27, 28},
low-s. ERC-1271 (contract wallet) signatures can only be checked on chain (``VaultClient.voucher_is_valid``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_hash.auto import keccak as keccak256
from eth_utils import keccak, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
UINT64_MAX = 2**64 - 1
UINT128_MAX = 2**128 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

DOMAIN_NAME = "PayGo Vault"
DOMAIN_VERSION = "1"

CHANNEL_TYPE = (
    "Channel(address payer,address signer,address provider,address token,uint64 withdrawDelay,bytes32 salt)"
)
CHANNEL_TYPEHASH = keccak(text=CHANNEL_TYPE)
VOUCHER_TYPEHASH = keccak(text="Voucher(bytes32 channelId,uint128 cumulativeAmount)")
EIP712_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
CLOSE_TYPEHASH = keccak(text="Close(bytes32 channelId,uint128 finalAmount,uint64 deadline)")

EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
VOUCHER_FIELDS = [
    {"name": "channelId", "type": "bytes32"},
    {"name": "cumulativeAmount", "type": "uint128"},
]
CLOSE_FIELDS = [
    {"name": "channelId", "type": "bytes32"},
    {"name": "finalAmount", "type": "uint128"},
    {"name": "deadline", "type": "uint64"},
]


def _check_uint(value: int, maximum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int (base units), got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{what} out of range: {value}")
    return value


def _as_bytes32(value: bytes | str, what: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return raw


@dataclass(frozen=True)
class Channel:
    """Immutable channel parameters (mirror of PayGoVault.Channel). Addresses are checksummed."""

    payer: str
    provider: str
    token: str = ZERO_ADDRESS
    signer: str = ZERO_ADDRESS
    withdraw_delay: int = 0
    salt: bytes = b"\x00" * 32

    def __post_init__(self) -> None:
        for name in ("payer", "provider", "token", "signer"):
            object.__setattr__(self, name, to_checksum_address(getattr(self, name)))
        object.__setattr__(self, "salt", _as_bytes32(self.salt, "salt"))
        _check_uint(self.withdraw_delay, UINT64_MAX, "withdraw_delay")

    @property
    def effective_signer(self) -> str:
        return self.payer if self.signer == ZERO_ADDRESS else self.signer

    @property
    def is_native(self) -> bool:
        return self.token == ZERO_ADDRESS

    def as_tuple(self) -> tuple[str, str, str, str, int, bytes]:
        """ABI tuple in the Solidity field order."""
        return (self.payer, self.signer, self.provider, self.token, self.withdraw_delay, self.salt)

    @functools.cached_property
    def id(self) -> bytes:  # computed once per Channel: a keccak of seven ABI words (~60 µs)
        return channel_id(self)


def domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    """EIP-712's domainSeparator for (name, version, chainId, verifyingContract), as OpenZeppelin's EIP712
    computes it: the vault's and PayGoJobs' domains alike."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [EIP712_DOMAIN_TYPEHASH, keccak(text=name), keccak(text=version), chain_id, contract],
        )
    )


@dataclass(frozen=True)
class VaultDomain:
    """EIP-712 domain of one deployed vault."""

    chain_id: int
    vault: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "vault", to_checksum_address(self.vault))
        _check_uint(self.chain_id, 2**256 - 1, "chain_id")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.vault,
        }

    @functools.cached_property
    def separator(self) -> bytes:  # computed once per domain, like Channel.id
        return domain_separator(DOMAIN_NAME, DOMAIN_VERSION, self.chain_id, self.vault)


def app_channel(payer: str, provider: str, token: str | None, withdraw_delay: int, index: int = 0) -> Channel:
    """The ``index``-th channel this app opens between ``payer`` and ``provider`` in ``token`` (None: the
    native coin): the payer signs its own vouchers, salt = ``index`` (a small number: every non-zero
    calldata byte costs gas on each claim), the vault's shortest withdrawal delay. A closed channel is
    final, so the app moves on to the next index (``chain.app_channels``). The same inputs always give the
    same channel id, so the Escrow page and the session engine find it again from nothing but the chain."""
    _check_uint(index, UINT64_MAX, "index")
    return Channel(
        payer=payer,
        provider=provider,
        token=token or ZERO_ADDRESS,
        withdraw_delay=withdraw_delay,
        salt=index.to_bytes(32, "big"),
    )


def channel_id(channel: Channel) -> bytes:
    """hashStruct(Channel), identical to PayGoVault.channelId()."""
    return keccak(
        abi_encode(
            ["bytes32", "address", "address", "address", "address", "uint64", "bytes32"],
            [CHANNEL_TYPEHASH, *channel.as_tuple()],
        )
    )


def _resolve_id(channel: Channel | bytes | str) -> bytes:
    return channel.id if isinstance(channel, Channel) else _as_bytes32(channel, "channel id")


# ---------------------------------------------------------------------------------------- typed data


def voucher_typed_data(
    domain: VaultDomain, channel: Channel | bytes, cumulative_amount: int
) -> dict[str, Any]:
    """Full EIP-712 message (the JSON an external signer, e.g. eth_signTypedData_v4, takes)."""
    _check_uint(cumulative_amount, UINT128_MAX, "cumulative_amount")
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Voucher": VOUCHER_FIELDS},
        "primaryType": "Voucher",
        "domain": domain.as_dict(),
        "message": {"channelId": "0x" + _resolve_id(channel).hex(), "cumulativeAmount": cumulative_amount},
    }


def close_typed_data(
    domain: VaultDomain, channel: Channel | bytes, final_amount: int, deadline: int
) -> dict[str, Any]:
    _check_uint(final_amount, UINT128_MAX, "final_amount")
    _check_uint(deadline, UINT64_MAX, "deadline")
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Close": CLOSE_FIELDS},
        "primaryType": "Close",
        "domain": domain.as_dict(),
        "message": {
            "channelId": "0x" + _resolve_id(channel).hex(),
            "finalAmount": final_amount,
            "deadline": deadline,
        },
    }


def _signable(typed: dict[str, Any]) -> SignableMessage:
    return encode_typed_data(full_message=typed)


def _digest(signable: SignableMessage) -> bytes:
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def voucher_digest_of(separator: bytes, channel_id: bytes, cumulative_amount: int) -> bytes:
    """The Voucher digest from the domain's separator and the channel id directly (what ``voucher_digest``
    gives through eth-account's typed-data encoder; tests compare): for the many vouchers the engine signs
    and a provider checks."""
    _check_uint(cumulative_amount, UINT128_MAX, "cumulative_amount")
    inner = keccak256(VOUCHER_TYPEHASH + channel_id + cumulative_amount.to_bytes(32, "big"))
    return bytes(keccak256(b"\x19\x01" + separator + inner))


def voucher_digest(domain: VaultDomain, channel: Channel | bytes, cumulative_amount: int) -> bytes:
    """The 32-byte hash the signer signs; equals PayGoVault.voucherDigest()."""
    return _digest(_signable(voucher_typed_data(domain, channel, cumulative_amount)))


def close_digest(domain: VaultDomain, channel: Channel | bytes, final_amount: int, deadline: int) -> bytes:
    """The 32-byte hash the provider signs; equals PayGoVault.closeDigest()."""
    return _digest(_signable(close_typed_data(domain, channel, final_amount, deadline)))


# ---------------------------------------------------------------------------------------- signing


def _key(private_key: Any) -> Any:
    # Accepts a LocalAccount, raw key bytes or a hex string.
    return getattr(private_key, "key", private_key)


def _key_bytes(private_key: Any) -> bytes:
    key = _key(private_key)
    if isinstance(key, str):
        return bytes.fromhex(key.removeprefix("0x"))
    if isinstance(key, bytes | bytearray):
        return bytes(key)
    return bytes(key.to_bytes())  # an eth_keys PrivateKey


def sign_voucher(
    private_key: Any, domain: VaultDomain, channel: Channel | bytes, cumulative_amount: int
) -> bytes:
    """65-byte r‖s‖v signature of a Voucher.

    The engine signs one per tick of every running session, so this takes the short way: the digest as
    ``VoucherChecker`` builds it (the domain separator and channel id computed once) signed by libsecp256k1
    (coincurve) directly, without eth-account's typed-data encoder and key wrappers. RFC 6979 makes the
    signature deterministic: it is the one ``Account.sign_message`` gives for ``voucher_typed_data`` (tests
    compare), low-s as the contract wants."""
    from coincurve import PrivateKey

    digest = voucher_digest_of(domain.separator, _resolve_id(channel), cumulative_amount)
    signature = PrivateKey(_key_bytes(private_key)).sign_recoverable(digest, hasher=None)
    return signature[:64] + bytes([signature[64] + 27])


def sign_close(
    private_key: Any, domain: VaultDomain, channel: Channel | bytes, final_amount: int, deadline: int
) -> bytes:
    """65-byte signature of a Close (signed by the provider), valid on chain until ``deadline``."""
    signed = Account.sign_message(
        _signable(close_typed_data(domain, channel, final_amount, deadline)), _key(private_key)
    )
    return bytes(signed.signature)


# ---------------------------------------------------------------------------------------- verification


def _canonical(signature: bytes | str) -> bytes | None:
    sig = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else bytes(signature)
    if len(sig) != 65:
        return None
    s = int.from_bytes(sig[32:64], "big")
    if sig[64] not in (27, 28) or s == 0 or s > SECP256K1_N // 2:
        return None  # the contract (OpenZeppelin ECDSA) rejects these too
    return sig


def _recover(signable: SignableMessage, signature: bytes | str) -> str | None:
    sig = _canonical(signature)
    if sig is None:
        return None
    try:
        return str(Account.recover_message(signable, signature=sig))
    except Exception:
        return None


def recover_voucher_signer(
    domain: VaultDomain, channel: Channel | bytes, cumulative_amount: int, signature: bytes | str
) -> str | None:
    """Address that signed the voucher, or None for a malformed / non-canonical signature."""
    return _recover(_signable(voucher_typed_data(domain, channel, cumulative_amount)), signature)


def recover_close_signer(
    domain: VaultDomain, channel: Channel | bytes, final_amount: int, deadline: int, signature: bytes | str
) -> str | None:
    return _recover(_signable(close_typed_data(domain, channel, final_amount, deadline)), signature)


def verify_voucher(
    domain: VaultDomain, channel: Channel, cumulative_amount: int, signature: bytes | str
) -> bool:
    """True iff ``signature`` is a valid ECDSA voucher by the channel's (effective) signer."""
    return recover_voucher_signer(domain, channel, cumulative_amount, signature) == channel.effective_signer


class VoucherChecker:
    """ECDSA voucher checks for one vault domain with its separator computed once, for a verifier that
    checks many vouchers (the provider): the same verdicts as ``verify_voucher`` (tests compare), with the
    digest built from the channel id and amount directly (``voucher_digest_of``), keccak and libsecp256k1
    (coincurve) called without eth-account's typed-data encoder and eth-keys' wrappers in between."""

    def __init__(self, domain: VaultDomain) -> None:
        from coincurve import PublicKey

        self.domain = domain
        self._keccak = keccak256
        self._recover = PublicKey.from_signature_and_message

    def digest(self, channel_id: bytes, cumulative_amount: int) -> bytes:
        """Equals ``voucher_digest(domain, channel_id, cumulative_amount)``."""
        return voucher_digest_of(self.domain.separator, channel_id, cumulative_amount)

    def signer(self, channel_id: bytes, cumulative_amount: int, signature: bytes | str) -> bytes | None:
        """The 20-byte address that signed the voucher, or None for a malformed or non-canonical signature."""
        sig = _canonical(signature)
        if sig is None:
            return None
        try:
            digest = self.digest(channel_id, cumulative_amount)
            public = self._recover(sig[:64] + bytes([sig[64] - 27]), digest, hasher=None)
        except Exception:
            return None
        return bytes(self._keccak(public.format(compressed=False)[1:])[-20:])

    def verify(self, channel: Channel, cumulative_amount: int, signature: bytes | str) -> bool:
        """True iff ``signature`` is a valid ECDSA voucher by the channel's (effective) signer."""
        signer = self.signer(channel.id, cumulative_amount, signature)
        return signer is not None and signer == bytes.fromhex(channel.effective_signer[2:])


def verify_close(
    domain: VaultDomain, channel: Channel, final_amount: int, deadline: int, signature: bytes | str
) -> bool:
    """True iff ``signature`` is a valid ECDSA Close by the channel's provider."""
    return recover_close_signer(domain, channel, final_amount, deadline, signature) == channel.provider
