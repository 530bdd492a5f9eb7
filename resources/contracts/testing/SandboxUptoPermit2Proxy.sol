// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SandboxPermit2} from "./SandboxPermit2.sol";

/// @title SandboxUptoPermit2Proxy - SANDBOX / TEST STAND-IN for x402's x402UptoPermit2Proxy. LOCAL CHAINS ONLY.
/// Written here from the ABI and EIP-712 types in the x402 SDK (x402.mechanisms.evm.constants), not from
/// Coinbase's source. The payer signs a Permit2 `PermitWitnessTransferFrom` with this proxy as spender, a
/// maximum (`permit.permitted.amount`) and a witness {to, facilitator, validAfter}; the facilitator named in
/// the witness settles any `amount` up to that maximum, paid to `witness.to` through Permit2.
/// The sandbox copies its runtime code to the SDK's canonical address
/// (0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002) with `anvil_setCode`: Permit2's address is an immutable
/// baked into the runtime code by the constructor; nothing depends on the address it was deployed at.
contract SandboxUptoPermit2Proxy {
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    /// Completes Permit2's PermitWitnessTransferFrom type (referenced types in alphabetical order).
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";
    bytes32 public constant WITNESS_TYPEHASH =
        keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    SandboxPermit2 public immutable PERMIT2;

    error AmountExceedsPermitted();
    error UnauthorizedFacilitator();
    error InvalidDestination();
    error InvalidOwner();
    error PaymentTooEarly();
    error Permit2612AmountMismatch();

    event Settled();

    constructor(address permit2) {
        PERMIT2 = SandboxPermit2(permit2);
    }

    /// Pays `amount` (at most the signed maximum) from `owner` to `witness.to`; only `witness.facilitator` may.
    function settle(
        SandboxPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external {
        _settle(permit, amount, owner, witness, signature);
    }

    /// `settle`, after an EIP-2612 permit giving Permit2 an allowance of at least the signed maximum (one
    /// transaction: the payer needs no approval of their own). A permit already used (front-run) is skipped.
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        SandboxPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external {
        if (permit2612.value < permit.permitted.amount) revert Permit2612AmountMismatch();
        try IERC20Permit(permit.permitted.token).permit(
            owner, address(PERMIT2), permit2612.value, permit2612.deadline, permit2612.v, permit2612.r, permit2612.s
        ) {} catch {}
        _settle(permit, amount, owner, witness, signature);
    }

    function _settle(
        SandboxPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
        if (witness.to == address(0)) revert InvalidDestination();
        if (owner == address(0)) revert InvalidOwner();
        if (block.timestamp < witness.validAfter) revert PaymentTooEarly();
        bytes32 witnessHash = keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter));
        PERMIT2.permitWitnessTransferFrom(
            permit,
            SandboxPermit2.SignatureTransferDetails({to: witness.to, requestedAmount: amount}),
            owner,
            witnessHash,
            WITNESS_TYPE_STRING,
            signature
        );
        emit Settled();
    }
}
