// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ScriptedContract - answers each function selector with bytes it was told to, or reverts.
/// TESTS ONLY: a hostile token or price feed whose answers are anything at all (non-UTF-8 or huge
/// strings, a bytes32 where a string belongs, decimals above 36, short or garbled return data).
contract ScriptedContract {
    mapping(bytes4 => bytes) private answers;
    mapping(bytes4 => bool) private reverts;

    function script(bytes4 selector, bytes calldata answer, bool shouldRevert) external {
        answers[selector] = answer;
        reverts[selector] = shouldRevert;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        if (input.length < 4) return "";
        bytes4 selector = bytes4(input[:4]);
        require(!reverts[selector], "scripted revert");
        return answers[selector];
    }
}
