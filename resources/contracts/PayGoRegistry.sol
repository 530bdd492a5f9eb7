// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title PayGoRegistry - where PayGo providers say where their catalog is, so payers find them without a
///        backend.
/// @notice A provider registers from its payTo account (the account its channels pay): the address of its
///         catalog (the provider API's base URL), a display name and the key that signs its quotes and
///         receipts. It can update or remove its entry; every change is an event, and the app rebuilds the
///         list from the events. The registry vouches for nothing: the app checks each catalog's
///         `GET /provider` answer against what its payTo account registered, and treats the text as
///         untrusted (bounded here, checked again there).
///
/// No owner, no fee, no upgrade: anyone may register, and only the registrant can change its own entry.
/// Deployed at one address on every chain (CREATE2 through the deterministic-deployment proxy; see
/// docs/contract.md).
contract PayGoRegistry {
    /// Longest catalog URL, in bytes.
    uint256 public constant MAX_CATALOG_URL_LENGTH = 256;
    /// Longest name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;

    struct Registration {
        string catalogUrl;
        string name;
        address signingKey;
    }

    mapping(address provider => Registration) private _registrations;

    event ProviderRegistered(address indexed provider, address indexed signingKey, string catalogUrl, string name);
    event ProviderUpdated(address indexed provider, address indexed signingKey, string catalogUrl, string name);
    event ProviderRemoved(address indexed provider);

    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error InvalidCatalogUrl(uint256 length, uint256 maximum);
    error InvalidName(uint256 length, uint256 maximum);
    error ZeroSigningKey();

    /// Register the caller (the provider's payTo account). Reverts if it is registered already.
    function register(string calldata catalogUrl, string calldata name, address signingKey) external {
        if (_registrations[msg.sender].signingKey != address(0)) revert AlreadyRegistered(msg.sender);
        _store(catalogUrl, name, signingKey);
        emit ProviderRegistered(msg.sender, signingKey, catalogUrl, name);
    }

    /// Replace the caller's entry. Reverts if it is not registered.
    function update(string calldata catalogUrl, string calldata name, address signingKey) external {
        if (_registrations[msg.sender].signingKey == address(0)) revert NotRegistered(msg.sender);
        _store(catalogUrl, name, signingKey);
        emit ProviderUpdated(msg.sender, signingKey, catalogUrl, name);
    }

    /// Remove the caller's entry. Reverts if it is not registered.
    function remove() external {
        if (_registrations[msg.sender].signingKey == address(0)) revert NotRegistered(msg.sender);
        delete _registrations[msg.sender];
        emit ProviderRemoved(msg.sender);
    }

    /// The entry of `provider`; an unregistered provider has a zero signing key and empty strings.
    function registration(address provider)
        external
        view
        returns (string memory catalogUrl, string memory name, address signingKey)
    {
        Registration storage r = _registrations[provider];
        return (r.catalogUrl, r.name, r.signingKey);
    }

    function isRegistered(address provider) external view returns (bool) {
        return _registrations[provider].signingKey != address(0);
    }

    function _store(string calldata catalogUrl, string calldata name, address signingKey) private {
        uint256 urlLength = bytes(catalogUrl).length;
        if (urlLength == 0 || urlLength > MAX_CATALOG_URL_LENGTH) {
            revert InvalidCatalogUrl(urlLength, MAX_CATALOG_URL_LENGTH);
        }
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert InvalidName(nameLength, MAX_NAME_LENGTH);
        if (signingKey == address(0)) revert ZeroSigningKey();
        _registrations[msg.sender] = Registration(catalogUrl, name, signingKey);
    }
}
