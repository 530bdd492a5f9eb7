"""Typed async bindings for PayGoVault (web3 AsyncWeb3). Amounts are int base units, never floats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import AsyncWeb3
from web3.exceptions import ContractCustomError, ContractLogicError

from paygo_desktop.chain.abi_signatures import error_selectors, signature_text
from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.log_decoding import LogDecoder
from paygo_desktop.chain.tx import Sender, TxResult, send
from paygo_desktop.chain.vouchers import Channel, VaultDomain

ERC20_MIN_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": mut,
        "inputs": [{"name": f"a{i}", "type": t} for i, t in enumerate(ins)],
        "outputs": [{"name": "", "type": out}],
    }
    for name, mut, ins, out in (
        ("approve", "nonpayable", ("address", "uint256"), "bool"),
        ("allowance", "view", ("address", "address"), "uint256"),
        ("balanceOf", "view", ("address",), "uint256"),
        ("decimals", "view", (), "uint8"),
        ("transfer", "nonpayable", ("address", "uint256"), "bool"),
    )
]


# ------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ChannelState:
    deposited: int
    claimed: int
    withdrawn: int
    pending_withdraw: int
    withdraw_ready_at: int
    closed: bool = False  # closed cooperatively: final, never funded again

    @property
    def escrow(self) -> int:
        """Escrow of the channel: deposited - withdrawn (claims are paid out of it)."""
        return self.deposited - self.withdrawn

    @property
    def available(self) -> int:
        """Still held by the vault for this channel: deposited - withdrawn - claimed."""
        return self.deposited - self.withdrawn - self.claimed

    @property
    def coverage(self) -> int:
        """The most vouchers on this channel can total and be paid: escrow minus a pending withdrawal."""
        return max(0, self.escrow - self.pending_withdraw)


@dataclass(frozen=True)
class EventMeta:
    block_number: int
    tx_hash: bytes
    log_index: int


@dataclass(frozen=True)
class Funded:
    channel_id: bytes
    payer: str
    provider: str
    token: str
    funder: str
    amount: int
    deposited: int
    meta: EventMeta


@dataclass(frozen=True)
class Claimed:
    channel_id: bytes
    payer: str
    provider: str
    amount: int
    claimed: int
    meta: EventMeta


@dataclass(frozen=True)
class WithdrawRequested:
    channel_id: bytes
    payer: str
    provider: str
    amount: int
    ready_at: int
    meta: EventMeta


@dataclass(frozen=True)
class Withdrawn:
    channel_id: bytes
    payer: str
    provider: str
    amount: int
    meta: EventMeta


@dataclass(frozen=True)
class Closed:
    channel_id: bytes
    payer: str
    provider: str
    provider_amount: int
    refund: int
    meta: EventMeta


VaultEvent = Funded | Claimed | WithdrawRequested | Withdrawn | Closed

_EVENT_FIELDS: dict[str, tuple[type, dict[str, str]]] = {
    "Funded": (
        Funded,
        {
            "channel_id": "channelId",
            "payer": "payer",
            "provider": "provider",
            "token": "token",
            "funder": "funder",
            "amount": "amount",
            "deposited": "deposited",
        },
    ),
    "Claimed": (
        Claimed,
        {
            "channel_id": "channelId",
            "payer": "payer",
            "provider": "provider",
            "amount": "amount",
            "claimed": "claimed",
        },
    ),
    "WithdrawRequested": (
        WithdrawRequested,
        {
            "channel_id": "channelId",
            "payer": "payer",
            "provider": "provider",
            "amount": "amount",
            "ready_at": "readyAt",
        },
    ),
    "Withdrawn": (
        Withdrawn,
        {"channel_id": "channelId", "payer": "payer", "provider": "provider", "amount": "amount"},
    ),
    "Closed": (
        Closed,
        {
            "channel_id": "channelId",
            "payer": "payer",
            "provider": "provider",
            "provider_amount": "providerAmount",
            "refund": "refund",
        },
    ),
}


@dataclass(frozen=True)
class VaultTx:
    """Result of a state-changing vault call: the receipt summary plus the vault events it emitted."""

    tx: TxResult
    events: list[VaultEvent]

    @property
    def gas_used(self) -> int:
        return self.tx.gas_used

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


_VAULT_ERRORS: dict[bytes, str] | None = None


def revert_error_name(exc: BaseException) -> str | None:
    """Name of the PayGoVault (or PayGoJobs) custom error carried by a web3 revert exception, if
    recognisable."""
    data = getattr(exc, "data", None)
    name = error_name(data)
    if name is None:
        from paygo_desktop.chain.jobs import error_name as jobs_error_name

        name = jobs_error_name(data)
    return name


def error_name(data: object) -> str | None:
    """Name of the PayGoVault custom error whose revert data (0x-hex, as a node returns it) is ``data``."""
    global _VAULT_ERRORS
    if _VAULT_ERRORS is None:
        _VAULT_ERRORS = error_selectors(load_artifact("PayGoVault").abi)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return _VAULT_ERRORS.get(bytes.fromhex(data[2:10]))
    return None


RevertError = (ContractLogicError, ContractCustomError)


# ------------------------------------------------------------------------------------------- client


class VaultClient:
    """Bindings for one deployed PayGoVault."""

    def __init__(self, w3: AsyncWeb3, address: str) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact("PayGoVault").abi)
        self._domain: VaultDomain | None = None
        self._topics: dict[bytes, str] = {}
        abi: list[dict[str, Any]] = load_artifact("PayGoVault").abi
        for entry in abi:
            if entry.get("type") == "event":
                self._topics[keccak(text=signature_text(entry))] = entry["name"]
        self._decoder = LogDecoder(self.address, abi)

    # -------------------------------------------------------------- views

    async def domain(self) -> VaultDomain:
        if self._domain is None:
            self._domain = VaultDomain(chain_id=await self.w3.eth.chain_id, vault=self.address)
        return self._domain

    async def min_withdraw_delay(self) -> int:
        return int(await self.contract.functions.MIN_WITHDRAW_DELAY().call())

    async def domain_separator(self) -> bytes:
        return bytes(await self.contract.functions.domainSeparator().call())

    async def channel_id(self, channel: Channel) -> bytes:
        return bytes(await self.contract.functions.channelId(channel.as_tuple()).call())

    async def voucher_digest(self, channel_id: bytes, cumulative_amount: int) -> bytes:
        return bytes(await self.contract.functions.voucherDigest(channel_id, cumulative_amount).call())

    async def max_withdraw_delay(self) -> int:
        return int(await self.contract.functions.MAX_WITHDRAW_DELAY().call())

    async def close_digest(self, channel_id: bytes, final_amount: int, deadline: int) -> bytes:
        return bytes(await self.contract.functions.closeDigest(channel_id, final_amount, deadline).call())

    async def channel_state(self, channel: Channel | bytes, block: int | None = None) -> ChannelState:
        """The channel's state at the head, or at ``block``."""
        cid = channel.id if isinstance(channel, Channel) else channel
        call = self.contract.functions.channelState(cid)
        deposited, claimed, withdrawn, pending, ready_at, closed = await (
            call.call() if block is None else call.call(block_identifier=block)
        )
        return ChannelState(
            int(deposited), int(claimed), int(withdrawn), int(pending), int(ready_at), closed=bool(closed)
        )

    async def available(self, channel: Channel | bytes) -> int:
        cid = channel.id if isinstance(channel, Channel) else channel
        return int(await self.contract.functions.available(cid).call())

    async def voucher_is_valid(self, channel: Channel, cumulative_amount: int, signature: bytes) -> bool:
        """On-chain check (covers ERC-1271 signers): would claim() accept this signature now?

        Simulates claim() with eth_call; a stale voucher simulates as a no-op and counts as valid.
        """
        try:
            await self.contract.functions.claim(channel.as_tuple(), cumulative_amount, signature).call()
        except RevertError:
            return False
        return True

    # -------------------------------------------------------------- transactions

    async def fund(self, sender: Sender, channel: Channel, amount: int, *, gas: int | None = None) -> VaultTx:
        """Create or top up ``channel``. ERC-20 channels need a prior ``approve_token``."""
        _check_amount(amount)
        value = amount if channel.is_native else 0
        fn = self.contract.functions.fund(channel.as_tuple(), amount)
        return await self._send(fn, sender, value=value, gas=gas)

    async def claim(
        self,
        sender: Sender,
        channel: Channel,
        cumulative_amount: int,
        signature: bytes,
        *,
        gas: int | None = None,
    ) -> VaultTx:
        _check_amount(cumulative_amount)
        fn = self.contract.functions.claim(channel.as_tuple(), cumulative_amount, bytes(signature))
        return await self._send(fn, sender, gas=gas)

    async def claim_batch(
        self,
        sender: Sender,
        items: Sequence[tuple[Channel, int, bytes]],
        *,
        gas: int | None = None,
        fees: Mapping[str, int] | None = None,
    ) -> VaultTx:
        """Claim several channels; order items by (provider, token) so payouts are aggregated. ``fees``: the
        gas price to send it with (``chain.fees.FeeQuote.params``), as it was simulated."""
        return await self._send(self.claim_batch_call(items), sender, gas=gas, fees=fees)

    def claim_batch_call(self, items: Sequence[tuple[Channel, int, bytes]]) -> Any:
        """The prepared ``claimBatch`` call: ``.call({"from": ...})`` simulates it (a revert raises)."""
        for _, amount, _ in items:
            _check_amount(amount)
        return self.contract.functions.claimBatch(
            [c.as_tuple() for c, _, _ in items], [a for _, a, _ in items], [bytes(s) for _, _, s in items]
        )

    async def request_withdraw(
        self, sender: Sender, channel: Channel, amount: int, *, gas: int | None = None
    ) -> VaultTx:
        """Payer only. ``amount`` 0 cancels a pending request."""
        _check_amount(amount)
        fn = self.contract.functions.requestWithdraw(channel.as_tuple(), amount)
        return await self._send(fn, sender, gas=gas)

    async def finalize_withdraw(self, sender: Sender, channel: Channel, *, gas: int | None = None) -> VaultTx:
        return await self._send(self.contract.functions.finalizeWithdraw(channel.as_tuple()), sender, gas=gas)

    async def close_cooperative(
        self,
        sender: Sender,
        channel: Channel,
        final_amount: int,
        deadline: int,
        signer_signature: bytes,
        provider_signature: bytes,
        *,
        gas: int | None = None,
    ) -> VaultTx:
        """Close with the signer's Voucher(final_amount) and the provider's Close(final_amount, deadline)."""
        _check_amount(final_amount)
        _check_amount(deadline, maximum=2**64 - 1)
        fn = self.contract.functions.closeCooperative(
            channel.as_tuple(), final_amount, deadline, bytes(signer_signature), bytes(provider_signature)
        )
        return await self._send(fn, sender, gas=gas)

    # -------------------------------------------------------------- ERC-20 helpers

    def erc20(self, token: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(token), abi=ERC20_MIN_ABI)

    async def approve_token(self, sender: Sender, token: str, amount: int) -> TxResult:
        _check_amount(amount, maximum=2**256 - 1)
        return await send(self.w3, self.erc20(token).functions.approve(self.address, amount), sender)

    async def token_balance(self, token: str, owner: str) -> int:
        if to_checksum_address(token) == "0x0000000000000000000000000000000000000000":
            return int(await self.w3.eth.get_balance(to_checksum_address(owner)))
        return int(await self.erc20(token).functions.balanceOf(to_checksum_address(owner)).call())

    # -------------------------------------------------------------- events

    def decode_events(self, receipt: Any) -> list[VaultEvent]:
        """Vault events in a receipt (logs of other contracts are ignored)."""
        return self.decode_logs(receipt["logs"])

    def decode_logs(self, logs: Sequence[Any]) -> list[VaultEvent]:
        """Vault events in ``logs``, as web3 formats them or as the node sends them (hex strings)."""
        out: list[VaultEvent] = []
        for log in logs:
            decoded = self._decoder.decode(log)
            if decoded is None:
                continue
            cls, fields = _EVENT_FIELDS[decoded.name]
            args = decoded.args
            kwargs = {py: args[sol] for py, sol in fields.items()}
            meta = EventMeta(
                block_number=decoded.block_number, tx_hash=decoded.tx_hash, log_index=decoded.log_index
            )
            out.append(cls(**kwargs, meta=meta))
        return out

    async def get_events(self, from_block: int, to_block: Any = "latest") -> list[VaultEvent]:
        logs = await self.w3.eth.get_logs(
            {"address": self.address, "fromBlock": from_block, "toBlock": to_block}
        )
        return self.decode_logs(logs)

    async def _send(
        self,
        fn: Any,
        sender: Sender,
        *,
        value: int = 0,
        gas: int | None = None,
        fees: Mapping[str, int] | None = None,
    ) -> VaultTx:
        result = await send(self.w3, fn, sender, value=value, gas=gas, fees=fees)
        return VaultTx(tx=result, events=self.decode_events(result.receipt))


def _check_amount(amount: int, maximum: int = 2**128 - 1) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are int base units, got {type(amount).__name__}")
    if not 0 <= amount <= maximum:
        raise ValueError(f"amount out of range: {amount}")
