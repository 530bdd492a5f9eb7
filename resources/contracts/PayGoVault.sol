// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title PayGoVault - escrow channels paid out with cumulative EIP-712 vouchers.
/// @notice A channel is identified by the EIP-712 struct hash of its immutable parameters
///         (payer, signer, provider, token, withdrawDelay, salt). token == 0 means native ETH,
///         signer == 0 means the payer signs vouchers (EOA or ERC-1271 contract).
///
/// Accounting per channel (all amounts in token base units):
///   balance   = deposited - withdrawn   (escrow currently held for the channel; withdrawn is not stored)
///   claimed   = total paid to the provider (never decreases, always <= balance)
///   vault holds exactly balance - claimed for the channel.
///
/// The guarantee: the provider never receives more from a channel, by any path, than the highest
/// cumulative amount the channel's signer signed. claim/claimBatch pay up to a signed Voucher; a
/// cooperative close needs both parties: the provider's Close(channelId, finalAmount, deadline) AND the
/// signer's ordinary Voucher(channelId, finalAmount), so a close never pays beyond a signed voucher either.
///
/// A close makes the channel final (`closed`): it can never be funded again (nor closed again, nor a
/// withdrawal requested), so a voucher signed before the close can never reach money deposited after it.
/// The next channel between the same parties uses another salt. A Close carries a deadline instead of a
/// nonce: nothing a third party does (a top-up) can void it, and an unused Close dies at its deadline.
contract PayGoVault is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    struct Channel {
        address payer;
        address signer;
        address provider;
        address token;
        uint64 withdrawDelay;
        bytes32 salt;
    }

    /// Storage layout: 3 slots per channel. `withdrawn` is not stored: it is always deposited - balance.
    struct ChannelState {
        // slot 0 - the only slot touched by claim()
        uint128 balance; // deposited - withdrawn
        uint128 claimed;
        // slot 1 - read by fund() (with the balance) and by closeCooperative() / requestWithdraw()
        uint128 deposited;
        bool closed;
        // slot 2
        uint128 pendingWithdraw;
        uint64 withdrawReadyAt;
    }

    bytes32 public constant CHANNEL_TYPEHASH = keccak256(
        "Channel(address payer,address signer,address provider,address token,uint64 withdrawDelay,bytes32 salt)"
    );
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint128 cumulativeAmount)");
    bytes32 public constant CLOSE_TYPEHASH = keccak256("Close(bytes32 channelId,uint128 finalAmount,uint64 deadline)");

    /// Longest withdrawDelay (seconds) a channel may use: a payer can always get its money back within it.
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;

    /// Minimum withdrawDelay (seconds) a channel must use to be fundable.
    uint64 public immutable MIN_WITHDRAW_DELAY;

    mapping(bytes32 channelId => ChannelState) private _channels;

    event Funded(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed provider,
        address token,
        address funder,
        uint128 amount,
        uint128 deposited
    );
    event Claimed(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed provider,
        uint128 amount,
        uint128 claimed
    );
    event WithdrawRequested(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed provider,
        uint128 amount,
        uint64 readyAt
    );
    event Withdrawn(bytes32 indexed channelId, address indexed payer, address indexed provider, uint128 amount);
    event Closed(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed provider,
        uint128 providerAmount,
        uint128 refund
    );

    error InvalidChannel();
    error WithdrawDelayTooShort(uint64 withdrawDelay, uint64 minimum);
    error WithdrawDelayTooLong(uint64 withdrawDelay, uint64 maximum);
    error ZeroAmount();
    error WrongValue();
    error FeeOnTransferNotSupported();
    error AmountOverflow();
    error InvalidSignature();
    error NotPayer();
    error NoPendingWithdraw();
    error WithdrawNotReady(uint64 readyAt);
    error ChannelClosed();
    error CloseExpired(uint64 deadline);
    error LengthMismatch();
    error EthTransferFailed();

    constructor(uint64 minWithdrawDelay) EIP712("PayGo Vault", "1") {
        if (minWithdrawDelay > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(minWithdrawDelay, MAX_WITHDRAW_DELAY);
        MIN_WITHDRAW_DELAY = minWithdrawDelay;
    }

    // ------------------------------------------------------------------ funding

    /// Create or top up a channel. Anyone may fund. ETH: msg.value == amount. ERC-20: msg.value == 0
    /// and the vault must receive exactly `amount` (fee-on-transfer tokens are rejected).
    /// A closed channel can never be funded again.
    function fund(Channel calldata ch, uint128 amount) external payable nonReentrant {
        if (ch.payer == address(0) || ch.provider == address(0)) revert InvalidChannel();
        uint64 delay = ch.withdrawDelay;
        if (delay < MIN_WITHDRAW_DELAY) revert WithdrawDelayTooShort(delay, MIN_WITHDRAW_DELAY);
        if (delay > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(delay, MAX_WITHDRAW_DELAY);
        if (amount == 0) revert ZeroAmount();
        bytes32 id = _channelId(ch);
        ChannelState storage s = _channels[id];

        if (s.closed) revert ChannelClosed();
        uint128 deposited = s.deposited;
        uint256 newDeposited = uint256(deposited) + amount;
        uint256 newBalance = uint256(s.balance) + amount;
        if (newDeposited > type(uint128).max) revert AmountOverflow();
        s.deposited = uint128(newDeposited);
        s.balance = uint128(newBalance);

        if (ch.token == address(0)) {
            if (msg.value != amount) revert WrongValue();
        } else {
            if (msg.value != 0) revert WrongValue();
            IERC20 token = IERC20(ch.token);
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), amount);
            if (token.balanceOf(address(this)) - before != amount) revert FeeOnTransferNotSupported();
        }
        emit Funded(id, ch.payer, ch.provider, ch.token, msg.sender, amount, uint128(newDeposited));
    }

    // ------------------------------------------------------------------ claims

    /// Pay the provider up to `cumulativeAmount` signed by the channel signer. Anyone may submit.
    /// Pays min(cumulativeAmount, balance) - claimed; a stale voucher is a no-op. Returns the amount paid.
    function claim(
        Channel calldata ch,
        uint128 cumulativeAmount,
        bytes calldata signature
    ) external nonReentrant returns (uint128 paid) {
        paid = _claim(ch, cumulativeAmount, signature);
        if (paid != 0) _pay(ch.token, ch.provider, paid);
    }

    /// Claim several channels in one transaction. Consecutive channels with the same provider and token
    /// are paid out with a single transfer. Returns the total amount paid.
    function claimBatch(
        Channel[] calldata chs,
        uint128[] calldata cumulativeAmounts,
        bytes[] calldata signatures
    ) external nonReentrant returns (uint256 total) {
        uint256 n = chs.length;
        if (cumulativeAmounts.length != n || signatures.length != n) revert LengthMismatch();
        address runToken;
        address runProvider;
        uint256 runAmount;
        for (uint256 i; i < n; ) {
            Channel calldata ch = chs[i];
            uint128 paid = _claim(ch, cumulativeAmounts[i], signatures[i]);
            if (paid != 0) {
                address token = ch.token;
                address provider = ch.provider;
                if (runAmount != 0 && (token != runToken || provider != runProvider)) {
                    _pay(runToken, runProvider, runAmount);
                    runAmount = 0;
                }
                runToken = token;
                runProvider = provider;
                unchecked {
                    runAmount += paid;
                    total += paid;
                }
            }
            unchecked {
                ++i;
            }
        }
        if (runAmount != 0) _pay(runToken, runProvider, runAmount);
    }

    function _claim(Channel calldata ch, uint128 cumulativeAmount, bytes calldata signature)
        private
        returns (uint128 paid)
    {
        bytes32 id = _channelId(ch);
        ChannelState storage s = _channels[id];
        uint128 claimed = s.claimed;
        uint128 balance = s.balance;
        uint128 target = cumulativeAmount < balance ? cumulativeAmount : balance;
        if (target <= claimed) return 0; // stale voucher or nothing escrowed: no-op
        address payer = ch.payer;
        address signer = ch.signer;
        if (signer == address(0)) signer = payer;
        if (!_isValidSignature(signer, _voucherHash(id, cumulativeAmount), signature)) revert InvalidSignature();
        unchecked {
            paid = target - claimed;
        }
        s.claimed = target;
        emit Claimed(id, payer, ch.provider, paid, target);
    }

    // ------------------------------------------------------------------ withdrawals

    /// Payer announces a withdrawal of `amount`; it can be finalized after withdrawDelay seconds.
    /// A new request replaces the pending one; amount 0 cancels. Not on a closed channel (it holds nothing).
    function requestWithdraw(Channel calldata ch, uint128 amount) external nonReentrant {
        if (msg.sender != ch.payer) revert NotPayer();
        bytes32 id = _channelId(ch);
        ChannelState storage s = _channels[id];
        if (s.closed) revert ChannelClosed();
        uint64 readyAt = amount == 0 ? 0 : uint64(block.timestamp) + ch.withdrawDelay;
        s.pendingWithdraw = amount;
        s.withdrawReadyAt = readyAt;
        emit WithdrawRequested(id, ch.payer, ch.provider, amount, readyAt);
    }

    /// After the delay, pays the payer min(pending, balance - claimed). Anyone may call (funds go to payer).
    function finalizeWithdraw(Channel calldata ch) external nonReentrant returns (uint128 amount) {
        bytes32 id = _channelId(ch);
        ChannelState storage s = _channels[id];
        uint128 pending = s.pendingWithdraw;
        if (pending == 0) revert NoPendingWithdraw();
        uint64 readyAt = s.withdrawReadyAt;
        if (block.timestamp < readyAt) revert WithdrawNotReady(readyAt);
        uint128 free = s.balance - s.claimed;
        amount = pending < free ? pending : free;
        s.pendingWithdraw = 0;
        s.withdrawReadyAt = 0;
        s.balance -= amount;
        emit Withdrawn(id, ch.payer, ch.provider, amount);
        if (amount != 0) _pay(ch.token, ch.payer, amount);
    }

    // ------------------------------------------------------------------ cooperative close

    /// Settle and close the channel with both parties' consent: the provider's Close(channelId,
    /// finalAmount, deadline) and the channel signer's Voucher(channelId, finalAmount). The provider gets
    /// min(finalAmount, balance) - claimed (if positive), the payer everything else at once, and the
    /// channel is closed for good. Anyone may submit, until `deadline` (inclusive).
    function closeCooperative(
        Channel calldata ch,
        uint128 finalAmount,
        uint64 deadline,
        bytes calldata signerSignature,
        bytes calldata providerSignature
    ) external nonReentrant {
        if (block.timestamp > deadline) revert CloseExpired(deadline);
        bytes32 id = _channelId(ch);
        ChannelState storage s = _channels[id];
        if (s.closed) revert ChannelClosed();
        _checkClose(ch, id, finalAmount, deadline, signerSignature, providerSignature);
        (uint128 toProvider, uint128 refund) = _settleClose(s, finalAmount);
        emit Closed(id, ch.payer, ch.provider, toProvider, refund);
        if (toProvider != 0) _pay(ch.token, ch.provider, toProvider);
        if (refund != 0) _pay(ch.token, ch.payer, refund);
    }

    function _checkClose(
        Channel calldata ch,
        bytes32 id,
        uint128 finalAmount,
        uint64 deadline,
        bytes calldata signerSignature,
        bytes calldata providerSignature
    ) private view {
        if (!_isValidSignature(ch.provider, _closeHash(id, finalAmount, deadline), providerSignature)) {
            revert InvalidSignature();
        }
        address signer = ch.signer;
        if (signer == address(0)) signer = ch.payer;
        if (!_isValidSignature(signer, _voucherHash(id, finalAmount), signerSignature)) revert InvalidSignature();
    }

    function _settleClose(ChannelState storage s, uint128 finalAmount)
        private
        returns (uint128 toProvider, uint128 refund)
    {
        uint128 balance = s.balance;
        uint128 claimed = s.claimed;
        uint128 target = finalAmount < balance ? finalAmount : balance;
        if (target > claimed) {
            toProvider = target - claimed;
            claimed = target;
        }
        refund = balance - claimed;
        s.balance = claimed; // withdrawn (deposited - balance) grows by the refund
        s.claimed = claimed;
        s.closed = true;
        if (s.withdrawReadyAt != 0) {
            s.pendingWithdraw = 0;
            s.withdrawReadyAt = 0;
        }
    }

    // ------------------------------------------------------------------ views

    function channelState(bytes32 id)
        external
        view
        returns (
            uint128 deposited,
            uint128 claimed,
            uint128 withdrawn,
            uint128 pendingWithdraw,
            uint64 withdrawReadyAt,
            bool closed
        )
    {
        ChannelState storage s = _channels[id];
        deposited = s.deposited;
        return (deposited, s.claimed, deposited - s.balance, s.pendingWithdraw, s.withdrawReadyAt, s.closed);
    }

    /// Funds still held for the channel and not yet claimed (deposited - withdrawn - claimed).
    function available(bytes32 id) external view returns (uint128) {
        ChannelState storage s = _channels[id];
        return s.balance - s.claimed;
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function channelId(Channel calldata ch) external pure returns (bytes32) {
        return _channelId(ch);
    }

    function voucherDigest(bytes32 id, uint128 cumulativeAmount) external view returns (bytes32) {
        return _voucherHash(id, cumulativeAmount);
    }

    function closeDigest(bytes32 id, uint128 finalAmount, uint64 deadline) external view returns (bytes32) {
        return _closeHash(id, finalAmount, deadline);
    }

    // ------------------------------------------------------------------ internals

    /// hashStruct(Channel) hashed straight from calldata (no memory allocation). Reverts on
    /// non-canonical (dirty) address / uint64 words so one channel has exactly one id.
    function _channelId(Channel calldata ch) private pure returns (bytes32 id) {
        bytes32 typehash = CHANNEL_TYPEHASH;
        assembly ("memory-safe") {
            let dirty := or(
                or(shr(160, calldataload(ch)), shr(160, calldataload(add(ch, 0x20)))),
                or(
                    or(shr(160, calldataload(add(ch, 0x40))), shr(160, calldataload(add(ch, 0x60)))),
                    shr(64, calldataload(add(ch, 0x80)))
                )
            )
            if dirty {
                revert(0, 0)
            }
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            calldatacopy(add(ptr, 0x20), ch, 0xc0)
            id := keccak256(ptr, 0xe0)
        }
    }

    function _voucherHash(bytes32 id, uint128 cumulativeAmount) private view returns (bytes32 digest) {
        bytes32 typehash = VOUCHER_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), id)
            mstore(add(ptr, 0x40), cumulativeAmount)
            structHash := keccak256(ptr, 0x60)
        }
        digest = _hashTypedDataV4(structHash);
    }

    function _closeHash(bytes32 id, uint128 finalAmount, uint64 deadline) private view returns (bytes32 digest) {
        bytes32 typehash = CLOSE_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), id)
            mstore(add(ptr, 0x40), finalAmount)
            mstore(add(ptr, 0x60), deadline)
            structHash := keccak256(ptr, 0x80)
        }
        digest = _hashTypedDataV4(structHash);
    }

    /// ECDSA first (cheap for EOAs, no EXTCODESIZE), then ERC-1271 for contracts.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool)
    {
        if (signature.length == 65) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                r := calldataload(signature.offset)
                s := calldataload(add(signature.offset, 0x20))
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, v, r, s);
            if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        return SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool ok, ) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed();
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
