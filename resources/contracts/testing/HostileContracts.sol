// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// TEST-ONLY contracts used by tests/chain to attack PayGoVault. Never deploy outside local chains.

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// Burns 1% of every transfer (delivers less than requested).
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee Token", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            super._update(from, to, value - fee);
        } else {
            super._update(from, to, value);
        }
    }
}

/// Calls an arbitrary target (normally the vault) from inside every transfer / transferFrom,
/// records whether the re-entrant call succeeded, and never bubbles its failure.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public attempted;
    bool public reentrySucceeded;

    constructor() ERC20("Reentrant Token", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        attempted = false;
        reentrySucceeded = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && from != address(0) && to != address(0) && !attempted) {
            attempted = true;
            (bool ok, ) = target.call(payload);
            reentrySucceeded = ok;
        }
    }
}

/// Provider contract that tries to re-enter the vault when it receives ETH.
contract ReentrantProvider {
    address public target;
    bytes public payload;
    bool public attempted;
    bool public reentrySucceeded;
    uint256 public received;

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        attempted = false;
        reentrySucceeded = false;
    }

    receive() external payable {
        received += msg.value;
        if (target != address(0) && !attempted) {
            attempted = true;
            (bool ok, ) = target.call(payload);
            reentrySucceeded = ok;
        }
    }
}

/// Minimal ERC-1271 smart wallet: a signature is valid iff it is an ECDSA signature by `owner`.
contract ERC1271Wallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }

    receive() external payable {}
}

/// ERC-1271 wallet whose answer depends on who asks, as a hostile payer's wallet may be written.
/// `mode` 0: honest (like ERC1271Wallet). 1: approves its owner's signatures for every caller but the
/// vault, so a check that does not ask as the vault passes and every claim reverts. 2: approves them only
/// when called directly (tx.origin == msg.sender, as in an eth_call from the vault itself), so even a check
/// made as the vault passes while the claim transaction, sent by someone else, reverts. 3: burns all the
/// gas it is given (an eth_call of it fails with an error, not a revert).
contract FickleWallet is IERC1271 {
    address public immutable owner;
    address public immutable vault;
    uint8 public mode;

    constructor(address owner_, address vault_, uint8 mode_) {
        owner = owner_;
        vault = vault_;
        mode = mode_;
    }

    function setMode(uint8 mode_) external {
        require(msg.sender == owner, "owner only");
        mode = mode_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (mode == 3) {
            uint256 spin;
            while (gasleft() > 0) spin++;
        }
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != owner) return 0xffffffff;
        if (mode == 1 && msg.sender == vault) return 0xffffffff;
        if (mode == 2 && tx.origin != msg.sender) return 0xffffffff;
        return IERC1271.isValidSignature.selector;
    }
}
