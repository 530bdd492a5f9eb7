// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title PayGoJobs - fixed-price jobs: the price locked for one worker, paid on the client's approval,
///        refunded to the client after the deadline if nothing was delivered.
/// @notice A job is identified by the EIP-712 struct hash of its terms (client, worker, token, price,
///         deadline, reviewWindow, terms, salt); token == 0 means native ETH. The client funds it once with
///         exactly `price`; from then on the money can leave the contract exactly once, by one of four paths:
///
///   approve(job, delivery)  the client pays the worker (before or after a delivery; it names the delivery
///                           it approves, so a delivery it has not seen can never be approved for it);
///   release(job)            anyone, once a delivery's review window has passed without an approval: the
///                           worker is paid (the answer to a client who never approves);
///   refund(job)             anyone, once the deadline has passed with nothing delivered: the client is paid;
///   cancel(job, signature)  anyone, with the worker's EIP-712 Cancel(jobId, delivery): the client is paid.
///                           A Cancel names the job's delivery as the worker saw it (zero before one), so a
///                           cancellation offered before a delivery is void once the worker has delivered.
///
/// The worker delivers once, by the deadline (inclusive), by posting the delivery's hash (SHA-256 of the
/// file, or of the text a link serves). There is no arbiter and no owner: a client who disputes a delivery
/// asks the worker for a Cancel; without one, the worker is paid when the review window ends
/// (docs/contract.md, Fixed-price jobs, explains the choice).
///
/// The contract holds, per token, exactly the sum of the prices of the jobs that are Funded or Delivered.
contract PayGoJobs is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    struct Job {
        address client;
        address worker;
        address token;
        uint128 price;
        uint64 deadline;
        uint64 reviewWindow;
        bytes32 terms;
        bytes32 salt;
    }

    enum Status {
        None,
        Funded,
        Delivered,
        Approved,
        Released,
        Refunded,
        Cancelled
    }

    /// Two storage slots per job; the terms (and the price) come in every call and hash to the job's id.
    struct JobState {
        Status status;
        uint64 deliveredAt;
        bytes32 delivery;
    }

    bytes32 public constant JOB_TYPEHASH = keccak256(
        "Job(address client,address worker,address token,uint128 price,uint64 deadline,uint64 reviewWindow,"
        "bytes32 terms,bytes32 salt)"
    );
    bytes32 public constant CANCEL_TYPEHASH = keccak256("Cancel(bytes32 jobId,bytes32 delivery)");

    /// The latest deadline a job may have, counted from its funding.
    uint64 public constant MAX_DURATION = 365 days;
    /// The longest review window a job may have.
    uint64 public constant MAX_REVIEW_WINDOW = 30 days;

    mapping(bytes32 jobId => JobState) private _jobs;

    event JobFunded(
        bytes32 indexed jobId,
        address indexed client,
        address indexed worker,
        address token,
        uint128 price,
        uint64 deadline,
        uint64 reviewWindow,
        bytes32 terms,
        bytes32 salt
    );
    event JobDelivered(bytes32 indexed jobId, address indexed client, address indexed worker, bytes32 delivery);
    event JobApproved(bytes32 indexed jobId, address indexed client, address indexed worker, uint128 price);
    event JobReleased(bytes32 indexed jobId, address indexed client, address indexed worker, uint128 price);
    event JobRefunded(bytes32 indexed jobId, address indexed client, address indexed worker, uint128 price);
    event JobCancelled(bytes32 indexed jobId, address indexed client, address indexed worker, uint128 price);

    error InvalidJob();
    error ZeroPrice();
    error DeadlinePassed(uint64 deadline);
    error DeadlineTooFar(uint64 deadline, uint64 latest);
    error ReviewWindowTooLong(uint64 reviewWindow, uint64 maximum);
    error JobExists();
    error WrongValue();
    error FeeOnTransferNotSupported();
    error NotClient();
    error NotWorker();
    error WrongStatus(Status status);
    error ZeroDelivery();
    error DeliveryMismatch(bytes32 delivered);
    error ReviewNotOver(uint64 endsAt);
    error DeadlineNotPassed(uint64 deadline);
    error InvalidSignature();
    error EthTransferFailed();

    constructor() EIP712("PayGo Jobs", "1") {}

    // ------------------------------------------------------------------ funding

    /// Lock the price of a new job. Only its client funds it, once: ETH by value, an ERC-20 by
    /// `transferFrom` of exactly `price` (fee-on-transfer tokens are refused).
    function fund(Job calldata job) external payable nonReentrant {
        if (msg.sender != job.client) revert NotClient();
        if (job.client == address(0) || job.worker == address(0) || job.worker == job.client) revert InvalidJob();
        if (job.price == 0) revert ZeroPrice();
        if (job.deadline <= block.timestamp) revert DeadlinePassed(job.deadline);
        uint64 latest = uint64(block.timestamp) + MAX_DURATION;
        if (job.deadline > latest) revert DeadlineTooFar(job.deadline, latest);
        if (job.reviewWindow > MAX_REVIEW_WINDOW) revert ReviewWindowTooLong(job.reviewWindow, MAX_REVIEW_WINDOW);
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        if (s.status != Status.None) revert JobExists();
        s.status = Status.Funded;

        if (job.token == address(0)) {
            if (msg.value != job.price) revert WrongValue();
        } else {
            if (msg.value != 0) revert WrongValue();
            IERC20 token = IERC20(job.token);
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), job.price);
            if (token.balanceOf(address(this)) - before != job.price) revert FeeOnTransferNotSupported();
        }
        emit JobFunded(
            id, job.client, job.worker, job.token, job.price, job.deadline, job.reviewWindow, job.terms, job.salt
        );
    }

    // ------------------------------------------------------------------ the worker

    /// The worker posts its delivery's hash, once, by the deadline (inclusive). The review window starts.
    function deliver(Job calldata job, bytes32 delivery) external nonReentrant {
        if (msg.sender != job.worker) revert NotWorker();
        if (delivery == bytes32(0)) revert ZeroDelivery();
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        if (s.status != Status.Funded) revert WrongStatus(s.status);
        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);
        s.status = Status.Delivered;
        s.deliveredAt = uint64(block.timestamp);
        s.delivery = delivery;
        emit JobDelivered(id, job.client, job.worker, delivery);
    }

    // ------------------------------------------------------------------ payouts

    /// The client pays the worker. `delivery` must be the job's delivery hash (zero before a delivery).
    function approve(Job calldata job, bytes32 delivery) external nonReentrant {
        if (msg.sender != job.client) revert NotClient();
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        Status status = s.status;
        if (status != Status.Funded && status != Status.Delivered) revert WrongStatus(status);
        if (s.delivery != delivery) revert DeliveryMismatch(s.delivery);
        s.status = Status.Approved;
        emit JobApproved(id, job.client, job.worker, job.price);
        _pay(job.token, job.worker, job.price);
    }

    /// Anyone, after a delivery's review window has passed without an approval: the worker is paid.
    function release(Job calldata job) external nonReentrant {
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        if (s.status != Status.Delivered) revert WrongStatus(s.status);
        uint64 endsAt = s.deliveredAt + job.reviewWindow;
        if (block.timestamp <= endsAt) revert ReviewNotOver(endsAt);
        s.status = Status.Released;
        emit JobReleased(id, job.client, job.worker, job.price);
        _pay(job.token, job.worker, job.price);
    }

    /// Anyone, after the deadline, when nothing was delivered: the client gets the price back.
    function refund(Job calldata job) external nonReentrant {
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        if (s.status != Status.Funded) revert WrongStatus(s.status);
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(job.deadline);
        s.status = Status.Refunded;
        emit JobRefunded(id, job.client, job.worker, job.price);
        _pay(job.token, job.client, job.price);
    }

    /// Anyone, with the worker's Cancel(jobId, delivery) for the job as it stands: the client is paid.
    function cancel(Job calldata job, bytes calldata workerSignature) external nonReentrant {
        bytes32 id = _jobId(job);
        JobState storage s = _jobs[id];
        Status status = s.status;
        if (status != Status.Funded && status != Status.Delivered) revert WrongStatus(status);
        if (!SignatureChecker.isValidSignatureNow(job.worker, _cancelHash(id, s.delivery), workerSignature)) {
            revert InvalidSignature();
        }
        s.status = Status.Cancelled;
        emit JobCancelled(id, job.client, job.worker, job.price);
        _pay(job.token, job.client, job.price);
    }

    // ------------------------------------------------------------------ views

    function jobState(bytes32 id) external view returns (Status status, uint64 deliveredAt, bytes32 delivery) {
        JobState storage s = _jobs[id];
        return (s.status, s.deliveredAt, s.delivery);
    }

    function jobId(Job calldata job) external pure returns (bytes32) {
        return _jobId(job);
    }

    function cancelDigest(bytes32 id, bytes32 delivery) external view returns (bytes32) {
        return _cancelHash(id, delivery);
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    /// hashStruct(Job). Each field is read (and so validated: a dirty address or integer word reverts)
    /// from calldata, so one job has exactly one id.
    function _jobId(Job calldata job) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                JOB_TYPEHASH,
                job.client,
                job.worker,
                job.token,
                job.price,
                job.deadline,
                job.reviewWindow,
                job.terms,
                job.salt
            )
        );
    }

    function _cancelHash(bytes32 id, bytes32 delivery) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CANCEL_TYPEHASH, id, delivery)));
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
