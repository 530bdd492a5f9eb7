"""The embedded node's chain (``sandbox.embedded_node``): eth-tester's py-evm backend with the ten pre-funded
"test … junk" accounts, its calls and gas estimates made as anvil makes them, a revert as anvil shapes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from paygo_desktop.sandbox.embedded_json import RpcError

TEST_PHRASE = "test test test test test test test test test test test junk"
ACCOUNT_COUNT = 10
ACCOUNT_BALANCE = 10_000 * 10**18  # as anvil


def revert_error(error: Any) -> RpcError:
    """anvil's shape for a revert: code 3, the raw revert data (custom errors decode from it)."""
    from eth.exceptions import Revert

    if isinstance(error, Revert) and error.args and isinstance(error.args[0], bytes):
        data = error.args[0]
        return RpcError(3, "execution reverted", "0x" + data.hex())
    return RpcError(-32003, f"execution failed: {error}")


def make_backend() -> Any:
    from eth.exceptions import Revert
    from eth.vm.spoof import SpoofTransaction
    from eth_tester import PyEVMBackend
    from eth_tester.backends.pyevm.main import _get_vm_for_block_number

    class Backend(PyEVMBackend):
        """eth-tester's py-evm backend, with calls and estimates as anvil makes them.

        They run free of fees when none are given (any sender, even one without ETH), at "latest" in the
        context of the next block (the current time), and a revert keeps its raw data.
        """

        @contextmanager
        def _free_state(self, block_number: Any) -> Iterator[Any]:
            if block_number in ("latest", "pending", "safe", "finalized"):
                header = self.chain.header.copy(base_fee_per_gas=0)
                state = self.chain.get_vm(header).state
                snapshot = state.snapshot()
                try:
                    yield state
                finally:
                    state.revert(snapshot)
            else:
                with _get_vm_for_block_number(self.chain, block_number).in_costless_state() as state:
                    yield state

        def _spoofed(self, transaction: dict[str, Any], block_number: Any, gas: int) -> Any:
            tx = dict(transaction)
            tx.setdefault("gas", gas)
            if not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")):
                tx["max_fee_per_gas"] = tx["max_priority_fee_per_gas"] = 0
            unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, block_number)
            return SpoofTransaction(unsigned, from_=transaction["from"])

        def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
            spoofed = self._spoofed(transaction, block_number, self._max_available_gas())
            with self._free_state(block_number) as state:
                computation = state.apply_transaction(spoofed)
            if computation.is_error:
                raise revert_error(computation.error)
            return bytes(computation.output)

        def estimate_gas(self, transaction: dict[str, Any], block_number: Any = "latest") -> int:
            spoofed = self._spoofed({k: v for k, v in transaction.items() if k != "gas"}, block_number, 21000)
            try:
                with self._free_state(block_number) as state:
                    return int(self.chain.gas_estimator(state, spoofed))
            except Revert as exc:
                raise revert_error(exc) from None

    return Backend.from_mnemonic(
        TEST_PHRASE,
        num_accounts=ACCOUNT_COUNT,
        hd_path="m/44'/60'/0'/0",
        genesis_state_overrides={"balance": ACCOUNT_BALANCE},
    )
