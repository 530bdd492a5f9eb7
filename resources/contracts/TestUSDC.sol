// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestUSDC - freely mintable 6-decimal token. LOCAL / TEST CHAINS ONLY.
contract TestUSDC is ERC20 {
    constructor() ERC20("Test USD Coin", "USDC") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// Anyone can mint: this token has no value and must never be deployed on a real network.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
