"""EVM chain layer: PayGoVault contract artifacts, EIP-712 vouchers and async bindings.

Qt-free. Importing this package does not import web3; ``vault`` and ``deploy`` import it lazily.
"""

from paygo_desktop.chain.vouchers import (
    Channel,
    VaultDomain,
    channel_id,
    recover_close_signer,
    recover_voucher_signer,
    sign_close,
    sign_voucher,
    verify_close,
    verify_voucher,
)

__all__ = [
    "Channel",
    "VaultDomain",
    "channel_id",
    "recover_close_signer",
    "recover_voucher_signer",
    "sign_close",
    "sign_voucher",
    "verify_close",
    "verify_voucher",
]
