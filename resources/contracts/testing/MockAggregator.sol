// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MockAggregator - a price feed with Chainlink's AggregatorV3Interface. LOCAL / TEST CHAINS ONLY.
/// The sandbox deploys one per pair and moves it; tests move it and let it go stale. Round ids are
/// Chainlink's proxy ids: the phase (1) in the top bits, the aggregator's round (1, 2, ...) in the low 64.
contract MockAggregator {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    uint8 public immutable decimals;
    address public immutable owner;
    string public description;
    uint256 public constant version = 4;
    uint80 private constant PHASE = uint80(1) << 64;

    mapping(uint80 => Round) private rounds;
    uint64 public roundCount;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(uint8 decimals_, string memory description_, int256 answer) {
        decimals = decimals_;
        description = description_;
        owner = msg.sender;
        _push(answer, block.timestamp);
    }

    /// A new round at the current block's time.
    function setAnswer(int256 answer) external {
        require(msg.sender == owner, "only the owner moves this feed");
        _push(answer, block.timestamp);
    }

    /// A new round stamped at `updatedAt` (a round from the past: how a feed that stopped looks).
    function setRound(int256 answer, uint256 updatedAt) external {
        require(msg.sender == owner, "only the owner moves this feed");
        _push(answer, updatedAt);
    }

    function _push(int256 answer, uint256 updatedAt) private {
        roundCount += 1;
        uint80 id = PHASE | roundCount;
        rounds[id] = Round(answer, uint64(updatedAt), uint64(updatedAt));
        emit AnswerUpdated(answer, id, updatedAt);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(PHASE | roundCount);
    }

    function getRoundData(uint80 roundId) public view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = rounds[roundId];
        require(r.updatedAt != 0, "No data present");
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }
}
