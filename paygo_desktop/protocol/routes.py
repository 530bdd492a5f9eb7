"""Route paths of the provider API (version 1). Shared by the reference provider and the app's client."""

from __future__ import annotations

PREFIX = "/api/v1"

HEALTH = f"{PREFIX}/health"
PROVIDER = f"{PREFIX}/provider"

SERVICES = f"{PREFIX}/service"
SERVICE = f"{PREFIX}/service/{{service_id}}"
SERVICE_TOGGLE = f"{PREFIX}/service/{{service_id}}/toggle-status"
VENDOR_SERVICES = f"{PREFIX}/service/vendor/my-services"

STREAM_START = f"{PREFIX}/streams/start"
STREAM = f"{PREFIX}/streams/{{session_id}}"
STREAM_VOUCHERS = f"{PREFIX}/streams/{{session_id}}/vouchers"
STREAM_STOP = f"{PREFIX}/streams/{{session_id}}/stop"
STREAM_CONTENT = f"{PREFIX}/streams/{{session_id}}/content"
# the gateway: the session's service, proxied (any method, or a WebSocket) below this path
STREAM_ACCESS = f"{PREFIX}/streams/{{session_id}}/access"
MY_SESSIONS = f"{PREFIX}/streams/my-sessions"
# a per-request service (rate unit ``per_request``), paid with x402 per request, proxied below this path
X402_ACCESS = f"{PREFIX}/x402/{{service_id}}"

CHANNEL = f"{PREFIX}/channels/{{channel_id}}"
CHANNEL_CLOSE = f"{PREFIX}/channels/{{channel_id}}/close"  # the payer asks for the provider's signed Close

VENDOR_EARNINGS = f"{PREFIX}/vendor/earnings"
VENDOR_SESSIONS = f"{PREFIX}/vendor/sessions"
VENDOR_CLAIM = f"{PREFIX}/vendor/claim"  # the provider sends the claim itself (headless vendors)
VENDOR_VOUCHERS = f"{PREFIX}/vendor/vouchers"  # the claimable vouchers, for a claim the vendor sends

# Zcash spending permissions (later task): routes will live under this prefix, e.g.
# POST {ZCASH}/permissions, POST {ZCASH}/permissions/{id}/verify, GET {ZCASH}/permissions/{id}.
ZCASH = f"{PREFIX}/zcash"

# Wallet / provider-key authentication headers (EIP-4361 style message, see protocol.auth).
AUTH_MESSAGE_HEADER = "X-PayGo-Auth-Message"  # base64 (standard) of the UTF-8 message
AUTH_SIGNATURE_HEADER = "X-PayGo-Auth-Signature"  # 0x-hex 65-byte EIP-191 signature of the message
ACCESS_TOKEN_HEADER = "Authorization"  # "Bearer <access token>" for the content route

MAX_BODY_BYTES = 64 * 1024

ZCASH_PERMISSIONS = f"{ZCASH}/permissions"
ZCASH_PERMISSION = f"{ZCASH}/permissions/{{permission_id}}"
ZCASH_PERMISSION_VERIFY = f"{ZCASH}/permissions/{{permission_id}}/verify"
ZCASH_PERMISSION_REVOKE = f"{ZCASH}/permissions/{{permission_id}}/revoke"
ZCASH_WALLET_PERMISSION = f"{ZCASH}/permissions/wallet/{{address}}"
ZCASH_BALANCE = f"{ZCASH}/balance/{{address}}"
ZCASH_LEDGER_PAY = f"{ZCASH}/ledger/pay"
ZCASH_LEDGER_MINE = f"{ZCASH}/ledger/mine"
SESSIONS = f"{PREFIX}/sessions"
SESSIONS_END = f"{PREFIX}/sessions/end"
SESSION = f"{PREFIX}/sessions/{{session_id}}"
