// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title SandboxPermit2 - SANDBOX / TEST STAND-IN for Uniswap's Permit2. LOCAL CHAINS ONLY.
/// Written here from Permit2's public interface, not from its source: only what x402's `upto` scheme uses of
/// SignatureTransfer, i.e. `permitWitnessTransferFrom` (one token, a witness), the unordered nonce bitmap
/// (`nonceBitmap`) and `DOMAIN_SEPARATOR()`. No AllowanceTransfer, no batches, no `invalidateUnorderedNonces`.
/// The sandbox deploys it and copies its runtime code to Permit2's canonical address
/// (0x000000000022D473030F116dDEE9F6B43aC78BA3) with `anvil_setCode`: nothing depends on the address it was
/// deployed at, and the EIP-712 domain (name "Permit2", chainId, verifyingContract, no version) is computed
/// from `address(this)` and `block.chainid` at each call.
contract SandboxPermit2 {
    using SafeERC20 for IERC20;

    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    bytes32 public constant TOKEN_PERMISSIONS_TYPEHASH = keccak256("TokenPermissions(address token,uint256 amount)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("Permit2");
    /// The primary type's fields before the witness; the caller's `witnessTypeString` completes it, e.g.
    /// "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,...)".
    string public constant PERMIT_WITNESS_TRANSFER_FROM_TYPE_STUB =
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";

    /// owner => word position => bitmap of used nonces (nonce = wordPos << 8 | bitPos)
    mapping(address => mapping(uint256 => uint256)) public nonceBitmap;

    error SignatureExpired(uint256 signatureDeadline);
    error InvalidAmount(uint256 maxAmount);
    error InvalidNonce();
    error InvalidSignature();

    event UnorderedNonceInvalidation(address indexed owner, uint256 word, uint256 mask);

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, block.chainid, address(this)));
    }

    /// Moves `transferDetails.requestedAmount` (at most `permit.permitted.amount`) of `permit.permitted.token`
    /// from `owner` to `transferDetails.to`, if `owner` signed the permit for `msg.sender` with `witness`
    /// (the hash of the caller's witness struct, typed by `witnessTypeString`). Each nonce works once.
    function permitWitnessTransferFrom(
        PermitTransferFrom calldata permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external {
        if (block.timestamp > permit.deadline) revert SignatureExpired(permit.deadline);
        if (transferDetails.requestedAmount > permit.permitted.amount) revert InvalidAmount(permit.permitted.amount);
        bytes32 typeHash = keccak256(abi.encodePacked(PERMIT_WITNESS_TRANSFER_FROM_TYPE_STUB, witnessTypeString));
        bytes32 structHash = keccak256(
            abi.encode(
                typeHash,
                keccak256(abi.encode(TOKEN_PERMISSIONS_TYPEHASH, permit.permitted.token, permit.permitted.amount)),
                msg.sender,
                permit.nonce,
                permit.deadline,
                witness
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
        _useNonce(owner, permit.nonce);
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) revert InvalidSignature();
        IERC20(permit.permitted.token).safeTransferFrom(owner, transferDetails.to, transferDetails.requestedAmount);
    }

    function _useNonce(address owner, uint256 nonce) private {
        uint256 wordPos = nonce >> 8;
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = nonceBitmap[owner][wordPos];
        if (word & bit != 0) revert InvalidNonce();
        nonceBitmap[owner][wordPos] = word | bit;
    }
}
