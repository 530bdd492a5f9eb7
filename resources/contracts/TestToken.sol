// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken - a freely mintable token with any name, symbol and decimals. LOCAL / TEST CHAINS ONLY.
/// The sandbox deploys one for each token the app knows on Base (USDT, DAI, EURC) and a 2-decimal one.
contract TestToken is ERC20 {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// Anyone can mint: this token has no value and must never be deployed on a real network.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
